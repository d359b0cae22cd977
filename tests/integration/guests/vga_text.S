/* SPDX-License-Identifier: MIT */
/*
 * The display tests' text guest: the board left the VGA in 80x25 text mode (no firmware), so
 * the guest writes a line into the screen at 0xB8000 (row 2, white on blue), moves the
 * cursor behind it, prints "ready" on COM1 and waits.
 */
#include "lifecycle.inc"
	LC_START
	mov $0xb800, %ax
	mov %ax, %es
	mov $text, %si
	mov $(2 * 160), %di
	mov $0x1f, %ah
1:	lodsb
	test %al, %al
	jz 2f
	stosw
	jmp 1b
2:	mov $0x3d4, %dx		/* cursor at row 2, column 17 */
	mov $0x0e, %al
	out %al, %dx
	inc %dx
	mov $0, %al
	out %al, %dx
	dec %dx
	mov $0x0f, %al
	out %al, %dx
	inc %dx
	mov $(2 * 80 + 17), %al
	out %al, %dx
	PUTS "ready\n"
3:	hlt
	jmp 3b
	.section .rodata
text:	.asciz "VMM-VGA-TEXT \x01 ok"
