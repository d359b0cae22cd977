/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer, in long mode (xAPIC MMIO at 0xfee00000), timed against the ACPI PM
 * timer (3.579545 MHz, port 0x608 on this board and on QEMU's PIIX4; only its low 24 bits are
 * used, so a 24- or 32-bit counter both work):
 *  - IA32_APIC_BASE (enabled, BSP, base 0xfee00000), the version register, the APIC ID;
 *  - SVR software enable with spurious vector 0xff, read back; LVT timer and divide
 *    configuration read back;
 *  - the timer rate at divide 16 and at divide 1 over ~10 ms of PM time (each current-count
 *    read bracketed by PM reads): both count, and their ratio is 16 within 8..32;
 *  - one-shot: one interrupt after ~2 ms (not before 1.5 ms, not after 50 ms; the delay is
 *    printed), none in the next 10 ms, current count 0 after it; the handler sees the vector's
 *    ISR bit set before EOI and clear after;
 *  - periodic at ~4 ms for 100 ms: 3..50 interrupts (25 expected: a host that deschedules the
 *    vCPU merges late ticks, which is legal), and no tick early: n ticks span >= (n-1) * 3 ms;
 *  - masked: no interrupt while the current count still runs down;
 *  - TSC-deadline mode, if CPUID.1:ECX[24] says so: one interrupt after ~2 ms of TSC;
 *  - a software-disabled APIC (SVR bit 8 clear) keeps the LVT timer masked (QEMU TCG lets the
 *    mask be cleared; KVM and the SDM do not).
 * Under KVM (the PVM flavour here) the ISR check is skipped: PVM shows ISR 0 in the handler.
 * Prints "apic timer ok", exits 0; a failed check exits with its code (0x10 and up).
 * References: Intel SDM vol. 3A 10.4.4 (IA32_APIC_BASE), 10.4.7.2 (software disable, LVT
 * masks), 10.4.8 (version register), 10.5.1 (LVT), 10.5.4 (timer: divide configuration,
 * initial and current count, one-shot, periodic), 10.5.4.1 (TSC-deadline mode), 10.8.4-5
 * (ISR, EOI), 10.9 (spurious vector); ACPI 6.4 4.8.3.3 (PM timer).
 */
	.include "guest.inc"
	.include "sys64.inc"

	.set LAPIC, 0xfee00000
	.set APIC_ID, 0x20
	.set APIC_VER, 0x30
	.set APIC_TPR, 0x80
	.set APIC_EOI, 0xb0
	.set APIC_SVR, 0xf0
	.set APIC_ISR, 0x100
	.set APIC_LVT_TIMER, 0x320
	.set APIC_TMICT, 0x380
	.set APIC_TMCCT, 0x390
	.set APIC_TDCR, 0x3e0
	.set LVT_MASKED, 0x10000
	.set LVT_PERIODIC, 0x20000
	.set LVT_TSC_DEADLINE, 0x40000
	.set VEC_TIMER, 0x40
	.set VEC_SPURIOUS, 0xff
	.set PM_TMR, 0x608
	.set PM_10MS, 35795
	.set PM_1MS, 3580
	.set PM_SAMPLE_MAX, 1790		/* 0.5 ms */

/* R15 = LAPIC throughout (a 32-bit absolute address above 2 GiB is no disp32 in 64-bit mode) */
.macro APIC_W reg, value
	movl	\value, \reg(%r15)
.endm

.macro APIC_R reg, dst
	mov	\reg(%r15), \dst
.endm

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
pm32:
	ENTER_LMODE64 lm64

	.code64
lm64:
	SYS64_SETUP
	mov	$0xff, %al			/* mask the 8259s (a BIOS may have left IRQ0 on) */
	out	%al, $0x21
	out	%al, $0xa1
	mov	$LAPIC, %r15d
	SYS64_GATE $VEC_TIMER, $timer, $GATE_INTR
	SYS64_GATE $VEC_SPURIOUS, $spurious, $GATE_INTR

	/* IA32_APIC_BASE: enabled (bit 11), BSP (bit 8), base 0xfee00000 */
	mov	$0x1b, %ecx
	rdmsr
	mov	%eax, %ebx
	and	$0x900, %ebx
	CHECK_EQ %ebx, $0x900, 0x10
	and	$0xfffff000, %eax
	CHECK_EQ %eax, $LAPIC, 0x11
	/* version: an integrated APIC (0x1X), at least the timer LVT (max LVT >= 3) */
	APIC_R	APIC_VER, %eax
	mov	%eax, %ebx
	and	$0xf0, %ebx
	CHECK_EQ %ebx, $0x10, 0x12
	shr	$16, %eax
	and	$0xff, %eax
	cmp	$3, %eax
	jae	1f
	FAIL	0x13
