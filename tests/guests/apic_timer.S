/* SPDX-License-Identifier: MIT */
/*
 * The local APIC timer, in long mode (xAPIC MMIO at 0xfee00000), timed against the ACPI PM
 * timer (3.579545 MHz, port 0x608 on this board and on QEMU's PIIX4; only its low 24 bits are
 * used, so a 24- or 32-bit counter both work):
 *  - IA32_APIC_BASE (enabled, BSP, base 0xfee00000), the version register, the APIC ID;
 *  - SVR software enable with spurious vector 0xff, read back; LVT timer and divide
 *    configuration read back;
 *  - the timer rate at divide 16 and at divide 1 over 10 ms of PM time: both count, and their
 *    ratio is 16 within loose bounds (8..32);
 *  - one-shot: one interrupt after ~2 ms, none in the next 10 ms, current count 0 after it;
 *    the handler sees the vector's ISR bit set before EOI and clear after;
 *  - periodic at ~4 ms: 12..50 interrupts in 100 ms (25 expected; loose for loaded hosts; 3..50
 *    under KVM, where PVM's slow exits lose ticks);
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
	mov	%eax, APIC_TMICT(%r15)
	mov	$(100 * PM_1MS), %edi
	call	wait_ticks_1
	CHECK_EQQ ticks, $1, 0x1d
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
	mov	$12, %ebx			/* PVM KVM loses ticks to slow exits: 3 there */
	mov	$3, %ecx
	call	sys_is_kvm
	cmove	%ecx, %ebx
	cmp	%rbx, %rax
	jae	1f
	FAIL	0x22
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
	 * measure: the least of three measure_once (the exits around the PM reads add time that
	 * varies on a loaded host). RBX = counts, EAX = 0 if all counted, else 1.
	 */
measure:
	push	%rsi
	push	%rbp
	mov	$-1, %rsi
	mov	$3, %ebp
1:	call	measure_once
	test	%eax, %eax
	jnz	2f
	cmp	%rsi, %rbx
	cmovb	%rbx, %rsi
	dec	%ebp
	jnz	1b
	mov	%rsi, %rbx
2:	pop	%rbp
	pop	%rsi
	ret

	/*
	 * measure_once: masked one-shot from 0xffffffff for 10 ms of PM time. RBX = counts,
	 * EAX = 0 if it counted without reaching 0, else 1.
	 */
measure_once:
	APIC_W	APIC_LVT_TIMER, $(LVT_MASKED | VEC_TIMER)
	APIC_W	APIC_TMICT, $0xffffffff
	mov	$PM_10MS, %edi
	call	pm_wait
	APIC_R	APIC_TMCCT, %ebx
	APIC_W	APIC_TMICT, $0
	mov	$1, %eax
	test	%ebx, %ebx
	jz	1f
	cmp	$0xffffffff, %ebx
	je	1f
	xor	%eax, %eax
	not	%ebx				/* 0xffffffff - current */
1:	ret

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
	incq	ticks
	mov	APIC_ISR + 0x20(%r15), %eax	/* ISR bits 64..95: vector 0x40 is bit 0 */
	and	$1, %eax
	mov	%rax, isr_in_handler
	movl	$0, APIC_EOI(%r15)
	mov	APIC_ISR + 0x20(%r15), %eax
	and	$1, %eax
	mov	%rax, isr_after_eoi
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

	GUEST_TABLES
	SYS64_TABLES
