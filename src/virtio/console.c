// SPDX-License-Identifier: MIT
/*
 * virtio-console (console.h; VIRTIO 1.2 section 5.3: device ID 3). Queues (5.3.2): port 0's
 * receiveq 0 and transmitq 1, the control receiveq 2 and transmitq 3, then port N's pair at
 * 2N+2 and 2N+3. Control messages (5.3.6.2) are struct {le32 id; le16 event; le16 value;}
 * followed, for PORT_NAME, by the name and, for RESIZE, by {le16 cols; le16 rows} (the
 * specification's order, which Linux follows since its 2025 fix). The handshake: the driver
 * sends DEVICE_READY; the device answers DEVICE_ADD for every port; the driver sends
 * PORT_READY per port; the device answers CONSOLE_PORT (console ports) or PORT_NAME (named
 * ports), a RESIZE when the size is known, and PORT_OPEN 1 (the host side is always there:
 * the back end buffers what nobody reads). The driver's PORT_OPEN says whether the guest has
 * the port open.
 *
 * Bounded work (the guest is hostile): one round of at most a queue's chains per
 * notification (vq_batch_start, then the main loop through virtio_queue_defer); a transmit
 * chain moves at most VIRTIO_CONSOLE_TX_MAX bytes; at most VIRTIO_CONSOLE_CTRL_MAX control
 * messages wait for receive buffers (more are dropped, counted and logged). Malformed rings
 * set DEVICE_NEEDS_RESET (virtqueue.c).
 * Not implemented: hot-plug of ports (DEVICE_REMOVE), VIRTIO_CONSOLE_F_SIZE (the sizes go by
 * RESIZE messages, the multiport way).
 */
#include "virtio/console.h"

#include "devices/device.h"
#include "virtio/virtio.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VIRTIO_CONSOLE_QUEUE_SIZE 128
#define VIRTIO_CONSOLE_TX_MAX	  65536 /* bytes of one transmit chain passed on */
#define VCON_CTRL_RX		  2
#define VCON_CTRL_TX		  3

struct vcon_ctrl {
	u32 id;
	u16 event;
	u16 value;
};

struct vcon_port {
	bool console; /* config: a console port, else named */
	u8 name_len;
	u8 name[VIRTIO_CONSOLE_NAME_MAX + 1];
	bool guest_ready; /* PORT_READY seen */
	bool guest_open;  /* the guest has the port open (its PORT_OPEN) */
	u16 cols, rows;	  /* 0: no size known */
};

struct virtio_console {
	struct virtio_dev vd; /* first: container_of by cast */
	char name[32];
	struct platform *p;
	struct virtio_pci *vp;
	struct virtio_console_backend be;
	u32 nr_ports;
	struct vcon_port ports[VIRTIO_CONSOLE_MAX_PORTS];
	bool device_ready;
	u32 ctrl_nr; /* control messages waiting for the driver's buffers */
	struct vcon_ctrl ctrl[VIRTIO_CONSOLE_CTRL_MAX];
	u8 buf[4096]; /* scratch */

	struct {
		u64 tx_bytes, rx_bytes, ctrl_in, ctrl_out, ctrl_dropped;
	} stats;
};

static unsigned vcon_rxq(unsigned port)
{
	return port ? 2 + 2 * port : 0;
}

/* The port of a data queue, or -1 for the control queues. */
static int vcon_port_of(unsigned q)
{
	if (q < 2)
		return 0;
	if (q < 4)
		return -1;
	return (int)(q - 2) / 2;
}

static bool vcon_ready(const struct virtio_console *c)
{
	return (c->vd.status & VIRTIO_STATUS_DRIVER_OK) != 0;
}

/* ---- control receiveq: device to driver ---- */