1:	APIC_R	APIC_ID, %eax
	shr	$24, %eax
	CHECK_EQ %eax, $0, 0x14

	/* SVR: enable, spurious vector 0xff; TPR 0; timer masked; divide by 16 */
	APIC_W	APIC_SVR, $(0x100 | VEC_SPURIOUS)
	APIC_R	APIC_SVR, %eax
	and	$0x1ff, %eax
	CHECK_EQ %eax, $(0x100 | VEC_SPURIOUS), 0x15
	APIC_W	APIC_TPR, $0
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | VEC_TIMER)
	APIC_R	APIC_LVT_TIMER, %eax
	and	$0x700ff, %eax
	CHECK_EQ %eax, $(LVT_MASKED | VEC_TIMER), 0x16
	APIC_W	APIC_TDCR, $0x3
	APIC_R	APIC_TDCR, %eax
	and	$0xb, %eax
	CHECK_EQ %eax, $0x3, 0x17

	/* rate at divide 16, then at divide 1: counts per 10 ms of PM time */
	call	measure
	CHECK_EQ %eax, $0, 0x18			/* it counted (and did not wrap) */
	mov	%rbx, rate16
	APIC_W	APIC_TDCR, $0xb
	call	measure
	CHECK_EQ %eax, $0, 0x19
	mov	%rbx, rate1
	APIC_W	APIC_TDCR, $0x3
	PRINT	"counts in 10 ms at divide 16: "
	mov	rate16, %rax
	mov	$8, %ecx
	call	sys_print_hex
	PRINT	", at divide 1: "
	mov	rate1, %rax
	mov	$8, %ecx
	call	sys_print_hex
	PRINT	"\n"
	mov	rate1, %rax
	xor	%edx, %edx
	mov	rate16, %rbx
	cmp	$100, %rbx			/* at least 10 kHz at divide 16 */
	jae	1f
	FAIL	0x1a
1:	div	%rbx
	cmp	$8, %rax
	jae	1f
	FAIL	0x1b
1:	cmp	$32, %rax
	jbe	1f
	FAIL	0x1c
1:	mov	rate16, %rax			/* counts per ms at divide 16 */
	xor	%edx, %edx
	mov	$10, %ebx
	div	%rbx
	mov	%rax, per_ms

	/* one-shot, ~2 ms */
	movq	$0, ticks
	sti
	APIC_W	APIC_LVT_TIMER, $VEC_TIMER
	mov	per_ms, %rax
	add	%eax, %eax
	mov	%eax, %ebx
	mov	$PM_TMR, %dx
	in	%dx, %eax
	mov	%rax, arm_pm
	mov	%ebx, APIC_TMICT(%r15)
	mov	$(100 * PM_1MS), %edi
	call	wait_ticks_1
	CHECK_EQQ ticks, $1, 0x1d
	PRINT	"one-shot of 2 ms fired after (PM ticks, 3580 a ms): "
	mov	first_pm, %rax
	sub	arm_pm, %rax
	and	$0xffffff, %eax
	mov	$6, %ecx
	call	sys_print_hex
	PRINT	"\n"
	mov	first_pm, %rax			/* not early: >= 1.5 of the 2 ms */
	sub	arm_pm, %rax
	and	$0xffffff, %eax
	cmp	$(3 * PM_1MS / 2), %eax
	jae	1f
	FAIL	0x2b
1:	cmp	$(50 * PM_1MS), %eax		/* nor very late (loose: loaded hosts) */
	jbe	1f
	FAIL	0x2d
