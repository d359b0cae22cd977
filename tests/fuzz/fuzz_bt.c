// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the BT engine's decoder and interpreter (src/bt-fallback).
 *
 * Decode: the input's code bytes are decoded in each of the four modes with nothing
 * readable after them (they end where an inaccessible page starts), so a read past the
 * bytes the decoder was given crashes. A decoded instruction must be 1..15 bytes and no
 * longer than what it was given, must decode the same from exactly its own bytes, and must
 * be SHORT from one byte fewer (the cache relies on this to fault at the right byte when an
 * instruction runs into an unmapped page).
 *
 * Execute: unless the input asks for decoding only, the CPU runs the code for up to 8
 * instructions, in flat 64-bit user mode (exceptions end the run), flat 64-bit ring 0
 * (privileged instructions, CR and MSR writes, paging once CR3 is loaded), real mode (the
 * IVT in RAM) or flat 32-bit protected mode at ring 0 (exceptions through an empty IDT up to
 * a triple fault), against 192 KiB of RAM at 0 (code at 0x10000) followed by an inaccessible
 * page; other addresses are MMIO whose reads return bytes of a counter. Port and MMIO
 * accesses are counted and the CPU is kicked after FBT_MAX_IO of them, so a REP string
 * instruction over MMIO ends (work bounded by the input).
 *
 * The configuration's JIT bit runs the code on a second CPU whose every block is compiled by
 * the JIT (threshold 1; the 64-bit modes: the JIT compiles 64-bit code only), so generated code
 * meets the same inputs, faults and MMIO as the interpreter.
 *
 * Input: a configuration byte (mode, decode only, instruction count, whether unmapped
 * addresses fault, JIT), 16 le16 register values (sign-extended), le16 RFLAGS, then the code.
 */
#include "bt-fallback/bt.h"
#include "bt-fallback/ops/ops.h"
#include "fuzz.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FBT_RAM	     0x30000ull
#define FBT_CODE     0x10000ull
#define FBT_MAX_CODE 64u
#define FBT_MAX_IO   4096u
#define FBT_PAGE     4096u

#define FBT_CFG_MODE(c)	       ((c)&3)
#define FBT_CFG_DECODE_ONLY    0x04
#define FBT_CFG_INSNS(c)       ((((c) >> 3) & 7) + 1)
#define FBT_CFG_FAULT_UNMAPPED 0x40
#define FBT_CFG_JIT	       0x80

enum fbt_mode {
	FBT_FLAT64_USER,
	FBT_FLAT64_RING0,
	FBT_REAL,
	FBT_PROT32,
};

static struct {
	u8 *guard; /* two pages: the second inaccessible */
	u8 *ram;   /* FBT_RAM bytes, then an inaccessible page */
	struct bt_mem mem;
	struct bt_cpu *cpu;	/* interpreted */
	struct bt_cpu *cpu_jit; /* every block compiled */
	struct bt_cpu *cur;	/* the one running the current input */
	unsigned io;		/* port and MMIO accesses of the current input */
} fbt;

static void fbt_io_data(bool is_write, void *data, unsigned size)
{
	if (!is_write)
		for (unsigned i = 0; i < size; i++)
			((u8 *)data)[i] = (u8)(fbt.io * 7 + i);
	if (++fbt.io == FBT_MAX_IO)
		bt_cpu_kick(fbt.cur);
}

static void fbt_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data)
{
	(void)opaque;
	(void)cpu;
	(void)gpa;
	fbt_io_data(is_write, data, size);
}

static void fbt_pio(void *opaque, unsigned cpu, u16 port, unsigned size, bool is_write, void *data)
{
	(void)opaque;
	(void)cpu;
	(void)port;
	fbt_io_data(is_write, data, size);
}

static int fbt_intr_ack(void *opaque, unsigned cpu)
{
	(void)opaque;
	(void)cpu;
	return -1;
}

