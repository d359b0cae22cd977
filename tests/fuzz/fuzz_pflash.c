// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for pflash (src/devices/pflash.c), the command parser a firmware (or a
 * hostile guest) drives through the bank's MMIO range: the input is a program of accesses of
 * any size at any offset (in and past the bank) of either of two banks, a writable one and a
 * read-only one, failing write-throughs and resets.
 *
 * Checks besides the sanitizers: the read-only bank's contents never change; every byte of
 * the writable bank that changes was handed to the write-through callback (a shadow copy,
 * updated only by the callback, equals the contents after every access); a byte changes only
 * to fewer set bits, unless an erase set its whole block to 0xff; the host heap does not grow.
 */
#include "devices/pflash.h"
#include "fuzz.h"
#include "test_platform.h"

#include <errno.h>
#include <string.h>

#define FPF_BLOCK    1024u
#define FPF_SIZE     (8u * FPF_BLOCK)
#define FPF_RW_BASE  0xfff00000ull
#define FPF_RO_BASE  (FPF_RW_BASE + FPF_SIZE)
#define FPF_HEAP_MAX (1u << 20)

struct fpf {
	struct test_platform tp;
	struct pflash *rw, *ro;
	u8 rw_data[FPF_SIZE], ro_data[FPF_SIZE], shadow[FPF_SIZE], ro_orig[FPF_SIZE];
	bool fail;
	size_t heap_base;
};

static int fpf_persist(void *opaque, u64 off, u64 len)
{
	struct fpf *f = opaque;

	FUZZ_CHECK(off < FPF_SIZE && len <= FPF_SIZE - off);
	memcpy(f->shadow + off, f->rw_data + off, len);
	return f->fail ? -EIO : 0;
}

static int fpf_setup(struct fpf *f)
{
	struct pflash_config cfg = {
		.name = "pflash-vars",
		.base = FPF_RW_BASE,
		.size = FPF_SIZE,
		.block_size = FPF_BLOCK,
		.persist = fpf_persist,
		.persist_opaque = f,
	};

	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < FPF_SIZE; i++) {
		f->rw_data[i] = (u8)(i * 37 + 11);
		f->ro_data[i] = (u8)(i * 13 + 5);
	}
	memcpy(f->shadow, f->rw_data, FPF_SIZE);
	memcpy(f->ro_orig, f->ro_data, FPF_SIZE);
	if (test_platform_init(&f->tp, 0) < 0)
		return -1;
	cfg.data = f->rw_data;
	if (pflash_create(&f->tp.p, &cfg, &f->rw, NULL) < 0)
		goto err_platform;
	cfg.name = "pflash-code";
	cfg.base = FPF_RO_BASE;
	cfg.data = f->ro_data;
	cfg.read_only = true;
	cfg.persist = NULL;
	if (pflash_create(&f->tp.p, &cfg, &f->ro, NULL) < 0)
		goto err_rw;
	f->heap_base = fuzz_heap_bytes();
	return 0;
err_rw:
	pflash_destroy(f->rw);
err_platform:
	test_platform_destroy(&f->tp);
	return -1;
}

static void fpf_teardown(struct fpf *f)
{
	pflash_destroy(f->ro);
	pflash_destroy(f->rw);
	test_platform_destroy(&f->tp);
}

/* Every changed byte only lost bits, or its whole block is now erased. */
static void fpf_check(struct fpf *f, const u8 *before)
{
	for (unsigned i = 0; i < FPF_SIZE; i++) {
		unsigned blk = i - i % FPF_BLOCK;
		bool erased = true;

		if (f->rw_data[i] == before[i] || (f->rw_data[i] & before[i]) == f->rw_data[i])
			continue;
		for (unsigned j = 0; j < FPF_BLOCK; j++)
			erased &= f->rw_data[blk + j] == 0xff;
		FUZZ_CHECK(erased);
	}
	FUZZ_CHECK(!memcmp(f->rw_data, f->shadow, FPF_SIZE));
	FUZZ_CHECK(!memcmp(f->ro_data, f->ro_orig, FPF_SIZE));
}

/* One op: u8 kind, le16 offset (past the end too), u8 value. */
static void fpf_op(struct fpf *f, struct fuzz_in *in)
{
	static u8 before[FPF_SIZE];
	u8 kind = fuzz_u8(in);
	u64 off = fuzz_u16(in) % (FPF_SIZE + 64);
	u8 val = fuzz_u8(in);
	u64 base = kind & 1 ? FPF_RO_BASE : FPF_RW_BASE;
	unsigned size = 1u << ((kind >> 1) & 3);

	memcpy(before, f->rw_data, FPF_SIZE);
	switch ((kind >> 3) % 4) {
	case 0:
	case 1:
		bus_write(&f->tp.p.mmio, base + off, size, val);
		break;
	case 2:
		(void)bus_read(&f->tp.p.mmio, base + off, size);
		break;
	default:
		if (val & 1)
			pflash_reset(kind & 1 ? f->ro : f->rw);
		else
			f->fail = val & 2;
		break;
	}
	fpf_check(f, before);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	static struct fpf f;

	fuzz_quiet_logs();
	if (fpf_setup(&f) < 0)
		return 0;
	while (fuzz_left(&in)) {
		fpf_op(&f, &in);
		FUZZ_CHECK(fuzz_heap_bytes() < f.heap_base + FPF_HEAP_MAX);
	}
	fpf_teardown(&f);
	return 0;
}
