/* SPDX-License-Identifier: MIT */
/*
 * The display tests' VBE guest. The set-up of vga_vbe.inc (640x480 at 32 bpp, linear
 * framebuffer at 0xE0000000), then in 32-bit protected mode: draw a pattern (pixel = x | y <<
 * 8 | (x ^ y) << 16, as bytes B, G, R), print "drawn", enable the mouse (0xA8, 0xD4 0xF4) and
 * echo every byte the i8042 delivers as two hex digits, with an 'm' before the mouse's, a space
 * after each.
 */
#include "lifecycle.inc"
	LC_START
#include "vga_vbe.inc"

pm32:	mov $0xe0000000, %edi
	xor %ecx, %ecx			/* y */
5:	xor %ebx, %ebx			/* x */
6:	mov %ebx, %eax
	xor %ecx, %eax
	and $0xff, %eax
	shl $16, %eax			/* red: (x ^ y) & 0xff */
	mov %cl, %ah			/* green: y */
	mov %bl, %al			/* blue: x */
	stosl
	inc %ebx
	cmp $640, %ebx
	jne 6b
	inc %ecx
	cmp $480, %ecx
	jne 5b
	mov $drawn, %esi
7:	lodsb
	test %al, %al
	jz 8f
	call putc32
	jmp 7b
8:	mov $0xa8, %al			/* enable the aux port, then the mouse's reporting */
	out %al, $0x64
	mov $0xd4, %al
	out %al, $0x64
	mov $0xf4, %al
	out %al, $0x60
10:	in $0x64, %al			/* echo whatever arrives */
	test $1, %al
	jz 10b
	mov %al, %bl
	in $0x60, %al
	mov %al, %bh
	test $0x20, %bl
	jz 11f
	mov $'m', %al
	call putc32
11:	mov %bh, %al
	shr $4, %al
	call hexd32
	mov %bh, %al
	call hexd32
	mov $' ', %al
	call putc32
	jmp 10b

	.section .rodata
drawn:	.asciz "drawn\n"
