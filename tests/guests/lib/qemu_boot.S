/* SPDX-License-Identifier: MIT */
/*
 * A 512-byte boot sector that lets QEMU (with SeaBIOS) run a tiny guest image, for cross-checking
 * a guest's expectations against another implementation (tests/guests/qemu_run.sh). The disk is
 * this sector followed by the image. The BIOS loads the sector at 0x7c00; it moves itself to
 * 0x600, reads 127 sectors (the image, up to 63.5 KiB) to 0x20000 with INT 13h AH=42h, copies
 * them to 0x7c00 and jumps there with CS = DS = ES = 0, as `vmm run` starts a flat image.
 * References: BIOS Enhanced Disk Drive Specification 3.0 (INT 13h AH=42h, disk address packet).
 */
	.code16
	.globl	_start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x600, %sp
	mov	$0x7c00, %si
	mov	$0x600, %di
	mov	$512, %cx
	rep movsb
	ljmp	$0, $(0x600 + (1f - _start))
1:	mov	$(0x600 + (dap - _start)), %si	/* DL = boot drive, from the BIOS */
	mov	$0x42, %ah
	int	$0x13
	jc	2f
	mov	$0x2000, %ax
	mov	%ax, %ds
	mov	$0x07c0, %ax
	mov	%ax, %es
	xor	%si, %si
	xor	%di, %di
	mov	$0xfe00, %cx
	rep movsb
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	ljmp	$0, $0x7c00
2:	mov	$0x3f8, %dx
	mov	$'E', %al
	out	%al, %dx
	hlt
	.p2align 2
dap:	.byte	16, 0
	.word	127				/* sectors */
	.word	0, 0x2000			/* buffer 0x2000:0000 */
	.quad	1				/* from LBA 1 */
	.org	510
	.byte	0x55, 0xaa
