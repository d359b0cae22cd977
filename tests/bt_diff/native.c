// SPDX-License-Identifier: MIT
/*
 * Run one case on the host CPU: registers and RFLAGS are loaded by a small
 * trampoline that jumps into a fixed RWX page; the case ends in an INT3
 * (SIGTRAP) or an exception (SIGSEGV, SIGILL, SIGFPE, SIGBUS), whose
 * ucontext gives the final state, trap number, error code and CR2. The
 * handler runs on an alternate stack and longjmps back. Single-threaded.
 */
#include "bt_diff.h"

#include <cpuid.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

struct diff_native_regs {
	u64 gpr[16];
	u64 rflags;
	u8 xmm[16][16];				 /* at offset 136 */
	u8 fx[512] __attribute__((aligned(16))); /* at offset 400: the x87 state for FXRSTOR */
	u8 ymmh[16][16];			 /* at offset 912: YMM bits 255:128 */
};

void diff_native_enter(const struct diff_native_regs *r);
void diff_native_enter32(const struct diff_native_regs *r);
void diff_native_enter_avx(const struct diff_native_regs *r);
void diff_native_enter32_avx(const struct diff_native_regs *r);
u64 diff_native_target __attribute__((visibility("hidden")));

/* m16:32 far pointer for the jump into compatibility mode. */
struct diff_far {
	u32 off;
	u16 sel;
} __attribute__((packed)) diff_native_far __attribute__((visibility("hidden")));

/* The upper halves of YMM0-15 (after the XMM registers: VINSERTF128 keeps the low half). */
#define DIFF_NATIVE_LOAD_YMMH                           \
	"	vinsertf128 $1, 912(%rdi), %ymm0, %ymm0\n"    \
	"	vinsertf128 $1, 928(%rdi), %ymm1, %ymm1\n"    \
	"	vinsertf128 $1, 944(%rdi), %ymm2, %ymm2\n"    \
	"	vinsertf128 $1, 960(%rdi), %ymm3, %ymm3\n"    \
	"	vinsertf128 $1, 976(%rdi), %ymm4, %ymm4\n"    \
	"	vinsertf128 $1, 992(%rdi), %ymm5, %ymm5\n"    \
	"	vinsertf128 $1, 1008(%rdi), %ymm6, %ymm6\n"   \
	"	vinsertf128 $1, 1024(%rdi), %ymm7, %ymm7\n"   \
	"	vinsertf128 $1, 1040(%rdi), %ymm8, %ymm8\n"   \
	"	vinsertf128 $1, 1056(%rdi), %ymm9, %ymm9\n"   \
	"	vinsertf128 $1, 1072(%rdi), %ymm10, %ymm10\n" \
	"	vinsertf128 $1, 1088(%rdi), %ymm11, %ymm11\n" \
	"	vinsertf128 $1, 1104(%rdi), %ymm12, %ymm12\n" \
	"	vinsertf128 $1, 1120(%rdi), %ymm13, %ymm13\n" \
	"	vinsertf128 $1, 1136(%rdi), %ymm14, %ymm14\n" \
	"	vinsertf128 $1, 1152(%rdi), %ymm15, %ymm15\n"

/* Load XMM0-15 (or YMM0-15 with ymm), RFLAGS and the GPRs from *rdi (struct
 * diff_native_regs); RDI last. */
#define DIFF_NATIVE_LOAD(ymm)                                        \
	"	fxrstor64 400(%rdi)\n"                                     \
	"	movdqu 136(%rdi), %xmm0\n"                                 \
	"	movdqu 152(%rdi), %xmm1\n"                                 \
	"	movdqu 168(%rdi), %xmm2\n"                                 \
	"	movdqu 184(%rdi), %xmm3\n"                                 \
	"	movdqu 200(%rdi), %xmm4\n"                                 \
	"	movdqu 216(%rdi), %xmm5\n"                                 \
	"	movdqu 232(%rdi), %xmm6\n"                                 \
	"	movdqu 248(%rdi), %xmm7\n"                                 \
	"	movdqu 264(%rdi), %xmm8\n"                                 \
	"	movdqu 280(%rdi), %xmm9\n"                                 \
	"	movdqu 296(%rdi), %xmm10\n"                                \
	"	movdqu 312(%rdi), %xmm11\n"                                \
	"	movdqu 328(%rdi), %xmm12\n"                                \
	"	movdqu 344(%rdi), %xmm13\n"                                \
	"	movdqu 360(%rdi), %xmm14\n"                                \
	"	movdqu 376(%rdi), %xmm15\n" ymm "	pushq 128(%rdi)\n" \
	"	popfq\n"                                                   \
	"	movq 0(%rdi), %rax\n"                                      \
	"	movq 8(%rdi), %rcx\n"                                      \
	"	movq 16(%rdi), %rdx\n"                                     \
	"	movq 24(%rdi), %rbx\n"                                     \
	"	movq 40(%rdi), %rbp\n"                                     \
	"	movq 48(%rdi), %rsi\n"                                     \
	"	movq 64(%rdi), %r8\n"                                      \
	"	movq 72(%rdi), %r9\n"                                      \
	"	movq 80(%rdi), %r10\n"                                     \
	"	movq 88(%rdi), %r11\n"                                     \
	"	movq 96(%rdi), %r12\n"                                     \
	"	movq 104(%rdi), %r13\n"                                    \
	"	movq 112(%rdi), %r14\n"                                    \
	"	movq 120(%rdi), %r15\n"                                    \
	"	movq 32(%rdi), %rsp\n"                                     \
	"	movq 56(%rdi), %rdi\n"

