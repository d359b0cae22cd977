/* SPDX-License-Identifier: MIT */
/*
 * fw_cfg without firmware (debug.fw_cfg), as bare-metal test suites read it under QEMU: in real
 * mode, selector 0000h (signature) reads "QEMU", 0001h (ID) has bit 0 (the traditional
 * interface), 0005h (NB_CPUS) is 2 and 0003h (RAM_SIZE) is 16 MiB, a byte at a time from the
 * data port 0x511 after a 16-bit write of the selector to 0x510. Exits 0.
 */
	.include "guest.inc"

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	mov	$0x0000, %ax			/* signature */
	call	fw_read4
	CHECK_EQ %ebx, $0x554d4551, 0x10	/* "QEMU", little endian */
	mov	$0x0001, %ax			/* ID */
	call	fw_read4
	and	$1, %ebx
	CHECK_EQ %ebx, $1, 0x11
	mov	$0x0005, %ax			/* NB_CPUS */
	call	fw_read4
	and	$0xffff, %ebx
	CHECK_EQ %ebx, $2, 0x12
	mov	$0x0003, %ax			/* RAM_SIZE, low 32 bits */
	call	fw_read4
	CHECK_EQ %ebx, $0x1000000, 0x13
	PRINT	"fw_cfg ok\n"
	EXIT	0

/* Select item %ax, read its first four bytes into %ebx (first byte lowest). */
fw_read4:
	mov	$0x510, %dx
	out	%ax, %dx
	mov	$0x511, %dx
	xor	%ebx, %ebx
	mov	$4, %cx
1:
	in	%dx, %al
	shl	$8, %ebx
	mov	%al, %bl
	loop	1b
	bswap	%ebx
	ret

	GUEST_TABLES
