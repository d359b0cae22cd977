/* SPDX-License-Identifier: MIT */
/*
 * virtio PCI transport, modern only (VIRTIO 1.2 section 4.1):
 * - 4.1.2: vendor 0x1af4, device 0x1040 + virtio device ID, revision 1 (no legacy interface).
 * - 4.1.4: vendor-specific capabilities {cap_vndr, cap_next, cap_len, cfg_type, bar, id,
 *   padding[2], le32 offset, le32 length}; the notify capability adds le32
 *   notify_off_multiplier (4.1.4.4); the PCI configuration access capability adds
 *   u8 pci_cfg_data[4] (4.1.4.9), a window onto the BARs through configuration space.
 * - 4.1.4.3: common configuration; 4.1.4.5 ISR status (read clears, deasserts INTx);
 *   4.1.4.4 queue notification at notify_off + queue_notify_off * multiplier.
 * - 4.1.5.1.2 / 4.1.4.3.2: feature negotiation; FEATURES_OK only latches for a subset of the
 *   offered features that includes VERSION_1; status 0 resets.
 * - MSI-X (PCI Local Bus 3.0 section 6.8.2): capability {id 0x11, next, le16 message control
 *   (table size - 1, bit 14 function mask, bit 15 enable), le32 table offset|BIR, le32 PBA
 *   offset|BIR}; table entries {le32 addr lo, addr hi, data, vector control (bit 0 mask)}; a
 *   masked vector's message is held pending in the PBA and sent on unmask. 4.1.4.3.2: a vector
 *   the device cannot map reads back as NO_VECTOR.
 * - Optional eventfd fast paths (virtio_pci.h struct virtio_pci_accel): one ioeventfd per
 *   queue at its notify address while BAR 4 is mapped, one irqfd per MSI-X vector, (re)routed
 *   lazily when a message is sent with an address/data the route does not have yet.
 */
#include "virtio/virtio_pci.h"

#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define MSIX_ENTRIES	  (VIRTIO_MAX_QUEUES + 1)
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE  0x8000

struct virtio_pci {
	struct pci_dev pci; /* first: container_of by cast */
	struct platform *p;
	struct virtio_dev *vd;
	u32 dfselect, gfselect;
	u16 queue_sel;
	u16 config_vector;
	u16 queue_vector[VIRTIO_MAX_QUEUES];
	u8 isr;
	u8 msix_cap;	 /* configuration offset of the MSI-X capability */
	u8 pcicfg_cap;	 /* configuration offset of the PCI access capability */
	unsigned msix_n; /* table entries */
	u32 msix_table[MSIX_ENTRIES][4];
	u64 msix_pba;
	u64 mapped[PCI_NUM_BARS]; /* where we put each BAR on the mmio bus */
	/* eventfd fast paths; fds are -1 without them */
	bool has_accel;
	struct virtio_pci_accel accel;
	int notify_fd[VIRTIO_MAX_QUEUES];
	u64 notify_at; /* BAR 4 base the ioeventfds are assigned at, or PCI_BAR_UNMAPPED */
	int irq_fd[MSIX_ENTRIES];
	bool irq_routed[MSIX_ENTRIES];
	u64 irq_addr[MSIX_ENTRIES];
	u32 irq_data[MSIX_ENTRIES];
	int defer_fd; /* signalled when a queue's work was deferred (virtio_queue_defer) */
	u32 deferred; /* queues to re-run from the main loop */
	struct virtio_pci_stats stats;
};

static u64 le_get(const u8 *b, unsigned n)
{
	u64 v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | b[i];
	return v;
}

static void le_put(u8 *b, unsigned n, u64 v)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		b[i] = (u8)v;
}

/* ---- interrupts ---- */

static u16 virtio_pci_msix_ctrl(const struct virtio_pci *vp)
{
	return pci_config_get16(&vp->pci, vp->msix_cap + 2);
}

static bool virtio_pci_msix_on(const struct virtio_pci *vp)
{
	return virtio_pci_msix_ctrl(vp) & MSIX_CTRL_ENABLE;
}

static bool virtio_pci_vector_masked(const struct virtio_pci *vp, unsigned v)
{
	return (virtio_pci_msix_ctrl(vp) & MSIX_CTRL_MASKALL) || (vp->msix_table[v][3] & 1);
}

