/* SPDX-License-Identifier: MIT */
/*
 * Real mode only: print "hello from real mode" through the UART, then exit 0 via the
 * debug-exit port. Flat image at 0x7c00 (lib/guest.ld), started in real mode with IP at the
 * load address (Intel SDM vol. 3A 20.1, real-address mode).
 */
	.include "guest.inc"

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	PRINT	"hello from real mode\n"
	EXIT	0
