/* SPDX-License-Identifier: MIT */
/*
 * Real mode -> 32-bit protected mode with flat 4 GiB segments (Intel SDM vol. 3A 9.9.1),
 * check that CR0.PE is set and that memory above 1 MiB is reachable (no A20 games: the VMM
 * has no A20 gate), print "hello from protected mode", exit 0.
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
	mov	%cr0, %eax
	and	$1, %eax
	CHECK_EQ %eax, $1, 0x10
	movl	$0x12345678, 0x100000
	movl	$0, 0x000000			/* would alias 1 MiB with A20 masked */
	mov	0x100000, %eax
	CHECK_EQ %eax, $0x12345678, 0x11
	PRINT	"hello from protected mode\n"
	EXIT	0

	GUEST_TABLES
