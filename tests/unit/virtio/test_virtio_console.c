/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (VIRTIO 1.2 section 5.3) with two ports, a console and a named one, driven
 * as a driver would (tests/unit/harness/vdrv.h): the multiport handshake (DEVICE_READY ->
 * DEVICE_ADD per port; PORT_READY -> CONSOLE_PORT or PORT_NAME, then PORT_OPEN), output to
 * the back end per port, input into posted receive buffers (and the back end told when
 * buffers come), RESIZE, the emergency write, a reset in place; hostile drivers: short and
 * unknown control messages are ignored, a flood of control messages without receive buffers
 * stays bounded, a looping transmit chain sets NEEDS_RESET.
 */
#include "devices/pci.h"
#include "test_platform.h"
#include "vdrv.h"
#include "virtio/console.h"
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM   (4u << 20)
#define DEVNO 5
#define QSZ   32
#define BUF   0x100000ull
#define NQ    6 /* 2 ports: port 0 (0, 1), control (2, 3), port 1 (4, 5) */
#define CRX   2
#define CTX   3
#define P1_RX 4
#define P1_TX 5
#define PNAME "org.test.port"

struct fx {
	struct test_platform tp;
	struct pci_host *host;
	struct virtio_console *con;
	struct vdrv d;
	char out[2][256]; /* what each port wrote to the back end */
	size_t out_len[2];
	unsigned rx_ready[2];
	u16 crx_seen;
};

static void be_write(void *opaque, unsigned port, const u8 *buf, size_t len)
{
	struct fx *f = opaque;

	assert_true(port < 2);
	len = MIN(len, sizeof(f->out[port]) - 1 - f->out_len[port]);
	memcpy(f->out[port] + f->out_len[port], buf, len);
	f->out_len[port] += len;
}

static void be_rx_ready(void *opaque, unsigned port)
{
	struct fx *f = opaque;

	assert_true(port < 2);
	f->rx_ready[port]++;
}

static int setup(void **state)
{
	struct pci_host_config hc = { .name = "pci" };
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_console_config cfg = {
		.name = "virtio-console0",
		.nr_ports = 2,
		.port_names = { NULL, PNAME },
		.backend = { .opaque = f, .write = be_write, .rx_ready = be_rx_ready },
	};

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	assert_int_equal(virtio_console_create(&f->tp.p, &cfg, &f->con, NULL), 0);
	assert_int_equal(pci_host_add(f->host, virtio_console_pci(f->con), DEVNO, 0, NULL), 0);
	vdrv_init(&f->d, &f->tp, DEVNO, QSZ);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	pci_host_remove(f->host, virtio_console_pci(f->con));
	virtio_console_destroy(f->con);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u64 features(void)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
	       1ull << VIRTIO_CONSOLE_F_MULTIPORT | 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
}

/* Post n control receive buffers of 64 bytes (at BUF + 0x10000 + i * 64). */
static void post_ctrl_rx(struct fx *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		u64 gpa = BUF + 0x10000 + (f->d.avail_idx[CRX] % QSZ) * 64ull;

		(void)i;
		vdrv_offer(&f->d, CRX, &(struct vdrv_seg){ gpa, 64, true }, 1, false);
	}
	vdrv_kick(&f->d, CRX);
}

/* Send a control message on the control transmitq. */
static void ctrl_send(struct fx *f, u32 id, u16 event, u16 value)
{
	u64 gpa = BUF + 0x20000 + (f->d.avail_idx[CTX] % QSZ) * 16ull;
	u8 *m = vdrv_ram(&f->d, gpa);

	memcpy(m, &id, 4);
	memcpy(m + 4, &event, 2);
	memcpy(m + 6, &value, 2);
	vdrv_offer(&f->d, CTX, &(struct vdrv_seg){ gpa, 8, false }, 1, false);
	vdrv_kick(&f->d, CTX);
}

