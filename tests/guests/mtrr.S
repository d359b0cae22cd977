/* SPDX-License-Identifier: MIT */
/*
 * A boot without firmware finds the MTRRs as firmware leaves them (boot_cpu_mtrrs, SDM vol. 3A
 * 12.11): MTRRdefType enabled with fixed ranges and default write-back; the fixed ranges
 * write-back below 640 KiB, uncachable over the VGA window, write-protected over C0000-FFFFF;
 * variable pair 0 makes the pc machine's PCI hole 0xC0000000-4 GiB uncachable with a mask of
 * the CPU's own physical address width (CPUID 8000_0008h), pair 1 unused. Exits 0.
 */
	.include "guest.inc"

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
	mov	$0x2ff, %ecx			/* MTRRdefType: E, FE, type WB */
	rdmsr
	CHECK_EQ %eax, $0xc06, 0x10
	mov	$0x250, %ecx			/* FIX64K_00000: WB */
	rdmsr
	CHECK_EQ %eax, $0x06060606, 0x11
	CHECK_EQ %edx, $0x06060606, 0x12
	mov	$0x258, %ecx			/* FIX16K_80000: WB */
	rdmsr
	CHECK_EQ %edx, $0x06060606, 0x13
	mov	$0x259, %ecx			/* FIX16K_A0000: UC */
	rdmsr
	or	%edx, %eax
	CHECK_EQ %eax, $0, 0x14
	mov	$0x268, %ecx			/* FIX4K_C0000 and FIX4K_F8000: WP */
	rdmsr
	CHECK_EQ %eax, $0x05050505, 0x15
	mov	$0x26f, %ecx
	rdmsr
	CHECK_EQ %edx, $0x05050505, 0x16
	mov	$0x200, %ecx			/* PhysBase0: 0xC0000000, UC */
	rdmsr
	CHECK_EQ %eax, $0xc0000000, 0x17
	CHECK_EQ %edx, $0, 0x18
	mov	$0x80000008, %eax		/* the mask: bits 30 to MAXPHYADDR-1, valid */
	cpuid
	movzbl	%al, %ecx
	mov	$1, %rbx
	shl	%cl, %rbx
	dec	%rbx
	and	$-0x40000000, %rbx
	or	$0x800, %rbx
	mov	$0x201, %ecx			/* PhysMask0 */
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	CHECK_EQ %rax, %rbx, 0x19
	mov	$0x203, %ecx			/* PhysMask1: not valid */
	rdmsr
	and	$0x800, %eax
	CHECK_EQ %eax, $0, 0x1a
	PRINT	"MTRRs as firmware leaves them\n"
	EXIT	0

	GUEST_TABLES
