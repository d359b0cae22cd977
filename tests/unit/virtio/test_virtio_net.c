// SPDX-License-Identifier: MIT
/*
 * virtio-net (VIRTIO 1.2 section 5.1) driven as a driver would, over the recording back end
 * (fake_net.h): features and configuration, transmit with and without offloads (and their
 * software fallback in net.c), back-pressure from the host, receive into mergeable and plain
 * buffers, waiting for buffers, the control queue's RX modes, MAC table, VLAN filter and queue
 * pairs, link changes, and chains a hostile driver builds.
 */
#include "devices/pci.h"
#include "fake_net.h"
#include "net/net_offload.h"
#include "test_platform.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"
#include "virtio_driver.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM   (4u << 20)
#define DEVNO 4
#define BAR4  0xe0000000ull
#define BAR1  0xe0100000ull
#define QSZ   16
#define RINGS 0x10000
#define BUF   0x100000 /* buffers from here, 0x10000 each */
#define HDRS  0x300000

static const u8 MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fx {
	struct test_platform tp;
	struct pci_host *host;
	struct fake_net fn;
	struct virtio_net *n;
	struct vdrv d;
	unsigned pairs;
	bool event_idx;
};

static int fx_setup(void **state, unsigned caps, unsigned pairs, unsigned mtu)
{
	struct pci_host_config hc = { .name = "pci" };
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_net_config cfg = {
		.name = "net0", .queue_pairs = pairs, .queue_size = QSZ, .mtu = mtu
	};

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	fake_net_init(&f->fn, caps, pairs);
	assert_non_null(f->fn.be);
	memcpy(cfg.mac, MAC, 6);
	cfg.be = f->fn.be;
	assert_int_equal(virtio_net_create(&f->tp.p, &cfg, &f->n, NULL), 0);
	assert_int_equal(pci_host_add(f->host, virtio_net_pci(f->n), DEVNO, 0, NULL), 0);
	vdrv_init(&f->d, &f->tp, DEVNO, QSZ, RINGS, BAR4, BAR1);
	vdrv_probe(&f->d);
	f->pairs = pairs;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return fx_setup(state, 0, 1, 0);
}

static int setup_tso(void **state)
{
	return fx_setup(state, NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6, 1, 0);
}

static int setup_mq(void **state)
{
	return fx_setup(state, 0, 2, 9000);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_host_remove(f->host, virtio_net_pci(f->n));
	virtio_net_destroy(f->n);
	fake_net_fini(&f->fn);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u64 F(unsigned bit)
{
	return 1ull << bit;
}

/* Negotiate features (VERSION_1 always), set every queue up with MSI-X, DRIVER_OK. */
static void start(struct fx *f, u64 features)
{
	unsigned nq = 2 * f->pairs + 1;

	f->event_idx = features & F(VIRTIO_F_EVENT_IDX);
	assert_true(vdrv_negotiate(&f->d, features | F(VIRTIO_F_VERSION_1)) &
		    VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < nq; q++)
		vdrv_queue(&f->d, q, (u16)(q + 1));
	vdrv_msix(&f->d, nq + 1);
	vdrv_driver_ok(&f->d);
}

static u8 *ram(struct fx *f, u64 gpa)
{
	return vdrv_ram(&f->d, gpa);
}

/* An Ethernet frame of len bytes to dst, filled with a pattern. */
static void frame(u8 *buf, size_t len, const u8 *dst)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (u8)(i * 7 + 3);
	memcpy(buf, dst, 6);
	memcpy(buf + 6, "\x02\x00\x00\x00\x00\x01", 6);
	buf[12] = 0x08;
	buf[13] = 0x00;
}

/* Offer a transmit chain: the 12-byte header at HDRS + 16 * slot, then the frame. */
static void tx_offer(struct fx *f, unsigned pair, unsigned slot, const u8 *hdr, const u8 *fr,
		     size_t len)
{
	struct vdrv_seg s[2] = { { HDRS + 16 * slot, VIRTIO_NET_HDR_LEN, false },
				 { BUF + 0x10000ull * slot, (u32)len, false } };

	memcpy(ram(f, s[0].gpa), hdr, VIRTIO_NET_HDR_LEN);
	memcpy(ram(f, s[1].gpa), fr, len);
	vdrv_offer(&f->d, 2 * pair + 1, s, 2);
}