/* The next control message the device delivered: false if none. */
static bool ctrl_next(struct fx *f, u32 *id, u16 *event, u16 *value, u8 *extra, u32 *extra_len)
{
	u32 head, len;
	const u8 *m;

	if (f->crx_seen == vdrv_used_idx(&f->d, CRX))
		return false;
	vdrv_used_elem(&f->d, CRX, f->crx_seen++, &head, &len);
	assert_true(len >= 8);
	m = vdrv_ram(&f->d, BUF + 0x10000 + (head % QSZ) * 64ull);
	memcpy(id, m, 4);
	memcpy(event, m + 4, 2);
	memcpy(value, m + 6, 2);
	if (extra) {
		memcpy(extra, m + 8, len - 8);
		*extra_len = len - 8;
	}
	return true;
}

static void expect_ctrl(struct fx *f, u32 id, u16 event, u16 value)
{
	u32 i;
	u16 e, v;

	assert_true(ctrl_next(f, &i, &e, &v, NULL, NULL));
	assert_int_equal(i, id);
	assert_int_equal(e, event);
	assert_int_equal(v, value);
}

/* The handshake of Linux's driver, up to both ports open. */
static void handshake(struct fx *f)
{
	u8 name[64];
	u32 id, nlen;
	u16 e, v;

	vdrv_start(&f->d, features(), NQ);
	post_ctrl_rx(f, 16);
	ctrl_send(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_DEVICE_ADD, 1);
	ctrl_send(f, 0, VIRTIO_CONSOLE_PORT_READY, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
	expect_ctrl(f, 0, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	assert_true(ctrl_next(f, &id, &e, &v, name, &nlen));
	assert_int_equal(id, 1);
	assert_int_equal(e, VIRTIO_CONSOLE_PORT_NAME);
	assert_int_equal(nlen, strlen(PNAME));
	assert_memory_equal(name, PNAME, nlen);
	expect_ctrl(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	ctrl_send(f, 1, VIRTIO_CONSOLE_PORT_OPEN, 1);
	assert_false(ctrl_next(f, &id, &e, &v, NULL, NULL));
	assert_false(vdrv_needs_reset(&f->d));
}

static void test_identity(void **state)
{
	struct fx *f = *state;
	u64 feat;

	assert_int_equal(vdrv_cfg_read(&f->d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(vdrv_cfg_read(&f->d, PCI_DEVICE_ID, 2), 0x1043);
	vdrv_probe(&f->d);
	feat = vdrv_device_features(&f->d);
	assert_true(feat >> VIRTIO_CONSOLE_F_MULTIPORT & 1);
	assert_true(feat >> VIRTIO_CONSOLE_F_EMERG_WRITE & 1);
	assert_int_equal(vdrv_common_rd(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), NQ);
	assert_int_equal(vdrv_devcfg_rd(&f->d, VIRTIO_CONSOLE_CFG_MAX_PORTS, 4), 2);
}

static void test_handshake_and_data(void **state)
{
	struct fx *f = *state;
	u8 *rx = vdrv_ram(&f->d, BUF + 0x30000);
	u32 id, len;

	handshake(f);
	/* output, per port */
	memcpy(vdrv_ram(&f->d, BUF), "hello ", 6);
	memcpy(vdrv_ram(&f->d, BUF + 0x100), "console", 7);
	vdrv_offer(&f->d, 1, (struct vdrv_seg[]){ { BUF, 6, false }, { BUF + 0x100, 7, false } }, 2,
		   true);
	vdrv_kick(&f->d, 1);
	memcpy(vdrv_ram(&f->d, BUF + 0x200), "named", 5);
	vdrv_offer(&f->d, P1_TX, &(struct vdrv_seg){ BUF + 0x200, 5, false }, 1, false);
	vdrv_kick(&f->d, P1_TX);
	assert_int_equal(f->out_len[0], 13);
	assert_memory_equal(f->out[0], "hello console", 13);
	assert_int_equal(f->out_len[1], 5);
	assert_memory_equal(f->out[1], "named", 5);
	/* input: none taken before buffers come; the back end hears of them */
	assert_int_equal(virtio_console_receive(f->con, 1, (const u8 *)"abcdef", 6), 0);
	vdrv_offer(&f->d, P1_RX, &(struct vdrv_seg){ BUF + 0x30000, 4, true }, 1, false);
	vdrv_kick(&f->d, P1_RX);
	assert_int_equal(f->rx_ready[1], 1);
	assert_int_equal(virtio_console_receive(f->con, 1, (const u8 *)"abcdef", 6), 4);
	assert_memory_equal(rx, "abcd", 4);
	vdrv_used_elem(&f->d, P1_RX, 0, &id, &len);
	assert_int_equal(len, 4);
	assert_int_equal(virtio_console_receive(f->con, 1, (const u8 *)"ef", 2), 0);
	assert_int_equal(virtio_console_receive(f->con, 7, (const u8 *)"ef", 2), 0);
	assert_false(vdrv_needs_reset(&f->d));
}

static void test_resize_and_emerg(void **state)
{
	struct fx *f = *state;
	u8 size[8];
	u32 id, n;
	u16 e, v, cols, rows;

	handshake(f);
	assert_int_equal(virtio_console_resize(f->con, 0, 100, 40), 0);
	assert_true(ctrl_next(f, &id, &e, &v, size, &n));
	assert_int_equal(e, VIRTIO_CONSOLE_RESIZE);
	assert_int_equal(id, 0);
	assert_int_equal(n, 4);
	memcpy(&cols, size, 2);
	memcpy(&rows, size + 2, 2);
	assert_int_equal(cols, 100);
	assert_int_equal(rows, 40);
	assert_int_equal(virtio_console_resize(f->con, 1, 80, 25), -EINVAL); /* not a console */
	assert_int_equal(virtio_console_resize(f->con, 2, 80, 25), -EINVAL);
	vdrv_devcfg_wr(&f->d, VIRTIO_CONSOLE_CFG_EMERG_WR, 4, 'X');
	assert_int_equal(f->out_len[0], 1);
	assert_int_equal(f->out[0][0], 'X');
}

/* A reset in place (system reset) forgets the handshake; the driver does it again. */
static void test_reset(void **state)
{
	struct fx *f = *state;

	handshake(f);
	virtio_console_device_ops.reset(f->con);
	assert_int_equal(vdrv_status(&f->d), 0);
	f->crx_seen = 0;
	handshake(f);
}

static void test_hostile_control(void **state)
{
	struct fx *f = *state;
	u32 id;
	u16 e, v;

	vdrv_start(&f->d, features(), NQ);
	/* short, unknown and out-of-range messages: ignored */
	vdrv_offer(&f->d, CTX, &(struct vdrv_seg){ BUF, 3, false }, 1, false);
	vdrv_kick(&f->d, CTX);
	ctrl_send(f, 9, VIRTIO_CONSOLE_PORT_READY, 1);
	ctrl_send(f, 0, 77, 1);
	/* a flood without receive buffers: at most VIRTIO_CONSOLE_CTRL_MAX wait */
	ctrl_send(f, 0, VIRTIO_CONSOLE_DEVICE_READY, 1);
	for (unsigned i = 0; i < 40; i++)
		ctrl_send(f, 1, VIRTIO_CONSOLE_PORT_READY, 1);
	post_ctrl_rx(f, QSZ);
	for (unsigned i = 0; i < VIRTIO_CONSOLE_CTRL_MAX; i++)
		assert_true(ctrl_next(f, &id, &e, &v, NULL, NULL));
	assert_false(ctrl_next(f, &id, &e, &v, NULL, NULL));
	assert_false(vdrv_needs_reset(&f->d));
}

static void test_hostile_loop(void **state)
{
	struct fx *f = *state;
	u8 *desc = vdrv_ram(&f->d, VDRV_RINGS + 1 * 0x4000ull);
	u16 next = 0, flags = VIRTQ_DESC_F_NEXT;

	handshake(f);
	vdrv_offer(&f->d, 1, (struct vdrv_seg[]){ { BUF, 4, false }, { BUF + 4, 4, false } }, 2,
		   false);
	memcpy(desc + 16 + 12, &flags, 2); /* descriptor 1 goes on to 0 */
	memcpy(desc + 16 + 14, &next, 2);
	vdrv_kick(&f->d, 1);
	assert_true(vdrv_needs_reset(&f->d));
	assert_int_equal(f->out_len[0], 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity), T(test_handshake_and_data), T(test_resize_and_emerg),
		T(test_reset),	  T(test_hostile_control),    T(test_hostile_loop),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
