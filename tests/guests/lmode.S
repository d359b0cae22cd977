/* SPDX-License-Identifier: MIT */
/*
 * Real mode -> 32-bit protected mode -> long mode with identity paging (Intel SDM vol. 3A
 * 9.8.5, 4.5). Checks EFER.LMA, a 64-bit register and a memory round trip above 2 MiB (the
 * second 2 MiB page), prints "hello from long mode", exits 0.
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
	mov	$0xc0000080, %ecx		/* IA32_EFER */
	rdmsr
	and	$0x400, %eax			/* LMA */
	CHECK_EQ %eax, $0x400, 0x10
	movabs	$0x1122334455667788, %rbx
	mov	%rbx, 0x200008
	mov	0x200008, %rax
	CHECK_EQ %rax, %rbx, 0x11
	shr	$32, %rax
	CHECK_EQ %eax, $0x11223344, 0x12
	PRINT	"hello from long mode\n"
	EXIT	0

	GUEST_TABLES