/* Offer a receive buffer of len bytes at BUF + 0x10000 * slot. */
static void rx_offer(struct fx *f, unsigned pair, unsigned slot, u32 len)
{
	struct vdrv_seg s = { BUF + 0x10000ull * slot, len, true };

	vdrv_offer(&f->d, 2 * pair, &s, 1);
}

/* A control command: {class, cmd, data} then the ack byte; returns the ack. */
static u8 ctrl(struct fx *f, u8 cls, u8 cmd, const void *data, u32 len)
{
	unsigned q = 2 * f->pairs;
	struct vdrv_seg s[3] = { { HDRS + 0x1000, 2, false },
				 { HDRS + 0x1100, len, false },
				 { HDRS + 0x2000, 1, true } };
	u32 id, ulen;

	ram(f, HDRS + 0x1000)[0] = cls;
	ram(f, HDRS + 0x1000)[1] = cmd;
	if (len) /* data may be NULL then: memcpy's arguments must not be */
		memcpy(ram(f, HDRS + 0x1100), data, len);
	ram(f, HDRS + 0x2000)[0] = 0xee;
	if (len)
		vdrv_offer(&f->d, q, s, 3);
	else
		vdrv_offer(&f->d, q, (struct vdrv_seg[]){ s[0], s[2] }, 2);
	if (f->event_idx) { /* 2.7.10: a driver kicks only when avail_event asks for it */
		u16 ev, now = f->d.avail_idx[q];

		memcpy(&ev, ram(f, RINGS + q * 0x4000ull + 0x2000 + 4 + 8 * QSZ), 2);
		assert_true((u16)(now - ev - 1) < (u16)(now - (u16)(now - 1)));
	}
	vdrv_kick(&f->d, q);
	assert_true(vdrv_used(&f->d, q, &id, &ulen));
	assert_int_equal(ulen, 1);
	return ram(f, HDRS + 0x2000)[0];
}

/* ---- tests ---- */

static void test_features_and_config(void **state)
{
	struct fx *f = *state;
	u64 df = vdrv_device_features(&f->d);

	assert_true(df & F(VIRTIO_F_VERSION_1));
	assert_true(df & F(VIRTIO_NET_F_MAC));
	assert_true(df & F(VIRTIO_NET_F_STATUS));
	assert_true(df & F(VIRTIO_NET_F_CSUM));
	assert_true(df & F(VIRTIO_NET_F_HOST_TSO4)); /* emulated for this back end */
	assert_true(df & F(VIRTIO_NET_F_MRG_RXBUF));
	assert_true(df & F(VIRTIO_NET_F_CTRL_VQ));
	assert_false(df & F(VIRTIO_NET_F_GUEST_TSO4)); /* the back end cannot make them */
	assert_false(df & F(VIRTIO_NET_F_MQ));
	assert_false(df & F(VIRTIO_NET_F_MTU));
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_MAC + i, 1), MAC[i]);
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_MAX_PAIRS, 2), 1);
	assert_int_equal(vdrv_cfg_read(&f->d, PCI_DEVICE_ID, 2), 0x1041);
}

static void test_mq_features(void **state)
{
	struct fx *f = *state;
	u64 df = vdrv_device_features(&f->d);

	assert_true(df & F(VIRTIO_NET_F_MQ));
	assert_true(df & F(VIRTIO_NET_F_MTU));
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_MAX_PAIRS, 2), 2);
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_MTU, 2), 9000);
}

static void test_tx_plain(void **state)
{
	struct fx *f = *state;
	u8 hdr[VIRTIO_NET_HDR_LEN] = { 0 }, fr[100];
	unsigned msis;
	u32 id, len;

	start(f, 0);
	frame(fr, sizeof(fr), (const u8 *)"\x02\x00\x00\x00\x00\x02");
	tx_offer(f, 0, 0, hdr, fr, sizeof(fr));
	msis = f->tp.nr_msis;
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 1);
	assert_int_equal(f->fn.sent[0].len, sizeof(fr));
	assert_memory_equal(f->fn.sent[0].data, fr, sizeof(fr));
	assert_int_equal(f->fn.sent[0].hdr.flags, 0);
	assert_true(vdrv_used(&f->d, 1, &id, &len));
	assert_int_equal(len, 0);
	assert_int_equal(f->tp.nr_msis, msis + 1);
	assert_int_equal(f->tp.msis[msis].data, 0x40 + 2); /* queue 1's vector */
}