/* Send vector v's message through its irqfd, routing it first if needed. false: not sent. */
static bool virtio_pci_irqfd_send(struct virtio_pci *vp, unsigned v, u64 addr, u32 data)
{
	int ret;

	if (vp->irq_fd[v] < 0)
		return false;
	if (!vp->irq_routed[v] || vp->irq_addr[v] != addr || vp->irq_data[v] != data) {
		ret = vp->accel.msi_irqfd(vp->accel.opaque, vp->irq_fd[v], addr, data, true);
		if (ret < 0) {
			log_warn("%s: MSI-X vector %u: no irqfd route (%s); using direct MSI",
				 vp->pci.name, v, strerror(-ret));
			if (vp->irq_routed[v])
				vp->accel.msi_irqfd(vp->accel.opaque, vp->irq_fd[v], 0, 0, false);
			close(vp->irq_fd[v]);
			vp->irq_fd[v] = -1;
			vp->irq_routed[v] = false;
			return false;
		}
		vp->irq_routed[v] = true;
		vp->irq_addr[v] = addr;
		vp->irq_data[v] = data;
	}
	if (eventfd_write(vp->irq_fd[v], 1) < 0)
		return false;
	vp->stats.irqfd_sends++;
	return true;
}

static void virtio_pci_msix_send(struct virtio_pci *vp, unsigned v)
{
	u64 addr = (u64)vp->msix_table[v][1] << 32 | vp->msix_table[v][0];
	u32 data = vp->msix_table[v][2];

	if (virtio_pci_vector_masked(vp, v)) {
		vp->msix_pba |= 1ull << v;
		return;
	}
	vp->msix_pba &= ~(1ull << v);
	if (virtio_pci_irqfd_send(vp, v, addr, data))
		return;
	if (vp->p->msi)
		vp->p->msi(vp->p, addr, data);
}

/* Send the messages that were held while masked and are no longer. */
static void virtio_pci_msix_flush(struct virtio_pci *vp)
{
	if (!virtio_pci_msix_on(vp))
		return;
	for (unsigned v = 0; v < vp->msix_n; v++)
		if ((vp->msix_pba >> v & 1) && !virtio_pci_vector_masked(vp, v))
			virtio_pci_msix_send(vp, v);
}

static void virtio_pci_notify(struct virtio_dev *vd, int q)
{
	struct virtio_pci *vp = vd->transport;
	u16 v;

	if (virtio_pci_msix_on(vp)) {
		v = q < 0 ? vp->config_vector : vp->queue_vector[q];
		if (v < vp->msix_n)
			virtio_pci_msix_send(vp, v);
		return;
	}
	vp->isr |= q < 0 ? 2 : 1;
	pci_set_irq(&vp->pci, 1);
}

/* ---- common configuration ---- */

static void virtio_pci_reset_state(struct virtio_pci *vp)
{
	struct virtio_dev *vd = vp->vd;

	if (vd->ops->reset)
		vd->ops->reset(vd);
	vd->status = 0;
	vd->driver_features = 0;
	vd->reset_count++;
	for (unsigned q = 0; q < vd->nr_queues; q++) {
		vq_reset(&vd->vqs[q]);
		vd->vqs[q].size = vd->queue_max_size;
		vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
	}
	vp->config_vector = VIRTIO_MSI_NO_VECTOR;
	vp->deferred = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->isr = 0;
	pci_set_irq(&vp->pci, 0);
}

void virtio_pci_reset(struct virtio_pci *vp)
{
	virtio_pci_reset_state(vp);
}

static struct virtqueue *virtio_pci_selected(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->vd->nr_queues ? &vp->vd->vqs[vp->queue_sel] : NULL;
}

static void virtio_pci_common_snapshot(struct virtio_pci *vp, u8 *b)
{
	struct virtio_dev *vd = vp->vd;
	struct virtqueue *vq = virtio_pci_selected(vp);

	memset(b, 0, VIRTIO_PCI_COMMON_SIZE);
	le_put(b + VIRTIO_PCI_COMMON_DFSELECT, 4, vp->dfselect);
	le_put(b + VIRTIO_PCI_COMMON_DF, 4,
	       vp->dfselect < 2 ? vd->features >> (32 * vp->dfselect) : 0);
	le_put(b + VIRTIO_PCI_COMMON_GFSELECT, 4, vp->gfselect);
	le_put(b + VIRTIO_PCI_COMMON_GF, 4,
	       vp->gfselect < 2 ? vd->driver_features >> (32 * vp->gfselect) : 0);
	le_put(b + VIRTIO_PCI_COMMON_MSIX, 2, vp->config_vector);
	le_put(b + VIRTIO_PCI_COMMON_NUMQ, 2, vd->nr_queues);
	b[VIRTIO_PCI_COMMON_STATUS] = vd->status;
	b[VIRTIO_PCI_COMMON_CFGGEN] = vd->config_generation;
	le_put(b + VIRTIO_PCI_COMMON_Q_SELECT, 2, vp->queue_sel);
	if (!vq)
		return;
	le_put(b + VIRTIO_PCI_COMMON_Q_SIZE, 2, vq->size);
	le_put(b + VIRTIO_PCI_COMMON_Q_MSIX, 2, vp->queue_vector[vp->queue_sel]);
	le_put(b + VIRTIO_PCI_COMMON_Q_ENABLE, 2, vq->ready);
	le_put(b + VIRTIO_PCI_COMMON_Q_NOFF, 2, vp->queue_sel);
	le_put(b + VIRTIO_PCI_COMMON_Q_DESCLO, 8, vq->desc);
	le_put(b + VIRTIO_PCI_COMMON_Q_AVAILLO, 8, vq->avail);
	le_put(b + VIRTIO_PCI_COMMON_Q_USEDLO, 8, vq->used);
}