static void vcon_ctrl_deliver(struct virtio_console *c)
{
	struct virtqueue *vq = &c->vd.vqs[VCON_CTRL_RX];
	struct vq_elem *e;
	int ret;

	if (!c->ctrl_nr || !vcon_ready(c) || !vq->ready || vq->broken || !(e = malloc(sizeof(*e))))
		return;
	vq_batch_start(vq);
	while (c->ctrl_nr) {
		const struct vcon_ctrl *m = &c->ctrl[0];
		const struct vcon_port *pt = m->id < c->nr_ports ? &c->ports[m->id] : NULL;
		u8 msg[8 + VIRTIO_CONSOLE_NAME_MAX];
		u32 id = htole32(m->id);
		u16 ev = htole16(m->event), val = htole16(m->value), size[2];
		size_t len = 8;

		ret = vq_pop(vq, e);
		if (ret <= 0) {
			if (ret < 0)
				virtio_set_needs_reset(&c->vd);
			break;
		}
		memcpy(msg, &id, 4);
		memcpy(msg + 4, &ev, 2);
		memcpy(msg + 6, &val, 2);
		if (m->event == VIRTIO_CONSOLE_PORT_NAME && pt) {
			memcpy(msg + 8, pt->name, pt->name_len);
			len += pt->name_len;
		} else if (m->event == VIRTIO_CONSOLE_RESIZE && pt) {
			size[0] = htole16(pt->cols);
			size[1] = htole16(pt->rows);
			memcpy(msg + 8, size, 4);
			len += 4;
		}
		len = vq_iov_from_buf(e->iov + e->out_num, e->in_num, 0, msg, len);
		for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++)
			gmem_written(vq->mem, e->iov[i].iov_base, e->iov[i].iov_len);
		memmove(c->ctrl, c->ctrl + 1, --c->ctrl_nr * sizeof(c->ctrl[0]));
		c->stats.ctrl_out++;
		if (vq_push(vq, e->head, (u32)len)) {
			virtio_set_needs_reset(&c->vd);
			break;
		}
		virtio_queue_done(&c->vd, VCON_CTRL_RX);
	}
	free(e);
}

static void vcon_ctrl_send(struct virtio_console *c, u32 id, u16 event, u16 value)
{
	if (c->ctrl_nr == VIRTIO_CONSOLE_CTRL_MAX) {
		c->stats.ctrl_dropped++;
		log_guest("%s: %u control messages wait for the driver; one dropped", c->name,
			  VIRTIO_CONSOLE_CTRL_MAX);
		return;
	}
	c->ctrl[c->ctrl_nr++] = (struct vcon_ctrl){ .id = id, .event = event, .value = value };
}

/* ---- control transmitq: driver to device ---- */

