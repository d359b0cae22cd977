/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (VIRTIO 1.2 section 5.4) driven as a driver would (tests/unit/harness/vdrv.h):
 * identity, requests filled from getrandom (the used length is what was written, at most
 * VIRTIO_RNG_CHUNK per request), the rate limit in windows of 100 ms of the fake clock
 * (requests answered whole, waiting on a timer while the budget is spent, the configured rate
 * over a long run), a reset in place, and the
 * hostile rings of the virtio-blk tests: a looping chain and a buffer outside RAM set
 * NEEDS_RESET, a driver that re-posts every completion gets one queue's worth per round.
 */
#include "devices/pci.h"
#include "test_platform.h"
#include "vdrv.h"
#include "virtio/rng.h"
#include "virtio/virtio_pci.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define RAM   (4u << 20)
#define DEVNO 4
#define QSZ   16
#define BUF   0x100000ull

struct fx {
	struct test_platform tp;
	struct pci_host *host;
	struct virtio_rng *rng;
	struct vdrv d;
};

static void fx_open(struct fx *f, u64 rate)
{
	struct virtio_rng_config cfg = { .name = "virtio-rng0", .bytes_per_second = rate };

	assert_int_equal(virtio_rng_create(&f->tp.p, &cfg, &f->rng, NULL), 0);
	assert_int_equal(pci_host_add(f->host, virtio_rng_pci(f->rng), DEVNO, 0, NULL), 0);
	vdrv_init(&f->d, &f->tp, DEVNO, QSZ);
}

static void fx_close(struct fx *f)
{
	pci_host_remove(f->host, virtio_rng_pci(f->rng));
	virtio_rng_destroy(f->rng);
}