static u64 virtio_pci_common_read(struct virtio_pci *vp, u64 off, unsigned size)
{
	u8 b[VIRTIO_PCI_COMMON_SIZE];

	if (off + size > VIRTIO_PCI_COMMON_SIZE)
		return 0;
	virtio_pci_common_snapshot(vp, b);
	return le_get(b + off, size);
}

static void virtio_pci_set_status(struct virtio_pci *vp, u8 val)
{
	struct virtio_dev *vd = vp->vd;
	u64 required = 1ull << VIRTIO_F_VERSION_1;

	if (!val) {
		virtio_pci_reset_state(vp);
		return;
	}
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((vd->driver_features & ~vd->features) || !(vd->driver_features & required))) {
		log_guest("%s: driver features %#llx refused (offered %#llx)", vp->pci.name,
			  (unsigned long long)vd->driver_features,
			  (unsigned long long)vd->features);
		val &= (u8)~VIRTIO_STATUS_FEATURES_OK;
	}
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
		for (unsigned q = 0; q < vd->nr_queues; q++) {
			vd->vqs[q].event_idx = virtio_has_feature(vd, VIRTIO_F_EVENT_IDX);
			vd->vqs[q].indirect = virtio_has_feature(vd, VIRTIO_F_INDIRECT_DESC);
		}
	}
	vd->status = val | (vd->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void virtio_pci_queue_enable(struct virtio_pci *vp, struct virtqueue *vq)
{
	if (vq->ready)
		return;
	if (!vq->size || vq->size & (vq->size - 1) || vq->size > vp->vd->queue_max_size) {
		log_guest("%s: queue %u size %u refused", vp->pci.name, vp->queue_sel, vq->size);
		return;
	}
	vq->ready = true;
}

static void virtio_pci_set64(u64 *field, bool hi, u64 val)
{
	if (hi)
		*field = (*field & 0xffffffffull) | (u64)(u32)val << 32;
	else
		*field = (*field & ~0xffffffffull) | (u32)val;
}

static void virtio_pci_common_write(struct virtio_pci *vp, u64 off, unsigned size, u64 val)
{
	struct virtio_dev *vd = vp->vd;
	struct virtqueue *vq = virtio_pci_selected(vp);
	bool live = vq && !vq->ready; /* queue registers are writable until enabled */
	unsigned shift;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vp->dfselect = (u32)val;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vp->gfselect = (u32)val;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (vd->status & VIRTIO_STATUS_FEATURES_OK || vp->gfselect >= 2)
			return;
		shift = 32 * vp->gfselect;
		vd->driver_features &= ~(0xffffffffull << shift);
		vd->driver_features |= (u64)(u32)val << shift;
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vp->config_vector = val < vp->msix_n ? (u16)val : VIRTIO_MSI_NO_VECTOR;
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_pci_set_status(vp, (u8)val);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vp->queue_sel = (u16)val;
		return;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		if (live)
			vq->size = (u16)val;
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (vq)
			vp->queue_vector[vp->queue_sel] =
				val < vp->msix_n ? (u16)val : VIRTIO_MSI_NO_VECTOR;
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (vq && val == 1)
			virtio_pci_queue_enable(vp, vq);
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		if (live)
			virtio_pci_set64(&vq->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, val);
		if (live && size == 8)
			vq->desc = val;
		return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		if (live)
			virtio_pci_set64(&vq->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, val);
		if (live && size == 8)
			vq->avail = val;
		return;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		if (live)
			virtio_pci_set64(&vq->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, val);
		if (live && size == 8)
			vq->used = val;
		return;
	default:
		log_guest("%s: write of %u bytes at common cfg %#llx ignored", vp->pci.name, size,
			  (unsigned long long)off);
	}
}

