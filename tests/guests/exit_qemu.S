/* SPDX-License-Identifier: MIT */
/*
 * QEMU's isa-debug-exit convention (debug.exit_code_style "qemu"): a 16-bit write of 0x0115 to
 * the exit port ends the VM with status ((0x115 << 1) | 1) & 0xff = 43, where the default style
 * gives 0x115 & 0xff = 21. Real mode, flat image at 0x7c00.
 */
	.include "guest.inc"

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	PRINT	"writing 0x0115 to the exit port\n"
	mov	$0x0115, %ax
	out	%ax, $DEBUG_EXIT_PORT
1:	hlt
	jmp	1b