/* A TCP/IPv4 frame of payload bytes, with the TCP checksum field seeded as Linux does. */
static size_t tcp_frame(u8 *b, size_t payload)
{
	size_t len = 14 + 20 + 20 + payload;

	memset(b, 0, len);
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x52\x54\x00\x12\x34\x56\x08\x00", 14);
	b[14] = 0x45;
	b[16] = (u8)((len - 14) >> 8);
	b[17] = (u8)(len - 14);
	b[22] = 64;
	b[23] = NET_IPPROTO_TCP;
	memcpy(b + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	b[34] = 0x30, b[35] = 0x39, b[36] = 0x00, b[37] = 0x50; /* ports 12345 -> 80 */
	b[41] = 1;						/* seq 1 */
	b[46] = 0x50;
	b[47] = 0x18; /* ACK PSH */
	b[48] = 0xff;
	for (size_t i = 0; i < payload; i++)
		b[54 + i] = (u8)(i % 251);
	return len;
}

static void test_tx_offload_not_negotiated(void **state)
{
	struct fx *f = *state;
	u8 hdr[VIRTIO_NET_HDR_LEN] = { NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 0, 0, 34, 0, 16, 0 };
	u8 fr[200];
	struct virtio_net_stats st;
	u32 id, len;

	start(f, 0); /* no CSUM */
	tx_offer(f, 0, 0, hdr, fr, tcp_frame(fr, 100));
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 0);
	assert_true(vdrv_used(&f->d, 1, &id, &len)); /* consumed all the same */
	virtio_net_get_stats(f->n, &st);
	assert_int_equal(st.tx_dropped, 1);
}

/* A back end without offloads: net_send completes the checksum and segments in software. */
static void test_tx_offloads_emulated(void **state)
{
	struct fx *f = *state;
	u8 hdr[VIRTIO_NET_HDR_LEN] = {
		NET_HDR_F_NEEDS_CSUM, NET_HDR_GSO_TCPV4, 54, 0, 0x40, 0x05, 34, 0, 16, 0
	}; /* hdr_len 54, gso_size 1344 */
	static u8 fr[14 + 40 + 4000];
	size_t len = tcp_frame(fr, 4000), total = 0;
	struct net_layers l;

	start(f, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	tx_offer(f, 0, 0, hdr, fr, len);
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 3); /* 1344 + 1344 + 1312 */
	for (unsigned i = 0; i < 3; i++) {
		const struct fake_net_frame *s = &f->fn.sent[i];

		assert_int_equal(s->hdr.gso_type, 0);
		assert_int_equal(net_parse(s->data, s->len, &l), 0);
		assert_true(net_ip_csum_ok(s->data, &l));
		assert_true(net_l4_csum_ok(s->data, &l));
		assert_memory_equal(s->data + 54, fr + 54 + total, s->len - 54);
		/* PSH only on the last segment */
		assert_int_equal(s->data[47] & 0x08, i == 2 ? 0x08 : 0);
		total += s->len - 54;
	}
	assert_int_equal(total, 4000);
}

/* A back end with TSO gets the GSO frame whole, with its header. */
static void test_tx_offloads_passed_through(void **state)
{
	struct fx *f = *state;
	u8 hdr[VIRTIO_NET_HDR_LEN] = {
		NET_HDR_F_NEEDS_CSUM, NET_HDR_GSO_TCPV4, 54, 0, 0x40, 0x05, 34, 0, 16, 0
	};
	static u8 fr[14 + 40 + 4000];
	size_t len = tcp_frame(fr, 4000);

	assert_true(vdrv_device_features(&f->d) & F(VIRTIO_NET_F_GUEST_TSO4));
	start(f, F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4));
	tx_offer(f, 0, 0, hdr, fr, len);
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 1);
	assert_int_equal(f->fn.sent[0].len, len);
	assert_int_equal(f->fn.sent[0].hdr.gso_type, NET_HDR_GSO_TCPV4);
	assert_int_equal(f->fn.sent[0].hdr.gso_size, 1344);
	assert_int_equal(f->fn.sent[0].hdr.csum_start, 34);
}