/* ---- BAR 4: common, ISR, device, notify ---- */

/* The driver notified queue q (a bus write or an ioeventfd). */
static void virtio_pci_kick(struct virtio_pci *vp, u64 q)
{
	struct virtio_dev *vd = vp->vd;

	if (q >= vd->nr_queues || !vd->vqs[q].ready || !(vd->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vd->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	vd->ops->queue_notify(vd, (unsigned)q);
}

static u64 virtio_pci_bar_read(void *dev, u64 off, unsigned size)
{
	struct virtio_pci *vp = dev;
	struct virtio_dev *vd = vp->vd;
	u8 b[8] = { 0 };
	u8 isr;

	if (off < VIRTIO_PCI_ISR_OFF)
		return virtio_pci_common_read(vp, off - VIRTIO_PCI_COMMON_OFF, size);
	if (off < VIRTIO_PCI_DEVICE_OFF) {
		if (off != VIRTIO_PCI_ISR_OFF)
			return 0;
		isr = vp->isr;
		vp->isr = 0;
		pci_set_irq(&vp->pci, 0);
		return isr;
	}
	if (off < VIRTIO_PCI_NOTIFY_OFF) {
		off -= VIRTIO_PCI_DEVICE_OFF;
		if (off + size <= vd->config_len && vd->ops->config_read)
			vd->ops->config_read(vd, (unsigned)off, b, size);
		return le_get(b, size);
	}
	return 0;
}

static void virtio_pci_bar_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct virtio_pci *vp = dev;
	struct virtio_dev *vd = vp->vd;
	u8 b[8];
	u64 q;

	if (off < VIRTIO_PCI_ISR_OFF) {
		virtio_pci_common_write(vp, off - VIRTIO_PCI_COMMON_OFF, size, val);
	} else if (off < VIRTIO_PCI_DEVICE_OFF) {
		/* ISR is read-only */
	} else if (off < VIRTIO_PCI_NOTIFY_OFF) {
		off -= VIRTIO_PCI_DEVICE_OFF;
		le_put(b, size, val);
		if (off + size <= vd->config_len && vd->ops->config_write)
			vd->ops->config_write(vd, (unsigned)off, b, size);
	} else {
		q = (off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;
		virtio_pci_kick(vp, q);
	}
}

static const struct io_ops virtio_pci_bar_ops = {
	.read = virtio_pci_bar_read,
	.write = virtio_pci_bar_write,
	.min_size = 1,
	.max_size = 4,
};

/* ---- BAR 1: MSI-X table and PBA ---- */

static u64 virtio_pci_msix_read(void *dev, u64 off, unsigned size)
{
	struct virtio_pci *vp = dev;

	(void)size;
	if (off < (u64)vp->msix_n * 16)
		return vp->msix_table[off / 16][off % 16 / 4];
	if (off >= VIRTIO_PCI_MSIX_PBA && off < VIRTIO_PCI_MSIX_PBA + 8)
		return (u32)(vp->msix_pba >> (8 * (off - VIRTIO_PCI_MSIX_PBA)));
	return 0;
}

static void virtio_pci_msix_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct virtio_pci *vp = dev;

	(void)size;
	if (off >= (u64)vp->msix_n * 16)
		return; /* the PBA is read-only */
	if (off % 16 == 12)
		val &= 1; /* vector control: only the mask bit */
	vp->msix_table[off / 16][off % 16 / 4] = (u32)val;
	virtio_pci_msix_flush(vp);
}

static const struct io_ops virtio_pci_msix_ops = {
	.read = virtio_pci_msix_read,
	.write = virtio_pci_msix_write,
	.min_size = 4,
	.max_size = 4,
};

/* ---- eventfd fast paths ---- */

/* Assign the queues' ioeventfds at BAR 4 base (or remove them). All or none stay assigned. */
static void virtio_pci_ioeventfds(struct virtio_pci *vp, u64 base, bool assign)
{
	unsigned n = vp->vd->nr_queues, q;
	int ret = 0;

	if (!vp->has_accel || !vp->accel.ioeventfd || vp->notify_fd[0] < 0)
		return;
	if (!assign) {
		if (vp->notify_at == PCI_BAR_UNMAPPED)
			return;
		for (q = 0; q < n; q++)
			vp->accel.ioeventfd(vp->accel.opaque,
					    vp->notify_at + VIRTIO_PCI_NOTIFY_OFF +
						    q * VIRTIO_PCI_NOTIFY_MULT,
					    vp->notify_fd[q], false);
		vp->notify_at = PCI_BAR_UNMAPPED;
		return;
	}
	for (q = 0; q < n && ret == 0; q++)
		ret = vp->accel.ioeventfd(vp->accel.opaque,
					  base + VIRTIO_PCI_NOTIFY_OFF + q * VIRTIO_PCI_NOTIFY_MULT,
					  vp->notify_fd[q], true);
	if (ret == 0) {
		vp->notify_at = base;
		return;
	}
	log_warn("%s: no ioeventfd for queue notifications (%s); they stay bus writes",
		 vp->pci.name, strerror(-ret));
	for (unsigned undo = 0; undo + 1 < q; undo++)
		vp->accel.ioeventfd(vp->accel.opaque,
				    base + VIRTIO_PCI_NOTIFY_OFF + undo * VIRTIO_PCI_NOTIFY_MULT,
				    vp->notify_fd[undo], false);
}

static void virtio_pci_close_fds(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (vp->notify_fd[q] >= 0)
			close(vp->notify_fd[q]);
		vp->notify_fd[q] = -1;
	}
	for (unsigned v = 0; v < MSIX_ENTRIES; v++) {
		if (vp->irq_routed[v])
			vp->accel.msi_irqfd(vp->accel.opaque, vp->irq_fd[v], 0, 0, false);
		if (vp->irq_fd[v] >= 0)
			close(vp->irq_fd[v]);
		vp->irq_fd[v] = -1;
		vp->irq_routed[v] = false;
	}
}

