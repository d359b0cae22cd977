// SPDX-License-Identifier: MIT
/*
 * BT engine speed benchmark (research bt-engine.md section 4): a fixed
 * integer compute loop (ALU, shifts, IMUL, loads and stores, a loop branch:
 * 12 instructions per iteration) run natively and in the engine in flat
 * 64-bit mode; prints guest instructions per second for both and the
 * ratio, in CPU time (best of five for the native run). The final RAX of
 * both runs must agree (exit status 1 otherwise).
 * Usage: bt_bench [iterations]   (default 20,000,000)
 */
#include "bt-fallback/bt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define BENCH_CODE	     0x10000ull
#define BENCH_DATA	     0x20000ull
#define BENCH_INSNS_PER_ITER 12

/* u64 loop(u64 iterations (rdi), u64 buf[64] (rsi)) */
static const u8 bench_code[] = {
	0x31, 0xc0,		      /* xor eax, eax */
	0xb9, 0x01, 0x00, 0x00, 0x00, /* mov ecx, 1 */
	/* loop: */
	0x48, 0x01, 0xc8,	/* add rax, rcx */
	0x48, 0x89, 0xc2,	/* mov rdx, rax */
	0x48, 0xc1, 0xea, 0x07, /* shr rdx, 7 */
	0x48, 0x31, 0xd0,	/* xor rax, rdx */
	0x48, 0x6b, 0xc9, 0x05, /* imul rcx, rcx, 5 */
	0x48, 0x83, 0xc1, 0x03, /* add rcx, 3 */
	0x49, 0x89, 0xc8,	/* mov r8, rcx */
	0x41, 0x83, 0xe0, 0x3f, /* and r8d, 63 */
	0x4a, 0x03, 0x04, 0xc6, /* add rax, [rsi + r8*8] */
	0x4a, 0x89, 0x04, 0xc6, /* mov [rsi + r8*8], rax */
	0x48, 0xff, 0xcf,	/* dec rdi */
	0x75, 0xd7,		/* jnz loop */
	0xc3,			/* ret */
};

static double bench_now(void)
{
	struct timespec ts;

	/* CPU time of this process: the machines are shared and loaded. */
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The loop in the engine (interpreter, or JIT with a threshold of 1); 1 when RAX differs. */
static int bench_engine(bool jit, u64 iters, u64 native_rax, double t_native)
{
	struct bt_mem mem = { .fault_unmapped = true };
	struct bt_cpu_config cfg = { .mem = &mem, .jit = jit, .jit_threshold = 1 };
	struct bt_cpu *cpu;
	u8 *gcode, *gdata;
	double t0, t_bt, insns;
	enum bt_exit why;
	u64 bt_rax;
	bool ok;

	/* Code page, data page (buffer and stack), return to an INT3. */
	gcode = aligned_alloc(4096, 4096);
	gdata = aligned_alloc(4096, 4096);
	if (!gcode || !gdata)
		return 1;
	memset(gcode, 0xcc, 4096);
	memcpy(gcode, bench_code, sizeof(bench_code));
	memset(gdata, 0, 4096);
	if (bt_mem_map(&mem, BENCH_CODE, 4096, gcode, false) < 0 ||
	    bt_mem_map(&mem, BENCH_DATA, 4096, gdata, false) < 0 ||
	    bt_cpu_create(&cfg, &cpu, NULL) < 0)
		return 1;
	bt_cpu_set_flat64(cpu);
	cpu->st.rip = BENCH_CODE;
	cpu->st.gpr[CPU_RDI] = iters;
	cpu->st.gpr[CPU_RSI] = BENCH_DATA;
	cpu->st.gpr[CPU_RSP] = BENCH_DATA + 4096 - 8;
	memcpy(gdata + 4096 - 8, &(u64){ BENCH_CODE + 2048 }, 8); /* return address: INT3 */
	t0 = bench_now();
	why = bt_run(cpu, ~0ull >> 1);
	t_bt = bench_now() - t0;
	bt_rax = cpu->st.gpr[CPU_RAX];
	insns = (double)cpu->icount;
	printf("%s %.3f s, %.1f M guest instructions/s (%.0f instructions retired), %.1fx "
	       "native's time\n",
	       jit ? "jit:        " : "interpreter:", t_bt, insns / t_bt / 1e6, insns,
	       t_bt / t_native);
	ok = why == BT_EXIT_EXCEPTION && cpu->exc.vector == BT_EXC_BP && bt_rax == native_rax;
	if (!ok)
		fprintf(stderr,
			"bt_bench: results differ: native rax %#llx, bt rax %#llx (exit %d, vector "
			"%u)\n",
			(unsigned long long)native_rax, (unsigned long long)bt_rax, why,
			cpu->exc.vector);
	bt_cpu_destroy(cpu);
	bt_mem_destroy(&mem);
	free(gcode);
	free(gdata);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	u64 iters = argc > 1 ? strtoull(argv[1], NULL, 0) : 20000000ull, native_rax;
	static u64 buf[64];
	u8 *code;
	double t0, t_native;
	u64 (*fn)(u64, u64 *);
	int ret = 0;

	/* Native. */
	code = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		    0);
	if (code == MAP_FAILED)
		return 2;
	memcpy(code, bench_code, sizeof(bench_code));
	fn = (u64(*)(u64, u64 *))(void *)code;
	t_native = 1e9;
	for (int rep = 0; rep < 5; rep++) { /* best of five: the native run is short */
		memset(buf, 0, sizeof(buf));
		t0 = bench_now();
		native_rax = fn(iters, buf);
		t_native = MIN(t_native, bench_now() - t0);
	}

	printf("workload: %llu iterations x %d instructions (ALU, shift, IMUL, load/store, loop)\n",
	       (unsigned long long)iters, BENCH_INSNS_PER_ITER);
	printf("native:      %.3f s, %.1f M guest instructions/s\n", t_native,
	       (double)(iters * BENCH_INSNS_PER_ITER) / t_native / 1e6);
	for (int jit = 0; jit < 2; jit++) {
		if (bench_engine(jit, iters, native_rax, t_native))
			ret = 1;
	}
	munmap(code, 4096);
	return ret;
}