static int setup(void **state)
{
	struct pci_host_config hc = { .name = "pci" };
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, RAM), 0);
	assert_int_equal(pci_host_create(&f->tp.p, &hc, &f->host, NULL), 0);
	fx_open(f, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	pci_host_destroy(f->host);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u64 features(void)
{
	return 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_EVENT_IDX;
}

/* Offer one device-writable buffer of len bytes at gpa on queue 0. */
static void offer(struct fx *f, u64 gpa, u32 len)
{
	struct vdrv_seg s = { gpa, len, true };

	vdrv_offer(&f->d, 0, &s, 1, false);
}

static u32 used_len(struct fx *f, u16 i)
{
	u32 id, len;

	vdrv_used_elem(&f->d, 0, i, &id, &len);
	return len;
}

static bool all_zero(const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_identity(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vdrv_cfg_read(&f->d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(vdrv_cfg_read(&f->d, PCI_DEVICE_ID, 2), 0x1044);
	vdrv_probe(&f->d);
	assert_true(vdrv_device_features(&f->d) >> VIRTIO_F_VERSION_1 & 1);
	assert_int_equal(vdrv_common_rd(&f->d, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}

static void test_fill(void **state)
{
	struct fx *f = *state;
	u8 *a = vdrv_ram(&f->d, BUF), *b = vdrv_ram(&f->d, BUF + 0x1000);

	vdrv_start(&f->d, features(), 1);
	offer(f, BUF, 64);
	offer(f, BUF + 0x1000, 64);
	offer(f, BUF + 0x4000, VIRTIO_RNG_CHUNK + 100);
	vdrv_kick(&f->d, 0);
	assert_int_equal(vdrv_used_idx(&f->d, 0), 3);
	assert_int_equal(used_len(f, 0), 64);
	assert_int_equal(used_len(f, 1), 64);
	assert_int_equal(used_len(f, 2), VIRTIO_RNG_CHUNK); /* at most a chunk per request */
	assert_false(all_zero(a, 64));
	assert_memory_not_equal(a, b, 64);
	assert_true(all_zero(vdrv_ram(&f->d, BUF + 0x4000 + VIRTIO_RNG_CHUNK), 100));
	/* A chain with only device-readable buffers gets nothing. */
	vdrv_offer(&f->d, 0, &(struct vdrv_seg){ BUF, 16, false }, 1, false);
	vdrv_kick(&f->d, 0);
	assert_int_equal(vdrv_used_idx(&f->d, 0), 4);
	assert_int_equal(used_len(f, 3), 0);
	assert_false(vdrv_needs_reset(&f->d));
}

/*
 * 1000 bytes/s: a budget of 100 bytes per 100 ms window. Requests are answered whole; what one
 * takes beyond its window is paid by the next ones, and requests wait while it is.
 */
static void test_rate_limit(void **state)
{
	struct fx *f = *state;
	u64 total = 0;
	u16 seen = 0;

	fx_close(f);
	fx_open(f, 1000);
	vdrv_start(&f->d, features(), 1);
	for (unsigned i = 0; i < QSZ; i++)
		offer(f, BUF + i * 0x100ull, 64);
	vdrv_kick(&f->d, 0);
	/* 64, then 64 more while 64 < 100: 28 bytes of debt; then the queue waits. */
	assert_int_equal(vdrv_used_idx(&f->d, 0), 2);
	assert_int_equal(used_len(f, 0), 64);
	assert_int_equal(used_len(f, 1), 64);
	vdrv_kick(&f->d, 0); /* a kick does not open a new window */
	assert_int_equal(vdrv_used_idx(&f->d, 0), 2);
	for (unsigned ms = 10; ms <= 700; ms += 10) {
		test_platform_advance(&f->tp, 10000000);
		for (; seen != vdrv_used_idx(&f->d, 0); seen++) {
			assert_int_equal(used_len(f, seen), 64); /* never a short answer */
			total += 64;
		}
		/* Never more than the windows so far allow, plus the one request of debt. */
		assert_true(total <= 100 * (ms / 100 + 1) + 64);
	}
	/* Windows at 0, 100, ..., 700 ms serve 2, 2, 1, 2, 1, 2, 1, 2 requests. */
	assert_int_equal(total, 13 * 64);
	assert_false(vdrv_needs_reset(&f->d));
}

/* Over a long run with the driver always asking, the guest gets the configured rate. */
static void test_rate_long_run(void **state)
{
	struct fx *f = *state;
	u64 total = 0;
	u16 seen = 0;
	unsigned next = 0;

	fx_close(f);
	fx_open(f, 1000);
	vdrv_start(&f->d, features(), 1);
	for (; next < QSZ; next++)
		offer(f, BUF + next % QSZ * 0x100ull, 64);
	vdrv_kick(&f->d, 0);
	for (unsigned ms = 10; ms <= 20000; ms += 10) {
		test_platform_advance(&f->tp, 10000000);
		for (; seen != vdrv_used_idx(&f->d, 0); seen++, next++) {
			total += used_len(f, seen);
			offer(f, BUF + next % QSZ * 0x100ull, 64); /* the driver asks again */
		}
		vdrv_kick(&f->d, 0);
	}
	/* 201 windows (0 to 20 s) of 100 bytes: their budget less what the last one has left,
	 * at most one request beyond it. */
	assert_true(total >= 200 * 100);
	assert_true(total <= 201 * 100 + 64);
	assert_false(vdrv_needs_reset(&f->d));
}

/* A device reset drops the waiting requests' timer; the device starts afresh. */
static void test_reset(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	fx_open(f, 10);
	vdrv_start(&f->d, features(), 1);
	offer(f, BUF, 64);
	offer(f, BUF + 0x100, 64);
	vdrv_kick(&f->d, 0);
	/* A window of 1 byte serves the first request whole; the second waits 64 windows. */
	assert_int_equal(vdrv_used_idx(&f->d, 0), 1);
	assert_int_equal(used_len(f, 0), 64);
	virtio_rng_device_ops.reset(f->rng);
	assert_int_equal(vdrv_status(&f->d), 0);
	test_platform_advance(&f->tp, 1000000000);
	assert_int_equal(vdrv_used_idx(&f->d, 0), 1); /* nothing touched the old rings */
	vdrv_start(&f->d, features(), 1);
	offer(f, BUF, 8);
	vdrv_kick(&f->d, 0);
	assert_int_equal(vdrv_used_idx(&f->d, 0), 1);
}

static void test_hostile_loop(void **state)
{
	struct fx *f = *state;
	struct vdrv_seg s[2] = { { BUF, 8, true }, { BUF + 8, 8, true } };
	u8 *desc = vdrv_ram(&f->d, VDRV_RINGS);
	u16 next = 0, flags = VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE;

	vdrv_start(&f->d, features(), 1);
	vdrv_offer(&f->d, 0, s, 2, false);
	memcpy(desc + 16 + 12, &flags, 2); /* descriptor 1 goes on to 0 */
	memcpy(desc + 16 + 14, &next, 2);
	vdrv_kick(&f->d, 0);
	assert_true(vdrv_needs_reset(&f->d));
	assert_int_equal(vdrv_used_idx(&f->d, 0), 0);
}

static void test_hostile_outside_ram(void **state)
{
	struct fx *f = *state;

	vdrv_start(&f->d, features(), 1);
	offer(f, RAM - 8, 64); /* runs past the end of RAM */
	vdrv_kick(&f->d, 0);
	assert_true(vdrv_needs_reset(&f->d));
}

static unsigned reposts;

/* The driver's interrupt handler posts the same head again at once. */
static void repost_on_msi(struct platform *p, u64 addr, u32 data)
{
	struct fx *f = p->owner;
	u16 idx;

	(void)addr, (void)data;
	if (reposts >= 10 * QSZ)
		return;
	reposts++;
	idx = ++f->d.avail_idx[0];
	memcpy(vdrv_ram(&f->d, VDRV_RINGS + 0x1000 + 2), &idx, 2);
}

static bool defer_ready(struct fx *f)
{
	struct pollfd p = { .fd = virtio_pci_defer_fd(virtio_rng_transport(f->rng)),
			    .events = POLLIN };

	return poll(&p, 1, 0) == 1;
}

static void test_hostile_reposting_driver(void **state)
{
	struct fx *f = *state;
	unsigned rounds = 0;

	vdrv_start(&f->d, 1ull << VIRTIO_F_VERSION_1, 1); /* an interrupt per completion */
	vdrv_msix_enable(&f->d, 2);
	f->tp.p.owner = f;
	f->tp.p.msi = repost_on_msi;
	reposts = 0;
	offer(f, BUF, 16); /* head 0; every slot of the ring names it */
	for (unsigned i = 0; i < QSZ; i++)
		memset(vdrv_ram(&f->d, VDRV_RINGS + 0x1000 + 4 + 2 * i), 0, 2);
	vdrv_kick(&f->d, 0);
	assert_int_equal(vdrv_used_idx(&f->d, 0), QSZ); /* one queue's worth per round */
	assert_true(defer_ready(f));
	while (defer_ready(f)) {
		virtio_pci_defer_event(virtio_rng_transport(f->rng));
		assert_true(++rounds < 100);
	}
	assert_int_equal(vdrv_used_idx(&f->d, 0), 10 * QSZ + 1);
	assert_false(vdrv_needs_reset(&f->d));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_identity),
		T(test_fill),
		T(test_rate_limit),
		T(test_rate_long_run),
		T(test_reset),
		T(test_hostile_loop),
		T(test_hostile_outside_ram),
		T(test_hostile_reposting_driver),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