static int fbt_msr(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val)
{
	(void)opaque;
	(void)cpu;
	(void)index;
	(void)is_write;
	(void)val;
	return -ENOENT;
}

static u64 fbt_clock_ns(void *opaque)
{
	(void)opaque;
	return 1000000000ull; /* deterministic time */
}

/*
 * One CPU and memory for the process, reset for each input (creating them per input costs
 * five times the executions: the block cache's tables are megabytes).
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bt_cpu_config cfg = { .mem = &fbt.mem, .cache_bytes = 1 << 20 };
	struct bt_cpu_config cfg_jit = { .mem = &fbt.mem,
					 .index = 1,
					 .cache_bytes = 1 << 20,
					 .jit = true,
					 .jit_threshold = 1,
					 .jit_code_bytes = 1 << 20 };

	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	fbt.guard = mmap(NULL, 2 * FBT_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	fbt.ram = mmap(NULL, FBT_RAM + FBT_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fbt.guard == MAP_FAILED || fbt.ram == MAP_FAILED ||
	    mprotect(fbt.guard + FBT_PAGE, FBT_PAGE, PROT_NONE) < 0 ||
	    mprotect(fbt.ram + FBT_RAM, FBT_PAGE, PROT_NONE) < 0 ||
	    bt_mem_map(&fbt.mem, 0, FBT_RAM, fbt.ram, false) < 0)
		abort();
	fbt.mem.mmio = fbt_mmio;
	fbt.mem.pio = fbt_pio;
	fbt.mem.intr_ack = fbt_intr_ack;
	fbt.mem.msr = fbt_msr;
	fbt.mem.clock_ns = fbt_clock_ns;
	if (bt_cpu_create(&cfg, &fbt.cpu, NULL) < 0 ||
	    bt_cpu_create(&cfg_jit, &fbt.cpu_jit, NULL) < 0)
		abort();
	return 0;
}

/* Decode the n bytes at code so that they end where the inaccessible page starts. */
static int fbt_decode_at_end(enum bt_mode mode, const u8 *code, unsigned n, struct bt_insn *in)
{
	u8 *p = fbt.guard + FBT_PAGE - n;

	memcpy(p, code, n);
	return bt_decode(mode, p, n, in);
}

static void fbt_decode(const u8 *code, unsigned n)
{
	for (unsigned mode = BT_MODE_REAL; mode <= BT_MODE_LONG64; mode++) {
		struct bt_insn a, b;
		int ret = fbt_decode_at_end(mode, code, n, &a);

		FUZZ_CHECK(ret == BT_DECODE_OK || ret == BT_DECODE_SHORT ||
			   ret == BT_DECODE_TOOLONG);
		if (ret != BT_DECODE_OK)
			continue;
		/* the decoder leaves the handler to the translation, which always finds one */
		FUZZ_CHECK(a.len >= 1 && a.len <= 15 && a.len <= n && !a.fn);
		b = a;
		FUZZ_CHECK(bt_ops_select(&b, mode) != NULL);
		FUZZ_CHECK(a.opsz == 1 || a.opsz == 2 || a.opsz == 4 || a.opsz == 8);
		FUZZ_CHECK(a.asz == 2 || a.asz == 4 || a.asz == 8);
		FUZZ_CHECK(a.seg < CPU_NR_SEGS && a.ea_kind <= BT_EA_RIP);
		FUZZ_CHECK(fbt_decode_at_end(mode, code, a.len, &b) == BT_DECODE_OK);
		FUZZ_CHECK(!memcmp(&a, &b, sizeof(a)));
		FUZZ_CHECK(fbt_decode_at_end(mode, code, a.len - 1u, &b) == BT_DECODE_SHORT);
	}
}