static void vcon_ctrl_handle(struct virtio_console *c, const struct vcon_ctrl *m)
{
	struct vcon_port *pt = m->id < c->nr_ports ? &c->ports[m->id] : NULL;

	c->stats.ctrl_in++;
	switch (m->event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		c->device_ready = m->value == 1;
		for (u32 i = 0; c->device_ready && i < c->nr_ports; i++)
			vcon_ctrl_send(c, i, VIRTIO_CONSOLE_DEVICE_ADD, 1);
		break;
	case VIRTIO_CONSOLE_PORT_READY:
		if (!pt || m->value != 1)
			break;
		pt->guest_ready = true;
		if (pt->console)
			vcon_ctrl_send(c, m->id, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
		else
			vcon_ctrl_send(c, m->id, VIRTIO_CONSOLE_PORT_NAME, 1);
		if (pt->console && pt->cols && pt->rows)
			vcon_ctrl_send(c, m->id, VIRTIO_CONSOLE_RESIZE, 0);
		vcon_ctrl_send(c, m->id, VIRTIO_CONSOLE_PORT_OPEN, 1);
		break;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (pt)
			pt->guest_open = m->value != 0;
		break;
	default:
		log_guest("%s: control message %u for port %u ignored", c->name, m->event, m->id);
		break;
	}
}

static int vcon_ctrl_tx(struct virtio_console *c, struct vq_elem *e)
{
	u8 raw[8];
	struct vcon_ctrl m;

	if (vq_iov_to_buf(e->iov, e->out_num, 0, raw, sizeof(raw)) == sizeof(raw)) {
		memcpy(&m.id, raw, 4);
		memcpy(&m.event, raw + 4, 2);
		memcpy(&m.value, raw + 6, 2);
		m.id = le32toh(m.id);
		m.event = le16toh(m.event);
		m.value = le16toh(m.value);
		vcon_ctrl_handle(c, &m);
	} else {
		log_guest("%s: a control message shorter than 8 bytes ignored", c->name);
	}
	return 0;
}

/* ---- data ---- */

static int vcon_tx(struct virtio_console *c, unsigned port, struct vq_elem *e)
{
	size_t off = 0, left = MIN(e->out_len, (u64)VIRTIO_CONSOLE_TX_MAX);

	while (left) {
		size_t n =
			vq_iov_to_buf(e->iov, e->out_num, off, c->buf, MIN(left, sizeof(c->buf)));

		if (!n)
			break;
		if (c->be.write)
			c->be.write(c->be.opaque, port, c->buf, n);
		c->stats.tx_bytes += n;
		off += n;
		left -= n;
	}
	return 0;
}

/* Pop and hand every available chain of queue q to fn, within one round. */
static void vcon_drain(struct virtio_console *c, unsigned q,
		       int (*fn)(struct virtio_console *c, unsigned port, struct vq_elem *e))
{
	struct virtqueue *vq = &c->vd.vqs[q];
	struct vq_elem *e = malloc(sizeof(*e));
	int ret = 0, port = vcon_port_of(q);

	if (!e) {
		log_err("%s: out of memory; queue %u waits for the next notification", c->name, q);
		return;
	}
	vq_batch_start(vq);
	do {
		vq_set_notification(vq, false);
		while ((ret = vq_pop(vq, e)) > 0) {
			fn(c, port < 0 ? 0 : (unsigned)port, e);
			if (vq_push(vq, e->head, 0)) {
				ret = -EIO;
				break;
			}
			virtio_queue_done(&c->vd, q);
		}
		if (ret < 0) {
			virtio_set_needs_reset(&c->vd);
			break;
		}
		if (vq_batch_yielded(vq)) {
			virtio_queue_defer(&c->vd, q);
			break;
		}
	} while (vq_set_notification(vq, true));
	free(e);
}

static int vcon_ctrl_tx_fn(struct virtio_console *c, unsigned port, struct vq_elem *e)
{
	(void)port;
	return vcon_ctrl_tx(c, e);
}

static void vcon_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_console *c = (struct virtio_console *)vd;
	int port = vcon_port_of(q);

	if (q == VCON_CTRL_TX) {
		vcon_drain(c, q, vcon_ctrl_tx_fn);
		vcon_ctrl_deliver(c);
	} else if (q == VCON_CTRL_RX) {
		vcon_ctrl_deliver(c);
	} else if (q & 1) {
		vcon_drain(c, q, vcon_tx);
	} else if (port >= 0 && (unsigned)port < c->nr_ports && c->be.rx_ready) {
		c->be.rx_ready(c->be.opaque, (unsigned)port); /* receive buffers posted */
	}
}

size_t virtio_console_receive(struct virtio_console *c, unsigned port, const u8 *buf, size_t len)
{
	struct virtqueue *vq;
	struct vq_elem *e;
	size_t done = 0;
	int ret = 0;

	if (port >= c->nr_ports || !vcon_ready(c))
		return 0;
	vq = &c->vd.vqs[vcon_rxq(port)];
	if (!vq->ready || vq->broken || !(e = malloc(sizeof(*e))))
		return 0;
	vq_batch_start(vq);
	while (done < len && (ret = vq_pop(vq, e)) > 0) {
		size_t n =
			vq_iov_from_buf(e->iov + e->out_num, e->in_num, 0, buf + done, len - done);

		for (unsigned i = e->out_num; i < e->out_num + e->in_num; i++)
			gmem_written(vq->mem, e->iov[i].iov_base, e->iov[i].iov_len);
		done += n;
		if (vq_push(vq, e->head, (u32)n)) {
			virtio_set_needs_reset(&c->vd);
			break;
		}
		virtio_queue_done(&c->vd, vcon_rxq(port));
	}
	if (ret < 0)
		virtio_set_needs_reset(&c->vd);
	c->stats.rx_bytes += done;
	free(e);
	return done;
}

