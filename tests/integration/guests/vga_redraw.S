/* SPDX-License-Identifier: MIT */
/*
 * The display tests' redrawing guest. The set-up of vga_vbe.inc (640x480 at 32 bpp, linear
 * framebuffer at 0xE0000000), then in 32-bit protected mode it draws frame after frame, for
 * ever, top to bottom, in pixel order: frame k (1, 2, ...) paints every pixel of row y with
 * k & 0xffff in red and green (red the high byte) and y & 0xff in blue. Before it paints a
 * pixel (from frame 2 on) it checks that the pixel holds frame k - 1; one that does not is a
 * lost write: it prints "STALE" and stops. After the first frame it prints "drawn", after
 * every 16th an "f". So a screen at any instant holds, in pixel order, frame k up to some
 * pixel and frame k - 1 after it.
 */
#include "lifecycle.inc"
	LC_START
#include "vga_vbe.inc"

pm32:	mov $1, %esi			/* k */
1:	mov $0xe0000000, %edi
	xor %edx, %edx			/* y */
2:	lea -1(%esi), %ebx		/* what the row holds: frame k - 1 */
	and $0xffff, %ebx
	shl $8, %ebx
	mov %dl, %bl
	mov %esi, %eax			/* what it gets: frame k */
	and $0xffff, %eax
	shl $8, %eax
	mov %dl, %al
	mov $640, %ecx
3:	cmp $1, %esi
	je 4f
	cmp %ebx, (%edi)
	jne stale
4:	stosl
	loop 3b
	inc %edx
	cmp $480, %edx
	jne 2b
	mov $drawn, %ebx
	cmp $1, %esi
	je 5f
	mov $fmark, %ebx
	test $15, %esi
	jnz 6f
5:	call puts32
6:	inc %esi
	jmp 1b

stale:	mov $stalemsg, %ebx
	call puts32
7:	cli
	hlt
	jmp 7b

/* The string at EBX on COM1. */
puts32:	mov (%ebx), %al
	test %al, %al
	jz 8f
	call putc32
	inc %ebx
	jmp puts32
8:	ret

	.section .rodata
drawn:	.asciz "drawn\n"
fmark:	.asciz "f"
stalemsg: .asciz "STALE\n"
