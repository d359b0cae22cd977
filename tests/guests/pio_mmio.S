/* SPDX-License-Identifier: MIT */
/*
 * Round trips to the test device (src/devices/testdev.h) at every access size, in long mode
 * so that 8-byte MMIO accesses are plain MOVs: PIO window at TESTDEV_PIO (1, 2, 4 bytes),
 * MMIO window at TESTDEV_MMIO (1, 2, 4, 8 bytes). Checks SCRATCH read-back (a narrow write
 * changes only its bytes), INVERT = ~SCRATCH and the ID register. Prints "pio ok" and
 * "mmio ok", exits 0; a failed check exits with its code (0x10 and up).
 */
	.include "guest.inc"

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
pm32:
	ENTER_LMODE64 lm64

	.code64
lm64:
	mov	$TESTDEV_PIO + TESTDEV_ID, %dx
	in	%dx, %eax
	CHECK_EQ %eax, $TESTDEV_ID_VALUE, 0x10
	mov	$TESTDEV_PIO + TESTDEV_SCRATCH, %dx
	mov	$0x89abcdef, %eax
	out	%eax, %dx
	mov	$0x5a, %al
	out	%al, %dx			/* byte 0 only */
	xor	%eax, %eax
	in	%dx, %al
	CHECK_EQ %eax, $0x5a, 0x11
	in	%dx, %eax
	CHECK_EQ %eax, $0x89abcd5a, 0x12
	mov	$0x1234, %ax
	out	%ax, %dx
	xor	%eax, %eax
	in	%dx, %ax
	CHECK_EQ %eax, $0x1234, 0x13
	mov	$TESTDEV_PIO + TESTDEV_INVERT, %dx
	in	%dx, %eax
	CHECK_EQ %eax, $0x7654edcb, 0x14	/* ~0x89ab1234 */
	PRINT	"pio ok\n"

	mov	$TESTDEV_MMIO, %edi
	movl	TESTDEV_ID(%rdi), %eax
	CHECK_EQ %eax, $TESTDEV_ID_VALUE, 0x20
	movabs	$0x1122334455667788, %rbx
	mov	%rbx, TESTDEV_SCRATCH(%rdi)
	mov	TESTDEV_SCRATCH(%rdi), %rax
	CHECK_EQ %rax, %rbx, 0x21
	movb	$0xa5, TESTDEV_SCRATCH(%rdi)
	movzbl	TESTDEV_SCRATCH(%rdi), %eax
	CHECK_EQ %eax, $0xa5, 0x22
	movw	$0xbeef, TESTDEV_SCRATCH + 2(%rdi)
	movzwl	TESTDEV_SCRATCH + 2(%rdi), %eax
	CHECK_EQ %eax, $0xbeef, 0x23
	movl	$0xcafef00d, TESTDEV_SCRATCH + 4(%rdi)
	mov	TESTDEV_SCRATCH(%rdi), %rax
	movabs	$0xcafef00dbeef77a5, %rbx
	CHECK_EQ %rax, %rbx, 0x24
	mov	TESTDEV_INVERT(%rdi), %rax
	not	%rbx
	CHECK_EQ %rax, %rbx, 0x25
	PRINT	"mmio ok\n"
	EXIT	0

	GUEST_TABLES