int virtio_pci_set_accel(struct virtio_pci *vp, const struct virtio_pci_accel *acc, struct err *err)
{
	int e;

	if (vp->has_accel)
		return err_set(err, -EBUSY, "%s: eventfd paths already set", vp->pci.name);
	vp->accel = *acc;
	vp->has_accel = true;
	for (unsigned q = 0; acc->ioeventfd && q < vp->vd->nr_queues; q++) {
		vp->notify_fd[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vp->notify_fd[q] < 0)
			goto err_eventfd;
	}
	for (unsigned v = 0; acc->msi_irqfd && v < vp->msix_n; v++) {
		vp->irq_fd[v] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (vp->irq_fd[v] < 0)
			goto err_eventfd;
	}
	if (vp->mapped[VIRTIO_PCI_BAR] != PCI_BAR_UNMAPPED)
		virtio_pci_ioeventfds(vp, vp->mapped[VIRTIO_PCI_BAR], true);
	return 0;

err_eventfd:
	e = errno;
	virtio_pci_close_fds(vp);
	vp->has_accel = false;
	return err_set(err, -e, "%s: eventfd: %s", vp->pci.name, strerror(e));
}

int virtio_pci_notify_fd(const struct virtio_pci *vp, unsigned q)
{
	return q < VIRTIO_MAX_QUEUES ? vp->notify_fd[q] : -1;
}

void virtio_pci_notify_event(struct virtio_pci *vp, unsigned q)
{
	eventfd_t n;

	if (q >= vp->vd->nr_queues || vp->notify_fd[q] < 0 || eventfd_read(vp->notify_fd[q], &n))
		return; /* nothing there (EAGAIN) */
	pthread_mutex_lock(&vp->p->dev_lock);
	vp->stats.ioeventfd_kicks++;
	virtio_pci_kick(vp, q);
	pthread_mutex_unlock(&vp->p->dev_lock);
}

/* The device cut queue q's round at its budget: resume it from the main loop. Device lock held. */
static void virtio_pci_defer(struct virtio_dev *vd, unsigned q)
{
	struct virtio_pci *vp = vd->transport;

	vp->deferred |= 1u << q;
	vp->stats.deferred_rounds++;
	if (eventfd_write(vp->defer_fd, 1) < 0)
		log_warn("%s: cannot signal deferred queue work: %s", vp->pci.name,
			 strerror(errno));
}

int virtio_pci_defer_fd(const struct virtio_pci *vp)
{
	return vp->defer_fd;
}

void virtio_pci_defer_event(struct virtio_pci *vp)
{
	eventfd_t n;
	u32 pending;

	(void)eventfd_read(vp->defer_fd, &n); /* EAGAIN: the bits below still tell */
	pthread_mutex_lock(&vp->p->dev_lock);
	pending = vp->deferred;
	vp->deferred = 0;
	for (unsigned q = 0; pending; q++, pending >>= 1)
		if (pending & 1)
			virtio_pci_kick(vp, q);
	pthread_mutex_unlock(&vp->p->dev_lock);
}

void virtio_pci_get_stats(const struct virtio_pci *vp, struct virtio_pci_stats *out)
{
	*out = vp->stats;
}

/* ---- PCI configuration hooks ---- */