static void test_tx_backpressure(void **state)
{
	struct fx *f = *state;
	u8 hdr[VIRTIO_NET_HDR_LEN] = { 0 }, fr[64];
	u32 id, len;

	start(f, 0);
	frame(fr, sizeof(fr), MAC);
	f->fn.send_ret = -EAGAIN;
	tx_offer(f, 0, 0, hdr, fr, sizeof(fr));
	tx_offer(f, 0, 1, hdr, fr, sizeof(fr));
	vdrv_kick(&f->d, 1);
	assert_false(vdrv_used(&f->d, 1, &id, &len)); /* both still the device's to send */
	vdrv_kick(&f->d, 1);			      /* a kick does not lose them either */
	assert_false(vdrv_used(&f->d, 1, &id, &len));
	f->fn.send_ret = 0;
	fake_net_tx_ready(&f->fn, 0);
	assert_int_equal(f->fn.nr_sent, 2);
	assert_true(vdrv_used(&f->d, 1, &id, &len));
	assert_true(vdrv_used(&f->d, 1, &id, &len));
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	static u8 fr[2500];
	u32 id[3], len[3];
	u16 nb;

	start(f, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_GUEST_CSUM));
	for (unsigned i = 0; i < 3; i++)
		rx_offer(f, 0, i, 1000);
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0,
					  &(struct net_hdr){ .flags = NET_HDR_F_DATA_VALID }, fr,
					  sizeof(fr)),
			 0);
	for (unsigned i = 0; i < 3; i++)
		assert_true(vdrv_used(&f->d, 0, &id[i], &len[i]));
	assert_int_equal(len[0] + len[1] + len[2], VIRTIO_NET_HDR_LEN + sizeof(fr));
	assert_int_equal(len[0], 1000);
	memcpy(&nb, ram(f, BUF + 10), 2);
	assert_int_equal(nb, 3);
	assert_int_equal(ram(f, BUF)[0], NET_HDR_F_DATA_VALID);
	assert_memory_equal(ram(f, BUF + VIRTIO_NET_HDR_LEN), fr, 1000 - VIRTIO_NET_HDR_LEN);
	assert_memory_equal(ram(f, BUF + 0x10000), fr + 1000 - VIRTIO_NET_HDR_LEN, 1000);
	assert_memory_equal(ram(f, BUF + 0x20000), fr + 2000 - VIRTIO_NET_HDR_LEN, len[2]);
}

static void test_rx_plain_buffer_too_small(void **state)
{
	struct fx *f = *state;
	u8 fr[1000];
	u32 id, len;
	struct virtio_net_stats st;

	start(f, 0);
	rx_offer(f, 0, 0, 500);
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EMSGSIZE);
	assert_false(vdrv_used(&f->d, 0, &id, &len));
	/* the buffer is still there for a frame that fits, without DATA_VALID (not offered) */
	assert_int_equal(fake_net_deliver(&f->fn, 0,
					  &(struct net_hdr){ .flags = NET_HDR_F_DATA_VALID }, fr,
					  400),
			 0);
	assert_true(vdrv_used(&f->d, 0, &id, &len));
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + 400);
	assert_int_equal(ram(f, BUF)[0], 0);
	virtio_net_get_stats(f->n, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.rx_dropped, 1);
}

static void test_rx_waits_for_buffers(void **state)
{
	struct fx *f = *state;
	u8 fr[200];
	u32 id, len;
	unsigned before;

	start(f, F(VIRTIO_NET_F_MRG_RXBUF));
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EAGAIN);
	before = f->fn.rx_ready[0];
	rx_offer(f, 0, 0, 2048);
	vdrv_kick(&f->d, 0);
	assert_int_equal(f->fn.rx_ready[0], before + 1);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	assert_true(vdrv_used(&f->d, 0, &id, &len));
}

/*
 * The driver adds buffers while a frame waits for them: between the device finding the ring
 * empty and its re-check after asking for a notification (here: when the device writes
 * avail_event). The frame goes on into them at once, in the same delivery, and the back end
 * is not asked to retry it.
 */
static struct fx *race_fx;
static bool race_done;

static void race_on_write(void *opaque, u64 gpa, u64 len)
{
	struct fx *f = race_fx;

	(void)opaque;
	(void)len;
	/* queue 0's avail_event: device area (+0x2000) + 4 + 8 * size */
	if (!race_done && gpa == RINGS + 0x2000 + 4 + 8 * QSZ) {
		race_done = true;
		rx_offer(f, 0, 1, 2048);
	}
}

