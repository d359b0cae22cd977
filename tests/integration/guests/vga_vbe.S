/* SPDX-License-Identifier: MIT */
/*
 * The display tests' VBE guest. In real mode: find the stdvga function (1234:1111) on PCI
 * bus 0, put its framebuffer BAR at 0xE0000000 and its MMIO BAR at 0xE1000000, print the
 * dispi video memory size ("vram=NNNN" in 64 KiB units), set 640x480 at 32 bpp with the
 * linear framebuffer and unblank. Then in 32-bit protected mode (flat segments): draw a
 * pattern (pixel = x | y << 8 | (x ^ y) << 16, as bytes B, G, R), print "drawn", enable the
 * mouse (0xA8, 0xD4 0xF4) and echo every byte the i8042 delivers as two hex digits, with an
 * 'm' before the mouse's, a space after each.
 */
#include "lifecycle.inc"
	LC_START
	LC_FIND_STDVGA
	or $0x80000000, %ebx
	lea 0x10(%ebx), %eax		/* BAR0 */
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0xe0000000, %eax
	mov $0xcfc, %dx
	outl %eax, %dx
	lea 0x18(%ebx), %eax		/* BAR2 */
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0xe1000000, %eax
	mov $0xcfc, %dx
	outl %eax, %dx
	lea 0x04(%ebx), %eax		/* command: I/O and memory */
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0x0003, %ax
	mov $0xcfc, %dx
	outw %ax, %dx
	mov $0x0a, %ax			/* VIDEO_MEMORY_64K */
	mov $0x1ce, %dx
	outw %ax, %dx
	mov $0x1cf, %dx
	inw %dx, %ax
	mov %ax, %bp
	PUTS "vram="
	mov %bp, %ax
	xchg %al, %ah
	call hex8
	mov %bp, %ax
	call hex8
	PUTS "\n"
	mov $dispi, %si
3:	lodsw				/* index, value pairs up to index 0xffff */
	cmp $0xffff, %ax
	je 4f
	mov $0x1ce, %dx
	outw %ax, %dx
	lodsw
	mov $0x1cf, %dx
	outw %ax, %dx
	jmp 3b
4:	mov $0x3da, %dx			/* unblank: palette address source */
	inb %dx, %al
	mov $0x3c0, %dx
	mov $0x20, %al
	outb %al, %dx
	lgdt gdtr
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmp $0x08, $pm32

/* AL as two hex digits on COM1 (real mode). */
hex8:	push %ax
	shr $4, %al
	call hexd
	pop %ax
hexd:	and $0x0f, %al
	add $'0', %al
	cmp $'9', %al
	jbe 1f
	add $7, %al
1:	mov %al, %bl
	mov $0x3fd, %dx
2:	in %dx, %al
	test $0x20, %al
	jz 2b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	ret

	.code32
/* The byte in AL to COM1 (protected mode). */
putc32:	push %edx
	push %eax
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	pop %eax
	mov $0x3f8, %dx
	out %al, %dx
	pop %edx
	ret
hexd32:	and $0x0f, %al
	add $'0', %al
	cmp $'9', %al
	jbe 1f
	add $7, %al
1:	jmp putc32

pm32:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %esp
	mov $0xe0000000, %edi
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
	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff		/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff		/* 0x10: flat data */
gdtr:	.word 23
	.long gdt
dispi:	.word 4, 0			/* ENABLE off */
	.word 3, 32			/* BPP */
	.word 1, 640			/* XRES */
	.word 2, 480			/* YRES */
	.word 6, 640			/* VIRT_WIDTH */
	.word 8, 0, 9, 0		/* X/Y offset */
	.word 4, 0x41			/* ENABLE | LFB */
	.word 0xffff
drawn:	.asciz "drawn\n"