/* Map or unmap one BAR's window. The device lock is recursive (platform.h), so this may run
 * from the configuration write that moved the BAR. */
static int virtio_pci_bus_call(struct virtio_pci *vp, bool map, u64 base, u64 len,
			       const struct io_ops *ops)
{
	return map ? bus_map(&vp->p->mmio, base, len, ops, vp, vp->pci.name) :
		     bus_unmap(&vp->p->mmio, base);
}

static void virtio_pci_bar_remap(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct virtio_pci *vp = (struct virtio_pci *)d;
	const struct io_ops *ops =
		bar == VIRTIO_PCI_BAR ? &virtio_pci_bar_ops : &virtio_pci_msix_ops;

	(void)old_addr;
	if (vp->mapped[bar] != PCI_BAR_UNMAPPED) {
		if (bar == VIRTIO_PCI_BAR)
			virtio_pci_ioeventfds(vp, 0, false);
		virtio_pci_bus_call(vp, false, vp->mapped[bar], 0, NULL);
		vp->mapped[bar] = PCI_BAR_UNMAPPED;
	}
	if (new_addr == PCI_BAR_UNMAPPED)
		return;
	if (virtio_pci_bus_call(vp, true, new_addr, d->bars[bar].size, ops)) {
		log_guest("%s: BAR%u at %#llx overlaps another device; not mapped", d->name, bar,
			  (unsigned long long)new_addr);
		return;
	}
	vp->mapped[bar] = new_addr;
	if (bar == VIRTIO_PCI_BAR)
		virtio_pci_ioeventfds(vp, new_addr, true);
}

/* The window of 4.1.4.9: bar, offset and length select what pci_cfg_data reaches. */
static bool virtio_pci_cfg_window(struct virtio_pci *vp, u64 *off, unsigned *len)
{
	u8 c = vp->pcicfg_cap;

	*off = pci_config_get32(&vp->pci, c + 8);
	*len = pci_config_get32(&vp->pci, c + 12);
	return vp->pci.config[c + 4] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       *off + *len <= VIRTIO_PCI_BAR_SIZE && !(*off & (*len - 1));
}

static void virtio_pci_config_read(struct pci_dev *d, unsigned off, unsigned size)
{
	struct virtio_pci *vp = (struct virtio_pci *)d;
	unsigned data = vp->pcicfg_cap + 16u, len;
	u64 win;

	if (off + size <= data || off >= data + 4 || !virtio_pci_cfg_window(vp, &win, &len))
		return;
	pci_config_set32(d, data, (u32)virtio_pci_bar_read(vp, win, len));
}

static void virtio_pci_config_write(struct pci_dev *d, unsigned off, unsigned size, u32 val)
{
	struct virtio_pci *vp = (struct virtio_pci *)d;
	unsigned data = vp->pcicfg_cap + 16u, len;
	u64 win;

	(void)val;
	if (off < vp->msix_cap + 4u && off + size > vp->msix_cap + 2u) {
		/* With MSI-X on, the function no longer signals through INTx. */
		if (virtio_pci_msix_on(vp))
			pci_set_irq(&vp->pci, 0);
		virtio_pci_msix_flush(vp);
		return;
	}
	if (off + size <= data || off >= data + 4 || !virtio_pci_cfg_window(vp, &win, &len))
		return;
	virtio_pci_bar_write(vp, win, len,
			     pci_config_get32(d, data) & (0xffffffffu >> (32 - 8 * len)));
}

static const struct pci_dev_ops virtio_pci_pci_ops = {
	.bar_remap = virtio_pci_bar_remap,
	.config_write = virtio_pci_config_write,
	.config_read = virtio_pci_config_read,
};

/* ---- creation ---- */

static int virtio_pci_add_vcap(struct virtio_pci *vp, u8 type, u8 bar, u32 off, u32 len,
			       unsigned cap_len)
{
	struct pci_dev *d = &vp->pci;
	int c = pci_add_capability(d, PCI_CAP_ID_VNDR, cap_len);

	if (c < 0)
		return c;
	d->config[c + 2] = (u8)cap_len;
	d->config[c + 3] = type;
	d->config[c + 4] = bar;
	pci_config_set32(d, (unsigned)c + 8, off);
	pci_config_set32(d, (unsigned)c + 12, len);
	return c;
}

int virtio_pci_create(struct platform *p, struct virtio_dev *vd, const char *name,
		      struct virtio_pci **out, struct err *err)
{
	struct pci_id id = {
		.vendor = VIRTIO_PCI_VENDOR,
		.device = (u16)VIRTIO_PCI_DEVICE(vd->device_id),
		.class_code = vd->pci_class,
		.revision = 1,
		.subsystem_vendor = VIRTIO_PCI_VENDOR,
		.subsystem = 0x1100,
	};
	struct virtio_pci *vp;
	int c, ret;