int virtio_console_resize(struct virtio_console *c, unsigned port, u16 cols, u16 rows)
{
	if (port >= c->nr_ports || !c->ports[port].console)
		return -EINVAL;
	c->ports[port].cols = cols;
	c->ports[port].rows = rows;
	if (c->ports[port].guest_ready) {
		vcon_ctrl_send(c, port, VIRTIO_CONSOLE_RESIZE, 0);
		vcon_ctrl_deliver(c);
	}
	return 0;
}

/* ---- configuration ---- */

static void vcon_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct virtio_console *c = (struct virtio_console *)vd;
	u8 cfg[VIRTIO_CONSOLE_CFG_SIZE] = { 0 };
	u32 max = htole32(c->nr_ports);

	memcpy(cfg + VIRTIO_CONSOLE_CFG_MAX_PORTS, &max, 4);
	memcpy(buf, cfg + off, len);
}

/* emerg_wr (5.3.4): one byte for port 0, written before the driver sets DRIVER_OK too. */
static void vcon_config_write(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len)
{
	struct virtio_console *c = (struct virtio_console *)vd;
	u8 ch;

	if (off != VIRTIO_CONSOLE_CFG_EMERG_WR || !len ||
	    !virtio_has_feature(vd, VIRTIO_CONSOLE_F_EMERG_WRITE))
		return;
	memcpy(&ch, buf, 1);
	if (c->be.write)
		c->be.write(c->be.opaque, 0, &ch, 1);
	c->stats.tx_bytes++;
}

static void vcon_reset(struct virtio_dev *vd)
{
	struct virtio_console *c = (struct virtio_console *)vd;

	c->device_ready = false;
	c->ctrl_nr = 0;
	for (u32 i = 0; i < c->nr_ports; i++)
		c->ports[i].guest_ready = c->ports[i].guest_open = false;
}

static const struct virtio_dev_ops vcon_ops = {
	.config_read = vcon_config_read,
	.config_write = vcon_config_write,
	.queue_notify = vcon_queue_notify,
	.reset = vcon_reset,
};

int virtio_console_create(struct platform *p, const struct virtio_console_config *cfg,
			  struct virtio_console **out, struct err *err)
{
	const char *name = cfg->name ? cfg->name : "virtio-console";
	struct virtio_console *c;
	int ret;