static void test_rx_buffers_added_while_waiting(void **state)
{
	struct fx *f = *state;
	u8 fr[3000], hdr[VIRTIO_NET_HDR_LEN];
	u32 id, len;
	unsigned before;

	start(f, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_F_EVENT_IDX));
	frame(fr, sizeof(fr), MAC);
	rx_offer(f, 0, 0, 2048); /* the frame needs two buffers: one is there */
	race_fx = f;
	race_done = false;
	f->tp.p.mem.on_write = race_on_write;
	before = f->fn.rx_ready[0];
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	f->tp.p.mem.on_write = NULL;
	assert_true(race_done);
	assert_int_equal(f->fn.rx_ready[0], before);
	assert_true(vdrv_used(&f->d, 0, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 2048);
	assert_true(vdrv_used(&f->d, 0, &id, &len));
	assert_int_equal(len, VIRTIO_NET_HDR_LEN + sizeof(fr) - 2048);
	memcpy(hdr, ram(f, BUF), sizeof(hdr));
	assert_int_equal(hdr[10], 2); /* num_buffers */
	assert_memory_equal(ram(f, BUF) + VIRTIO_NET_HDR_LEN, fr, 2048 - VIRTIO_NET_HDR_LEN);
	assert_memory_equal(ram(f, BUF + 0x10000), fr + 2048 - VIRTIO_NET_HDR_LEN,
			    sizeof(fr) - (2048 - VIRTIO_NET_HDR_LEN));
}

static void test_ctrl_rx_filters(void **state)
{
	struct fx *f = *state;
	static const u8 other[6] = { 0x02, 0, 0, 0, 0, 9 }, mcast[6] = { 0x01, 0, 0x5e, 0, 0, 1 };
	u8 fr[64], on = 1, off = 0, table[4 + 6 + 4 + 6];
	u32 one = 1;

	start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_RX_EXTRA) |
			 F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_F_EVENT_IDX));
	for (unsigned i = 0; i < 8; i++)
		rx_offer(f, 0, i, 2048);
	frame(fr, sizeof(fr), other);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0); /* promiscuous */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, &off, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EPERM);
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	frame(fr, sizeof(fr), mcast);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EPERM);
	/* the MAC table: one unicast (other), one multicast */
	memcpy(table, &one, 4);
	memcpy(table + 4, other, 6);
	memcpy(table + 10, &one, 4);
	memcpy(table + 14, mcast, 6);
	assert_int_equal(
		ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, sizeof(table)),
		VIRTIO_NET_OK);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	frame(fr, sizeof(fr), other);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	/* a table whose counts overrun its length is refused */
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_TABLE_SET, table, 10),
			 VIRTIO_NET_ERR);
	/* no broadcast */
	frame(fr, sizeof(fr), (const u8 *)"\xff\xff\xff\xff\xff\xff");
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_NOBCAST, &on, 1),
			 VIRTIO_NET_OK);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EPERM);
	/* an unknown class */
	assert_int_equal(ctrl(f, 99, 0, &on, 1), VIRTIO_NET_ERR);
}

static void test_ctrl_vlan(void **state)
{
	struct fx *f = *state;
	u8 fr[64];
	u16 vid = 5;

	start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_VLAN) | F(VIRTIO_NET_F_MRG_RXBUF));
	for (unsigned i = 0; i < 4; i++)
		rx_offer(f, 0, i, 2048);
	frame(fr, sizeof(fr), MAC);
	fr[12] = 0x81, fr[13] = 0x00, fr[14] = 0x00, fr[15] = 5;
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EPERM);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2),
			 VIRTIO_NET_OK);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
	vid = 5000;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_VLAN, VIRTIO_NET_CTRL_VLAN_ADD, &vid, 2),
			 VIRTIO_NET_ERR);
}