	if (!vd->nr_queues || vd->nr_queues > VIRTIO_MAX_QUEUES || !vd->queue_max_size ||
	    vd->queue_max_size > VQ_MAX_SIZE || vd->queue_max_size & (vd->queue_max_size - 1) ||
	    vd->config_len > VIRTIO_PCI_NOTIFY_OFF - VIRTIO_PCI_DEVICE_OFF || !vd->ops ||
	    !vd->ops->queue_notify)
		return err_set(err, -EINVAL, "%s: bad virtio device description", name);
	vp = calloc(1, sizeof(*vp));
	if (!vp)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	vp->p = p;
	vp->vd = vd;
	vp->msix_n = vd->nr_queues + 1;
	vp->notify_at = PCI_BAR_UNMAPPED;
	vp->defer_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vp->defer_fd < 0) {
		ret = -errno;
		free(vp);
		return err_set(err, ret, "%s: eventfd: %s", name, strerror(-ret));
	}
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->notify_fd[q] = -1;
	for (unsigned v = 0; v < MSIX_ENTRIES; v++)
		vp->irq_fd[v] = -1;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		vp->mapped[i] = PCI_BAR_UNMAPPED;
	for (unsigned v = 0; v < vp->msix_n; v++)
		vp->msix_table[v][3] = 1; /* masked at reset */
	vd->features |= 1ull << VIRTIO_F_VERSION_1;
	vd->transport = vp;
	vd->notify = virtio_pci_notify;
	vd->defer = virtio_pci_defer;
	for (unsigned q = 0; q < vd->nr_queues; q++)
		vd->vqs[q].mem = &p->mem;

	pci_dev_init(&vp->pci, name, &id, &virtio_pci_pci_ops);
	ret = pci_set_bar(&vp->pci, VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_BAR_SIZE, PCI_BAR_MEM32,
			  false);
	if (!ret)
		ret = pci_set_bar(&vp->pci, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM64,
				  false);
	if (ret)
		goto fail_caps;
	c = pci_add_capability(&vp->pci, PCI_CAP_ID_MSIX, 12);
	if (c < 0)
		goto fail_caps;
	vp->msix_cap = (u8)c;
	pci_config_set16(&vp->pci, (unsigned)c + 2, (u16)(vp->msix_n - 1));
	vp->pci.wmask[c + 3] = 0xc0; /* function mask, enable */
	pci_config_set32(&vp->pci, (unsigned)c + 4, 0 | VIRTIO_PCI_MSIX_BAR);
	pci_config_set32(&vp->pci, (unsigned)c + 8, VIRTIO_PCI_MSIX_PBA | VIRTIO_PCI_MSIX_BAR);

	if (virtio_pci_add_vcap(vp, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_BAR,
				VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE, 16) < 0 ||
	    virtio_pci_add_vcap(vp, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_BAR, VIRTIO_PCI_ISR_OFF, 1,
				16) < 0)
		goto fail_caps;
	c = virtio_pci_add_vcap(vp, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_BAR,
				VIRTIO_PCI_NOTIFY_OFF, vd->nr_queues * VIRTIO_PCI_NOTIFY_MULT, 20);
	if (c < 0)
		goto fail_caps;
	pci_config_set32(&vp->pci, (unsigned)c + 16, VIRTIO_PCI_NOTIFY_MULT);
	if (vd->config_len && virtio_pci_add_vcap(vp, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_BAR,
						  VIRTIO_PCI_DEVICE_OFF, vd->config_len, 16) < 0)
		goto fail_caps;
	c = virtio_pci_add_vcap(vp, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 0, 20);
	if (c < 0)
		goto fail_caps;
	vp->pcicfg_cap = (u8)c;
	vp->pci.wmask[c + 4] = 0xff;
	memset(vp->pci.wmask + c + 8, 0xff, 12);

	virtio_pci_reset_state(vp);
	*out = vp;
	return 0;

fail_caps:
	close(vp->defer_fd);
	free(vp);
	return err_set(err, -EINVAL, "%s: PCI BARs or capabilities do not fit", name);
}