/* The entries into 64-bit code, and into 32-bit compatibility mode: a far jump to __USER32_CS
 * (0x23) with DS and ES loaded with __USER_DS (0x2b); the _avx ones load YMM too. */
// clang-format off
#define DIFF_NATIVE_ENTRIES(sfx, ymm)                                                  \
	".globl diff_native_enter" sfx "\n"                                             \
	".type diff_native_enter" sfx ", @function\n"                                   \
	"diff_native_enter" sfx ":\n"                                                   \
	DIFF_NATIVE_LOAD(ymm)                                                         \
	"	jmp *diff_native_target(%rip)\n"                                          \
	".size diff_native_enter" sfx ", .-diff_native_enter" sfx "\n"                   \
	".globl diff_native_enter32" sfx "\n"                                           \
	".type diff_native_enter32" sfx ", @function\n"                                 \
	"diff_native_enter32" sfx ":\n"                                                 \
	"	movl $0x2b, %eax\n"                                                       \
	"	movl %eax, %ds\n"                                                         \
	"	movl %eax, %es\n"                                                         \
	DIFF_NATIVE_LOAD(ymm)                                                         \
	"	ljmpl *diff_native_far(%rip)\n"                                           \
	".size diff_native_enter32" sfx ", .-diff_native_enter32" sfx "\n"
// clang-format on

__asm__(".text\n" DIFF_NATIVE_ENTRIES("", "") DIFF_NATIVE_ENTRIES("_avx", DIFF_NATIVE_LOAD_YMMH));

static sigjmp_buf diff_native_jb;
static volatile sig_atomic_t diff_native_active;
static struct diff_result *diff_native_out;
static u8 *diff_code_page, *diff_data;
static unsigned diff_prev_len;
static bool diff_avx;	      /* the host has AVX enabled (OSXSAVE, XCR0 bits 1 and 2) */
static unsigned diff_ymm_off; /* where the signal frame's XSAVE area holds YMM_Hi128 */

/* YMM_Hi128 from the signal frame's XSAVE area (Linux: after the 512-byte FXSAVE image, marked
 * by FP_XSTATE_MAGIC1 in its software-reserved bytes); zero when not in use (XSTATE_BV). */
static void diff_native_ymmh(const void *fpregs, u8 out[16][16])
{
	const u8 *x = fpregs;
	u32 magic, size;
	u64 bv;

	memset(out, 0, 256);
	memcpy(&magic, x + 464, 4);
	memcpy(&size, x + 464 + 4, 4);
	if (!diff_avx || magic != 0x46505853u || size < diff_ymm_off + 256)
		return;
	memcpy(&bv, x + 512, 8);
	if (bv & 4)
		memcpy(out, x + diff_ymm_off, 256);
}

static void diff_native_handler(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	struct diff_result *r = diff_native_out;
	static const int map[16] = { REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
				     REG_RSI, REG_RDI, REG_R8,	REG_R9,	 REG_R10, REG_R11,
				     REG_R12, REG_R13, REG_R14, REG_R15 };

	(void)si;
	if (!diff_native_active) {
		signal(sig, SIG_DFL); /* a bug in the harness itself: crash normally */
		return;
	}
	for (unsigned i = 0; i < 16; i++)
		r->gpr[i] = (u64)g[map[i]];
	r->rip = (u64)g[REG_RIP];
	r->rflags = (u64)g[REG_EFL];
	r->trapno = (int)g[REG_TRAPNO];
	r->err = (u64)g[REG_ERR];
	r->cr2 = (u64)g[REG_CR2];
	memcpy(r->xmm, uc->uc_mcontext.fpregs->_xmm, sizeof(r->xmm));
	diff_native_ymmh(uc->uc_mcontext.fpregs, r->ymmh);
	r->fcw = uc->uc_mcontext.fpregs->cwd;
	r->fsw = uc->uc_mcontext.fpregs->swd;
	r->ftw = (u8)uc->uc_mcontext.fpregs->ftw;
	for (unsigned i = 0; i < 8; i++)
		memcpy(r->st[i], &uc->uc_mcontext.fpregs->_st[i], 10);
	diff_native_active = 0;
	siglongjmp(diff_native_jb, 1);
}