static void test_ctrl_mq(void **state)
{
	struct fx *f = *state;
	u8 fr[64];
	u16 pairs = 2;
	u32 id, len;

	start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_MQ) | F(VIRTIO_NET_F_MRG_RXBUF));
	rx_offer(f, 0, 0, 2048);
	rx_offer(f, 1, 1, 2048);
	frame(fr, sizeof(fr), MAC);
	/* one pair active: back-end queue 1 lands on receive queue 0 */
	assert_int_equal(fake_net_deliver(&f->fn, 1, NULL, fr, sizeof(fr)), 0);
	assert_true(vdrv_used(&f->d, 0, &id, &len));
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_OK);
	assert_int_equal(fake_net_deliver(&f->fn, 1, NULL, fr, sizeof(fr)), 0);
	assert_true(vdrv_used(&f->d, 2, &id, &len));
	pairs = 3;
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &pairs, 2),
			 VIRTIO_NET_ERR);
}

static void test_link_down_and_up(void **state)
{
	struct fx *f = *state;
	u8 fr[64], hdr[VIRTIO_NET_HDR_LEN] = { 0 };
	unsigned msis;

	start(f, F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) |
			 F(VIRTIO_NET_F_GUEST_ANNOUNCE));
	rx_offer(f, 0, 0, 2048);
	msis = f->tp.nr_msis;
	virtio_net_set_link(f->n, false);
	assert_false(virtio_net_link(f->n));
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_STATUS, 2), 0);
	assert_int_equal(f->tp.nr_msis, msis + 1);
	assert_int_equal(f->tp.msis[msis].data, 0x40); /* the configuration vector */
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -ENETDOWN);
	tx_offer(f, 0, 1, hdr, fr, sizeof(fr));
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 0); /* dropped while down */
	virtio_net_set_link(f->n, true);
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_STATUS, 2),
			 VIRTIO_NET_S_LINK_UP | VIRTIO_NET_S_ANNOUNCE);
	assert_int_equal(ctrl(f, VIRTIO_NET_CTRL_ANNOUNCE, VIRTIO_NET_CTRL_ANNOUNCE_ACK, NULL, 0),
			 VIRTIO_NET_OK);
	assert_int_equal(vdrv_devcfg(&f->d, VIRTIO_NET_CFG_STATUS, 2), VIRTIO_NET_S_LINK_UP);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), 0);
}

static void test_hostile_chains(void **state)
{
	struct fx *f = *state;
	struct vdrv_seg tx[2] = { { HDRS, VIRTIO_NET_HDR_LEN, false }, { BUF, 64, true } };
	struct vdrv_seg rx[2] = { { HDRS, 16, false }, { BUF, 2048, true } };
	struct vdrv_seg shorthdr = { HDRS, 6, false };
	u8 fr[64];

	/* a transmit chain with a writable part */
	start(f, 0);
	vdrv_offer(&f->d, 1, tx, 2);
	vdrv_kick(&f->d, 1);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	/* a transmit chain shorter than the header */
	start(f, 0);
	vdrv_offer(&f->d, 1, &shorthdr, 1);
	vdrv_kick(&f->d, 1);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	/* a receive chain with a readable part */
	start(f, F(VIRTIO_NET_F_MRG_RXBUF));
	vdrv_offer(&f->d, 0, rx, 2);
	frame(fr, sizeof(fr), MAC);
	assert_int_equal(fake_net_deliver(&f->fn, 0, NULL, fr, sizeof(fr)), -EIO);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	/* a descriptor outside RAM */
	start(f, 0);
	tx[1] = (struct vdrv_seg){ RAM - 16, 64, false };
	vdrv_offer(&f->d, 1, tx, 2);
	vdrv_kick(&f->d, 1);
	assert_true(vdrv_status(&f->d) & VIRTIO_STATUS_NEEDS_RESET);
	assert_int_equal(f->fn.nr_sent, 0);
	/* after a reset the device works again */
	start(f, 0);
	frame(fr, sizeof(fr), MAC);
	tx_offer(f, 0, 0, (u8[VIRTIO_NET_HDR_LEN]){ 0 }, fr, sizeof(fr));
	vdrv_kick(&f->d, 1);
	assert_int_equal(f->fn.nr_sent, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_features_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mq_features, setup_mq, teardown),
		cmocka_unit_test_setup_teardown(test_tx_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_offload_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_offloads_emulated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_offloads_passed_through, setup_tso,
						teardown),
		cmocka_unit_test_setup_teardown(test_tx_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_mergeable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_plain_buffer_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_buffers_added_while_waiting, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_rx_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_vlan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_mq, setup_mq, teardown),
		cmocka_unit_test_setup_teardown(test_link_down_and_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_chains, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio_net", tests, NULL, NULL);
}