struct pci_dev *virtio_pci_dev(struct virtio_pci *vp)
{
	return &vp->pci;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp)
		return;
	if (vp->stats.ioeventfd_kicks || vp->stats.irqfd_sends)
		log_info("%s: %llu queue notifications through ioeventfd, %llu interrupts through "
			 "irqfd",
			 vp->pci.name, (unsigned long long)vp->stats.ioeventfd_kicks,
			 (unsigned long long)vp->stats.irqfd_sends);
	if (vp->stats.deferred_rounds)
		log_info("%s: %llu rounds of queue work cut at the queue size and resumed later",
			 vp->pci.name, (unsigned long long)vp->stats.deferred_rounds);
	if (vp->has_accel) {
		virtio_pci_ioeventfds(vp, 0, false);
		virtio_pci_close_fds(vp);
	}
	for (unsigned i = 0; i < PCI_NUM_BARS; i++)
		if (vp->mapped[i] != PCI_BAR_UNMAPPED)
			bus_unmap(&vp->p->mmio, vp->mapped[i]);
	close(vp->defer_fd);
	free(vp);
}

void virtio_pci_flush_notify(struct virtio_pci *vp)
{
	for (unsigned q = 0; q < vp->vd->nr_queues; q++)
		virtio_pci_notify_event(vp, q);
}

/* A vector outside the table reads back as NO_VECTOR (4.1.4.3.2): a record must agree. */
static int virtio_pci_post_load(void *obj, u32 version, struct err *err)
{
	struct virtio_pci *vp = obj;

	(void)version;
	for (unsigned q = 0; q <= VIRTIO_MAX_QUEUES; q++) {
		u16 v = q < VIRTIO_MAX_QUEUES ? vp->queue_vector[q] : vp->config_vector;

		if (v != VIRTIO_MSI_NO_VECTOR && v >= vp->msix_n)
			return err_set(err, -EINVAL, "%s: MSI-X vector %u beyond the table (%u)",
				       vp->pci.name, v, vp->msix_n);
	}
	/* Queues whose round of work was cut at its budget: the main loop runs them again. */
	if (vp->deferred && eventfd_write(vp->defer_fd, 1) < 0)
		return err_set(err, -errno, "%s: cannot signal deferred queue work: %s",
			       vp->pci.name, strerror(errno));
	return 0;
}

static const struct state_field virtio_pci_fields[] = {
	STATE_STRUCT(struct virtio_pci, pci, pci_dev_state),
	STATE_HOST(struct virtio_pci, p, "the platform"),
	STATE_HOST(struct virtio_pci, vd, "the device model (saved by it)"),
	STATE_U32(struct virtio_pci, dfselect),
	STATE_U32(struct virtio_pci, gfselect),
	STATE_U16(struct virtio_pci, queue_sel),
	STATE_U16(struct virtio_pci, config_vector),
	STATE_ARRAY(struct virtio_pci, queue_vector, U16),
	STATE_U8(struct virtio_pci, isr, STATE_MAX(3)),
	STATE_U8(struct virtio_pci, msix_cap, STATE_CHECKED),
	STATE_U8(struct virtio_pci, pcicfg_cap, STATE_CHECKED),
	STATE_U32(struct virtio_pci, msix_n, STATE_CHECKED),
	STATE_ARRAY2(struct virtio_pci, msix_table, U32),
	STATE_U64(struct virtio_pci, msix_pba, STATE_MAX((1ull << MSIX_ENTRIES) - 1)),
	STATE_HOST(struct virtio_pci, mapped,
		   "where the BARs are on the bus: re-derived from "
		   "config space by the PCI function's post_load"),
	STATE_HOST(struct virtio_pci, has_accel, "eventfd fast paths (host objects)"),
	STATE_HOST(struct virtio_pci, accel, "eventfd fast paths (host objects)"),
	STATE_HOST(struct virtio_pci, notify_fd, "eventfd fast paths (host objects)"),
	STATE_HOST(struct virtio_pci, notify_at, "eventfd fast paths: re-registered with the BAR"),
	STATE_HOST(struct virtio_pci, irq_fd, "eventfd fast paths (host objects)"),
	STATE_HOST(struct virtio_pci, irq_routed, "irqfd routes: re-made lazily"),
	STATE_HOST(struct virtio_pci, irq_addr, "irqfd routes: re-made lazily"),
	STATE_HOST(struct virtio_pci, irq_data, "irqfd routes: re-made lazily"),
	STATE_HOST(struct virtio_pci, defer_fd, "eventfd of deferred work (host object)"),
	STATE_U32(struct virtio_pci, deferred, STATE_MAX((1ull << VIRTIO_MAX_QUEUES) - 1)),
	STATE_HOST(struct virtio_pci, stats, "host counters"),
	STATE_END,
};

const struct state_desc virtio_pci_state = {
	.name = "virtio-pci",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_pci),
	.fields = virtio_pci_fields,
	.post_load = virtio_pci_post_load,
};