/* (Re)install the handlers: cmocka installs its own for SIGSEGV/SIGILL/SIGFPE around each test. */
int diff_native_signals(void)
{
	static u8 altstack[65536];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;
	static const int sigs[] = { SIGTRAP, SIGSEGV, SIGILL, SIGFPE, SIGBUS };

	if (sigaltstack(&ss, NULL) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = diff_native_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	return 0;
}

int diff_native_init(void)
{
	/* The code page is read-only and executable where cases run, writable elsewhere. */
	int fd = memfd_create("bt_diff_code", 0);
	void *x;

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return -1;
	x = mmap((void *)DIFF_CODE, 4096, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED_NOREPLACE,
		 fd, 0);
	diff_code_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (x != (void *)DIFF_CODE || diff_code_page == MAP_FAILED) {
		perror("bt_diff: cannot map the code page");
		return -1;
	}
	diff_data = mmap((void *)DIFF_DATA, DIFF_DATA_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (diff_data != (void *)DIFF_DATA) {
		perror("bt_diff: cannot map the fixed code and data pages");
		return -1;
	}
	memset(diff_code_page, 0xcc, 4096);
	{
		unsigned a, b, c, d;

		diff_avx = (diff_native_features() & DIFF_NEED_AVX) != 0;
		if (diff_avx && __get_cpuid_count(0xd, 2, &a, &b, &c, &d))
			diff_ymm_off = b;
		diff_avx = diff_avx && diff_ymm_off >= 576;
	}
	return 0;
}

/*
 * The case's code is written through diff_code_page and run at DIFF_CODE, another linear
 * address of the same page. The SDM (Vol. 3A, 11.6 "Self-Modifying Code") leaves the
 * processor free to run stale bytes then, unless a serializing instruction comes between the
 * write and the fetch; IRETQ to the next instruction is one that does not leave ring 3 (CPUID
 * would exit to the hypervisor on a virtual machine, 20 times as slow here). Not inlined: its
 * pushes would overwrite a red zone the caller might hold below its stack pointer.
 */
static __attribute__((noinline)) void diff_native_serialize(void)
{
	__asm__ volatile("mov %%ss, %%rax\n\t"
			 "push %%rax\n\t"
			 "lea 8(%%rsp), %%rax\n\t"
			 "push %%rax\n\t"
			 "pushfq\n\t"
			 "mov %%cs, %%rax\n\t"
			 "push %%rax\n\t"
			 "lea 1f(%%rip), %%rax\n\t"
			 "push %%rax\n\t"
			 "iretq\n"
			 "1:"
			 :
			 :
			 : "rax", "memory", "cc");
}

void diff_native_run(const struct diff_case *c, struct diff_result *r)
{
	static struct diff_native_regs regs;

	memset(diff_code_page + DIFF_CODE_OFF, 0xcc, diff_prev_len);
	memcpy(diff_code_page + DIFF_CODE_OFF, c->code, c->code_len);
	diff_prev_len = c->code_len;
	diff_native_serialize();
	memcpy(diff_data, c->data, DIFF_DATA_SIZE);
	memcpy(regs.gpr, c->gpr, sizeof(regs.gpr));
	regs.rflags = c->rflags;
	memcpy(regs.xmm, c->xmm, sizeof(regs.xmm));
	memcpy(regs.ymmh, c->ymmh, sizeof(regs.ymmh));
	memset(regs.fx, 0, sizeof(regs.fx));
	memcpy(regs.fx + 0, &c->fcw, 2);
	memcpy(regs.fx + 2, &c->fsw, 2);
	regs.fx[4] = c->ftw;
	memcpy(regs.fx + 24, &(u32){ 0x1f80 }, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(regs.fx + 32 + 16 * i, c->st[i], 10);
	diff_native_target = DIFF_CODE + DIFF_CODE_OFF;
	diff_native_far = (struct diff_far){ .off = DIFF_CODE + DIFF_CODE_OFF, .sel = 0x23 };
	diff_native_out = r;
	if (sigsetjmp(diff_native_jb, 0) == 0) {
		diff_native_active = 1;
		if (c->compat)
			(diff_avx ? diff_native_enter32_avx : diff_native_enter32)(&regs);
		else
			(diff_avx ? diff_native_enter_avx : diff_native_enter)(&regs);
	}
	/* A case may have loaded MXCSR: put back the default for the next one. */
	__asm__ volatile("ldmxcsr %0" : : "m"((u32){ 0x1f80 }));
	__asm__ volatile("fninit");
	memcpy(r->data, diff_data, DIFF_DATA_SIZE);
}

u64 diff_native_xcr0(void)
{
	unsigned a, b, c, d, lo, hi;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
		return 0;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (u64)hi << 32 | lo;
}

unsigned diff_native_features(void)
{
	unsigned a, b, c, d, have = 0;
	u64 xcr0 = diff_native_xcr0();
	bool avx = (xcr0 & 6) == 6;

	if (__get_cpuid(1, &a, &b, &c, &d)) {
		have |= (c & (1u << 23)) ? DIFF_NEED_POPCNT : 0;
		have |= (c & (1u << 22)) ? DIFF_NEED_MOVBE : 0;
		have |= (c & (1u << 13)) ? DIFF_NEED_CX16 : 0;
		have |= (c & (1u << 0)) ? DIFF_NEED_SSE3 : 0;
		have |= (c & (1u << 9)) ? DIFF_NEED_SSSE3 : 0;
		have |= (c & (1u << 19)) ? DIFF_NEED_SSE41 : 0;
		have |= (c & (1u << 20)) ? DIFF_NEED_SSE42 : 0;
		have |= (c & (1u << 26)) && xcr0 ? DIFF_NEED_XSAVE : 0;
		have |= (c & (1u << 28)) && avx ? DIFF_NEED_AVX : 0;
		have |= (c & (1u << 12)) && avx ? DIFF_NEED_FMA : 0;
		have |= (c & (1u << 29)) && avx ? DIFF_NEED_F16C : 0;
	}
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
		have |= (b & (1u << 3)) ? DIFF_NEED_BMI1 : 0;
		have |= (b & (1u << 8)) ? DIFF_NEED_BMI2 : 0;
		have |= (b & (1u << 5)) && avx ? DIFF_NEED_AVX2 : 0;
	}
	if (xcr0 && __get_cpuid_count(0xd, 1, &a, &b, &c, &d)) {
		have |= (a & 1u) ? DIFF_NEED_XSAVEOPT : 0;
		have |= (a & 2u) ? DIFF_NEED_XSAVEC : 0;
	}
	if (__get_cpuid(0x80000001, &a, &b, &c, &d)) {
		have |= (c & (1u << 5)) ? DIFF_NEED_LZCNT : 0;
		have |= (c & 1u) ? DIFF_NEED_LAHF_LM : 0;
	}
	return have;
}

/*
 * In a child, so that whatever the kernel does to a process whose far jump to __USER32_CS fails
 * (the #GP is normally a SIGSEGV the handler catches) cannot take the test down: an INT3 in
 * 32-bit code must come back as trap 3 just past it.
 */
bool diff_native_compat32(char *why, size_t len)
{
	static struct diff_case c;
	static struct diff_result r;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		snprintf(why, len, "cannot fork the probe: %s", strerror(errno));
		return false;
	}
	if (pid == 0) {
		memset(&c, 0, sizeof(c));
		c.compat = true;
		c.code[0] = 0xcc; /* int3 */
		c.code_len = 1;
		c.fcw = 0x37f;
		c.rflags = 2;
		if (diff_native_signals() < 0)
			_exit(3);
		diff_native_run(&c, &r);
		if (r.trapno == 3 && r.rip == DIFF_CODE + DIFF_CODE_OFF + 1)
			_exit(0);
		fprintf(stderr, "bt_diff: the compat-mode probe got trap %d (error code %#llx)\n",
			r.trapno, (unsigned long long)r.err);
		_exit(r.trapno == 13 || r.trapno == 11 ? 1 : 2); /* #GP or #NP: no such segment */
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(why, len, "cannot wait for the probe: %s", strerror(errno));
			return false;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return true;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
		snprintf(why, len,
			 "the host kernel has no 32-bit compatibility mode (a far jump to "
			 "__USER32_CS faults: IA32 emulation is off)");
	else if (WIFSIGNALED(status))
		snprintf(why, len, "the compat-mode probe died of signal %d", WTERMSIG(status));
	else
		snprintf(why, len, "32-bit code does not run as expected (probe status %d)",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return false;
}