	if (!cfg->nr_ports || cfg->nr_ports > VIRTIO_CONSOLE_MAX_PORTS)
		return err_set(err, -EINVAL, "%s: %u ports (1..%u)", name, cfg->nr_ports,
			       VIRTIO_CONSOLE_MAX_PORTS);
	c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->p = p;
	c->be = cfg->backend;
	c->nr_ports = cfg->nr_ports;
	for (u32 i = 0; i < c->nr_ports; i++) {
		const char *pn = cfg->port_names[i];

		c->ports[i].console = !pn;
		if (pn && (!pn[0] || strlen(pn) > VIRTIO_CONSOLE_NAME_MAX)) {
			free(c);
			return err_set(err, -EINVAL, "%s: port %u: name of 1..%u bytes", name, i,
				       VIRTIO_CONSOLE_NAME_MAX);
		}
		if (pn) {
			c->ports[i].name_len = (u8)strlen(pn);
			memcpy(c->ports[i].name, pn, c->ports[i].name_len);
		}
	}
	c->vd.ops = &vcon_ops;
	c->vd.device_id = 3;
	c->vd.pci_class = 0x078000; /* simple communication controller, other */
	c->vd.config_len = VIRTIO_CONSOLE_CFG_SIZE;
	c->vd.nr_queues = 2 * (c->nr_ports + 1);
	c->vd.queue_max_size = VIRTIO_CONSOLE_QUEUE_SIZE;
	c->vd.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
			 1ull << VIRTIO_F_EVENT_IDX | 1ull << VIRTIO_CONSOLE_F_MULTIPORT |
			 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
	ret = virtio_pci_create(p, &c->vd, name, &c->vp, err);
	if (ret < 0) {
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

struct pci_dev *virtio_console_pci(struct virtio_console *c)
{
	return virtio_pci_dev(c->vp);
}

struct virtio_pci *virtio_console_transport(struct virtio_console *c)
{
	return c->vp;
}

void virtio_console_reset(struct virtio_console *c)
{
	virtio_pci_reset(c->vp); /* calls vcon_reset */
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	virtio_pci_destroy(c->vp);
	free(c);
}

static void virtio_console_ops_reset(void *dev)
{
	virtio_console_reset(dev);
}

static void virtio_console_ops_destroy(void *dev)
{
	virtio_console_destroy(dev);
}

static void virtio_console_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct virtio_console *c = dev;

	fn(opaque, "tx_bytes", c->stats.tx_bytes);
	fn(opaque, "rx_bytes", c->stats.rx_bytes);
	fn(opaque, "control_in", c->stats.ctrl_in);
	fn(opaque, "control_out", c->stats.ctrl_out);
	fn(opaque, "control_dropped", c->stats.ctrl_dropped);
}

/* ---- state ---- */

static const struct state_field vcon_port_fields[] = {
	STATE_BOOL(struct vcon_port, console, STATE_CHECKED),
	STATE_U8(struct vcon_port, name_len, STATE_CHECKED),
	STATE_ARRAY(struct vcon_port, name, U8, STATE_CHECKED),
	STATE_BOOL(struct vcon_port, guest_ready),
	STATE_BOOL(struct vcon_port, guest_open),
	STATE_U16(struct vcon_port, cols),
	STATE_U16(struct vcon_port, rows),
	STATE_END,
};

static const struct state_desc vcon_port_state = {
	.name = "virtio-console-port",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vcon_port),
	.fields = vcon_port_fields,
};

static const struct state_field vcon_ctrl_fields[] = {
	STATE_U32(struct vcon_ctrl, id, STATE_MAX(VIRTIO_CONSOLE_MAX_PORTS - 1)),
	STATE_U16(struct vcon_ctrl, event, STATE_MAX(VIRTIO_CONSOLE_PORT_NAME)),
	STATE_U16(struct vcon_ctrl, value),
	STATE_END,
};

static const struct state_desc vcon_ctrl_state = {
	.name = "virtio-console-control",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vcon_ctrl),
	.fields = vcon_ctrl_fields,
};

static int virtio_console_pre_save(void *obj, struct err *err)
{
	struct virtio_console *c = obj;

	(void)err;
	virtio_pci_flush_notify(c->vp);
	return 0;
}

static const struct state_field virtio_console_fields[] = {
	STATE_STRUCT(struct virtio_console, vd, virtio_dev_state),
	STATE_HOST(struct virtio_console, name, "the board's name"),
	STATE_HOST(struct virtio_console, p, "the platform"),
	STATE_POINTEE(struct virtio_console, vp, virtio_pci_state),
	STATE_HOST(struct virtio_console, be, "the board's back ends"),
	STATE_U32(struct virtio_console, nr_ports, STATE_CHECKED),
	STATE_STRUCT_ARRAY(struct virtio_console, ports, vcon_port_state),
	STATE_BOOL(struct virtio_console, device_ready),
	STATE_U32(struct virtio_console, ctrl_nr, STATE_MAX(VIRTIO_CONSOLE_CTRL_MAX)),
	STATE_STRUCT_ARRAY(struct virtio_console, ctrl, vcon_ctrl_state),
	STATE_HOST(struct virtio_console, buf, "scratch"),
	STATE_HOST(struct virtio_console, stats, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc virtio_console_state = {
	.name = "virtio-console",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_console),
	.fields = virtio_console_fields,
	.pre_save = virtio_console_pre_save,
};

const struct device_ops virtio_console_device_ops = {
	.type = "virtio-console",
	.reset = virtio_console_ops_reset,
	.state = &virtio_console_state,
	.destroy = virtio_console_ops_destroy,
	.counters = virtio_console_ops_counters,
};