1:
	mov	$PM_10MS, %edi
	call	pm_wait
	CHECK_EQQ ticks, $1, 0x1e
	APIC_R	APIC_TMCCT, %eax
	CHECK_EQ %eax, $0, 0x1f
	SKIP_ON_KVM isr_done, "ISR check skipped under KVM (PVM shows ISR 0 in the handler)\n"
	CHECK_EQQ isr_in_handler, $1, 0x20
	CHECK_EQQ isr_after_eoi, $0, 0x21
isr_done:

	/* periodic, ~4 ms, for 100 ms of PM time (QEMU TCG and PVM lose ticks at 1 ms) */
	movq	$0, ticks
	APIC_W	APIC_LVT_TIMER, $(LVT_PERIODIC | VEC_TIMER)
	mov	per_ms, %rax
	shl	$2, %eax
	mov	%eax, APIC_TMICT(%r15)
	mov	$(100 * PM_1MS), %edi
	call	pm_wait
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | LVT_PERIODIC | VEC_TIMER)
	PRINT	"periodic ticks in 100 ms: "
	mov	ticks, %rax
	mov	%rax, periodic_ticks
	mov	$4, %ecx
	call	sys_print_hex
	PRINT	"\n"
	mov	periodic_ticks, %rax
	cmp	$3, %rax			/* it repeats (a late tick may merge with the next) */
	jae	1f
	FAIL	0x22
1:	dec	%rax				/* not early: ticks 1..n span >= (n - 1) * 3 ms */
	imul	$(3 * PM_1MS), %rax
	mov	last_pm, %rbx
	sub	first_pm, %rbx
	and	$0xffffff, %ebx
	cmp	%rax, %rbx
	jae	1f
	FAIL	0x2c
1:	mov	periodic_ticks, %rax
1:	cmp	$50, %rax
	jbe	1f
	FAIL	0x23
1:	APIC_R	APIC_TMCCT, %eax		/* periodic reloads: never above the initial count */
	mov	per_ms, %rbx
	shl	$2, %rbx
	cmp	%rbx, %rax
	jbe	1f
	FAIL	0x24

	/* masked one-shot: the count runs down, no interrupt */
1:	APIC_W	APIC_TMICT, $0
	movq	$0, ticks
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | VEC_TIMER)
	mov	per_ms, %rax
	mov	%eax, APIC_TMICT(%r15)
	mov	$(5 * PM_1MS), %edi
	call	pm_wait
	CHECK_EQQ ticks, $0, 0x25
	APIC_R	APIC_TMCCT, %eax
	CHECK_EQ %eax, $0, 0x26
	APIC_W	APIC_TMICT, $0

	/* TSC-deadline, if advertised */
	mov	$1, %eax
	cpuid
	bt	$24, %ecx
	jc	1f
	PRINT	"no TSC-deadline mode: not checked\n"
	jmp	tsc_done
1:	call	tsc_per_ms
	mov	%rax, %rbx
	movq	$0, ticks
	APIC_W	APIC_LVT_TIMER, $(LVT_TSC_DEADLINE | VEC_TIMER)
	mfence
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	lea	(%rax, %rbx, 2), %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	mov	$0x6e0, %ecx			/* IA32_TSC_DEADLINE */
	wrmsr
	mov	$(100 * PM_1MS), %edi
	call	wait_ticks_1
	CHECK_EQQ ticks, $1, 0x27
	mov	$(5 * PM_1MS), %edi
	call	pm_wait
	CHECK_EQQ ticks, $1, 0x28
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | VEC_TIMER)
	PRINT	"TSC-deadline ok\n"
tsc_done:
	cli

	/* software disable: the LVT timer stays masked */
	APIC_W	APIC_SVR, $VEC_SPURIOUS
	APIC_W	APIC_LVT_TIMER, $VEC_TIMER
	APIC_R	APIC_LVT_TIMER, %eax
	and	$LVT_MASKED, %eax
	CHECK_EQ %eax, $LVT_MASKED, 0x29
	CHECK_EQQ spurious_hits, $0, 0x2a

	PRINT	"apic timer ok\n"
	EXIT	0

	/*
	 * sample: RBX = TMCCT and ECX = the PM time it was read at: the read sits between two PM
	 * reads, retried (up to 100 times) while they are more than PM_SAMPLE_MAX apart (a slow
	 * exit or a descheduled vCPU in between).
	 */
