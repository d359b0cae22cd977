/* SPDX-License-Identifier: MIT */
/*
 * A 64 KiB firmware image for the spec-effects test of boot.firmware (tests/specs/effects.py).
 * The loader maps it to end at 4 GiB and copies it below 1 MiB (0xF0000-0xFFFFF); the CPU
 * starts at its last 16 bytes (0xFFFFFFF0, Intel SDM vol. 3A 9.1.4), where a far jump enters
 * the low copy at F000:0000. The program prints a line on COM1 and writes exit status 0 to
 * the debug-exit port 0xf4.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	xor %ax, %ax
	mov %ax, %ss
	mov $0x7000, %sp
	mov $msg, %si
1:	lodsb
	test %al, %al
	jz 3f
	mov %al, %bl
	mov $0x3fd, %dx
2:	in %dx, %al
	test $0x20, %al
	jz 2b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	jmp 1b
3:	mov $0xf4, %dx
	xor %al, %al
	out %al, %dx
4:	hlt
	jmp 4b
msg:
	.asciz "firmware started at the reset vector\n"

	.org 0xfff0
	ljmp $0xf000, $_start
	.org 0x10000