static void fbt_flat_segs(struct bt_cpu *cpu, bool long_mode)
{
	for (unsigned i = 0; i < CPU_NR_SEGS; i++) {
		struct cpu_segment *s = &cpu->st.seg[i];

		memset(s, 0, sizeof(*s));
		s->selector = i == CPU_CS ? 0x10 : 0x18;
		s->limit = 0xffffffff;
		s->type = i == CPU_CS ? 0xb : 0x3;
		s->s = s->present = s->g = 1;
		s->l = i == CPU_CS && long_mode;
		s->db = !s->l;
	}
}

static void fbt_set_mode(struct bt_cpu *cpu, unsigned mode)
{
	bt_cpu_reset(cpu);
	switch (mode) {
	case FBT_FLAT64_USER:
		bt_cpu_set_flat64(cpu);
		cpu->st.rip = FBT_CODE;
		break;
	case FBT_FLAT64_RING0:
		bt_cpu_set_flat64(cpu);
		fbt_flat_segs(cpu, true);
		bt_cpu_update_mode(cpu);
		cpu->st.rip = FBT_CODE;
		break;
	case FBT_REAL:
		bt_cpu_load_seg_real(cpu, CPU_CS, (u16)(FBT_CODE >> 4));
		cpu->st.rip = 0;
		break;
	case FBT_PROT32:
		cpu->st.cr0 = 0x11; /* PE, ET */
		cpu->st.idtr.limit = 0;
		fbt_flat_segs(cpu, false);
		bt_cpu_update_mode(cpu);
		cpu->st.rip = FBT_CODE;
		break;
	}
}

static void fbt_exec(u8 cfg, struct fuzz_in *in, const u8 *code, unsigned n)
{
	struct bt_cpu *cpu = cfg & FBT_CFG_JIT ? fbt.cpu_jit : fbt.cpu;
	enum bt_exit why;
	u16 rflags;

	memset(fbt.ram, 0, FBT_RAM);
	fbt.cur = cpu;
	bt_cache_flush(cpu);
	fbt.mem.fault_unmapped = cfg & FBT_CFG_FAULT_UNMAPPED;
	fbt.io = 0;
	cpu->exit_request = 0; /* a kick the last input's run did not consume */
	fbt_set_mode(cpu, FBT_CFG_MODE(cfg));
	for (unsigned i = 0; i < 16; i++)
		cpu->st.gpr[i] = (u64)(s64)(s16)fuzz_u16(in);
	cpu->st.gpr[CPU_RCX] &= 0xfff; /* REP counts the input gives stay small */
	cpu->st.gpr[CPU_RSP] = FBT_CODE - 0x100;
	rflags = fuzz_u16(in);
	bt_set_rflags(cpu, (rflags & ~(BT_TF | BT_IF)) | 2);
	FUZZ_CHECK(bt_mem_write(&fbt.mem, FBT_CODE, code, n) == 0);
	why = bt_run(cpu, FBT_CFG_INSNS(cfg));
	if (fuzz_verbose())
		fprintf(stderr, "fuzz_bt: mode %u exit %d rip %#llx vector %u, %u I/O accesses\n",
			FBT_CFG_MODE(cfg), why, (unsigned long long)cpu->st.rip,
			why == BT_EXIT_EXCEPTION ? cpu->exc.vector : 0, fbt.io);
	FUZZ_CHECK(why <= BT_EXIT_SHUTDOWN);
	if (why == BT_EXIT_EXCEPTION)
		FUZZ_CHECK(cpu->exc.vector < 32);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u8 cfg = fuzz_u8(&in), code[FBT_MAX_CODE];
	struct fuzz_in regs = in;
	unsigned n;

	in.pos = MIN(in.n, in.pos + 34); /* 16 registers and RFLAGS */
	n = (unsigned)MIN(fuzz_left(&in), (size_t)FBT_MAX_CODE);
	fuzz_bytes(&in, code, n);
	if (!n)
		return 0;
	fbt_decode(code, n);
	if (!(cfg & FBT_CFG_DECODE_ONLY))
		fbt_exec(cfg, &regs, code, n);
	return 0;
}