sample:
	push	%rdx
	push	%rax
	push	%rsi
	push	%rdi
	mov	$PM_TMR, %dx
	mov	$100, %edi
1:	in	%dx, %eax
	mov	%eax, %esi
	mov	APIC_TMCCT(%r15), %ebx
	in	%dx, %eax
	sub	%esi, %eax
	and	$0xffffff, %eax
	dec	%edi
	jz	2f
	cmp	$PM_SAMPLE_MAX, %eax
	ja	1b
2:	shr	%eax
	add	%esi, %eax
	mov	%eax, %ecx
	pop	%rdi
	pop	%rsi
	pop	%rax
	pop	%rdx
	ret

	/*
	 * measure: the timer's counts per 10 ms of PM time (RBX), from a masked one-shot at
	 * 0xffffffff sampled twice ~10 ms apart; EAX = 0 if it counted without reaching 0.
	 */
measure:
	push	%r8
	push	%r9
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | VEC_TIMER)
	APIC_W	APIC_TMICT, $0xffffffff
	call	sample
	mov	%ebx, %r8d
	mov	%ecx, %r9d
	mov	$PM_10MS, %edi
	call	pm_wait
	call	sample
	APIC_W	APIC_TMICT, $0
	mov	$1, %eax
	test	%ebx, %ebx
	jz	1f
	sub	%ebx, %r8d			/* counts */
	jz	1f
	sub	%r9d, %ecx			/* PM ticks */
	and	$0xffffff, %ecx
	jz	1f
	mov	%r8, %rax
	mov	$PM_10MS, %edx
	mul	%rdx
	div	%rcx
	mov	%rax, %rbx
	xor	%eax, %eax
1:	pop	%r9
	pop	%r8
	ret

	/* pm_wait(EDI = PM ticks): busy-wait, interrupts as they are */
pm_wait:
	push	%rdx
	push	%rcx
	push	%rax
	mov	$PM_TMR, %dx
	in	%dx, %eax
	mov	%eax, %ecx
1:	in	%dx, %eax
	sub	%ecx, %eax
	and	$0xffffff, %eax
	cmp	%edi, %eax
	jb	1b
	pop	%rax
	pop	%rcx
	pop	%rdx
	ret

	/* wait_ticks_1(EDI = PM ticks): until ticks >= 1 or the time is up */
wait_ticks_1:
	mov	$PM_TMR, %dx
	in	%dx, %eax
	mov	%eax, %ecx
1:	cmpq	$0, ticks
	jne	2f
	in	%dx, %eax
	sub	%ecx, %eax
	and	$0xffffff, %eax
	cmp	%edi, %eax
	jb	1b
2:	ret

	/* tsc_per_ms: RAX = TSC ticks per ms, over 10 ms of PM time */
tsc_per_ms:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %rsi
	mov	$PM_10MS, %edi
	call	pm_wait
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%rsi, %rax
	xor	%edx, %edx
	mov	$10, %ecx
	div	%rcx
	ret

timer:
	push	%rax
	push	%rdx
	mov	$PM_TMR, %dx
	in	%dx, %eax
	mov	%rax, last_pm
	incq	ticks
	cmpq	$1, ticks
	jne	1f
	mov	%rax, first_pm
1:	mov	APIC_ISR + 0x20(%r15), %eax	/* ISR bits 64..95: vector 0x40 is bit 0 */
	and	$1, %eax
	mov	%rax, isr_in_handler
	movl	$0, APIC_EOI(%r15)
	mov	APIC_ISR + 0x20(%r15), %eax
	and	$1, %eax
	mov	%rax, isr_after_eoi
	pop	%rdx
	pop	%rax
	iretq

spurious:				/* no EOI for the spurious vector */
	incq	spurious_hits
	iretq

	.section .data
	.p2align 3
ticks:		.quad	0
periodic_ticks:	.quad	0
spurious_hits:	.quad	0
isr_in_handler:	.quad	0
isr_after_eoi:	.quad	0
rate16:		.quad	0
rate1:		.quad	0
per_ms:		.quad	0
first_pm:	.quad	0
last_pm:	.quad	0
arm_pm:		.quad	0

	GUEST_TABLES
	SYS64_TABLES
