/* SPDX-License-Identifier: MIT */
/*
 * Exit with status 42 through the debug-exit port (after saying so), so the test can tell a
 * guest-chosen status from a VMM error. Real mode, flat image at 0x7c00.
 */
	.include "guest.inc"

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	PRINT	"exiting with status 42\n"
	EXIT	42
