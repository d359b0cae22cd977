/* SPDX-License-Identifier: MIT */
/*
 * QEMU's PCI test device (src/devices/pci_testdev.h, spec key debug.pci_testdev), found and run
 * as kvm-unit-tests' pci-testdev does, in 32-bit protected mode with no firmware:
 *  - scans bus 0 through configuration mechanism #1 (0xcf8/0xcfc) for 1b36:0005 and checks the
 *    board left it decoding (memory and I/O enable) with BAR0 a memory BAR and BAR1 an I/O BAR;
 *  - on each BAR selects test 0, 1, ... until the width it reads is not 1, 2 or 4; for each test
 *    checks count 0, the name ("mmio-..." / "portio-..." as the device names them), writes data
 *    16 times at offset with the width and checks count 16, then writes another value once:
 *    counted only by the wildcard test (test 1). Prints each test's name;
 *  - checks each BAR has 3 tests.
 * Under KVM tests 1 and 2 go through ioeventfds: the counts then come from the kernel, and a
 * value the datamatch test does not match must still reach the device and be ignored.
 * Prints "pci testdev ok", exits 0; a failed check exits with its code (0x10 and up).
 */
	.include "guest.inc"

	.set PCI_ADDR, 0xcf8
	.set PCI_DATA, 0xcfc
	.set PCI_ENABLE, 0x80000000
	.set VENDOR_DEVICE, 0x00051b36
	.set HDR_WIDTH, 1
	.set HDR_OFFSET, 4
	.set HDR_DATA, 8
	.set HDR_COUNT, 12
	.set HDR_NAME, 16
	.set NR_WRITES, 16
	.set NR_TESTS, 3

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
/* Configuration dword at register %cl of the device in cfg_dev: %eax. Clobbers %dx. */
cfg_read:
	mov	cfg_dev, %eax
	movzbl	%cl, %edx
	or	%edx, %eax
	mov	$PCI_ADDR, %dx
	out	%eax, %dx
	mov	$PCI_DATA, %dx
	in	%dx, %eax
	ret

/* Print the 0-terminated string at %ebx (an address, or with %ebp != 0 a port). */
print_name:
	mov	$UART_BASE, %dx
1:	test	%ebp, %ebp
	jnz	2f
	movzbl	(%ebx), %eax
	jmp	3f
2:	push	%edx
	mov	%bx, %dx
	in	%dx, %al
	pop	%edx
	movzbl	%al, %eax
3:	test	%eax, %eax
	jz	4f
	out	%al, %dx
	inc	%ebx
	jmp	1b
4:	mov	$'\n', %al
	out	%al, %dx
	ret

pm32:
	/* 1. find 1b36:0005 on bus 0 */
	xor	%ebx, %ebx
scan:
	mov	%ebx, %eax
	shl	$11, %eax
	or	$PCI_ENABLE, %eax
	mov	%eax, cfg_dev
	xor	%cl, %cl
	call	cfg_read
	cmp	$VENDOR_DEVICE, %eax
	je	found
	inc	%ebx
	cmp	$32, %ebx
	jb	scan
	FAIL	0x10
found:
	mov	$0x04, %cl			/* command */
	call	cfg_read
	and	$3, %eax
	CHECK_EQ %eax, $3, 0x11			/* I/O and memory decoding on */
	mov	$0x10, %cl			/* BAR0 */
	call	cfg_read
	test	$1, %eax
	jz	1f
	FAIL	0x12				/* BAR0 must be memory */
1:	and	$~0xf, %eax
	jnz	1f
	FAIL	0x13				/* and assigned */
1:	mov	%eax, mmio_base
	mov	$0x14, %cl			/* BAR1 */
	call	cfg_read
	test	$1, %eax
	jnz	1f
	FAIL	0x14				/* BAR1 must be I/O */
1:	and	$~3, %eax
	jnz	1f
	FAIL	0x15
1:	mov	%eax, io_base
	PRINT	"pci-testdev found\n"

	/* 2. BAR0: the memory tests */
	movl	$0, test_n
mmio_test:
	mov	mmio_base, %edi
	mov	test_n, %eax
	mov	%al, (%edi)			/* select test n */
	mov	HDR_COUNT(%edi), %eax
	CHECK_EQ %eax, $0, 0x20
	movzbl	HDR_WIDTH(%edi), %ecx
	cmp	$1, %ecx
	je	1f
	cmp	$2, %ecx
	je	1f
	cmp	$4, %ecx
	jne	mmio_done
1:	mov	%ecx, width
	mov	test_n, %eax
	cmp	$NR_TESTS, %eax
	jb	1f
	FAIL	0x21				/* more tests than the device has */
	/* the name is the one expected for test n */
1:	mov	mmio_names(, %eax, 4), %esi
	lea	HDR_NAME(%edi), %ebx
2:	movzbl	(%ebx), %eax
	movzbl	(%esi), %edx
	CHECK_EQ %eax, %edx, 0x22
	inc	%ebx
	inc	%esi
	test	%eax, %eax
	jnz	2b
	/* 16 writes of data at offset */
	mov	HDR_DATA(%edi), %edx
	mov	HDR_OFFSET(%edi), %esi
	add	%edi, %esi
	mov	$NR_WRITES, %ebx
	mov	width, %ecx
2:	call	mmio_write
	dec	%ebx
	jnz	2b
	mov	HDR_COUNT(%edi), %eax
	CHECK_EQ %eax, $NR_WRITES, 0x23
	/* another value once */
	xor	$1, %edx
	call	mmio_write
	mov	HDR_COUNT(%edi), %eax
	mov	test_n, %ebx
	mov	counts_after(, %ebx, 4), %ebx
	CHECK_EQ %eax, %ebx, 0x24
	lea	HDR_NAME(%edi), %ebx
	xor	%ebp, %ebp
	call	print_name
	incl	test_n
	jmp	mmio_test
mmio_done:
	mov	test_n, %eax
	CHECK_EQ %eax, $NR_TESTS, 0x25

	/* 3. BAR1: the port tests */
	movl	$0, test_n
pio_test:
	mov	io_base, %edi
	mov	test_n, %eax
	mov	%di, %dx
	out	%al, %dx			/* select test n */
	lea	HDR_COUNT(%edi), %edx
	in	%dx, %eax
	CHECK_EQ %eax, $0, 0x30
	lea	HDR_WIDTH(%edi), %edx
	in	%dx, %al
	movzbl	%al, %ecx
	cmp	$1, %ecx
	je	1f
	cmp	$2, %ecx
	je	1f
	cmp	$4, %ecx
	jne	pio_done
1:	mov	%ecx, width
	mov	test_n, %eax
	cmp	$NR_TESTS, %eax
	jb	1f
	FAIL	0x31
1:	mov	pio_names(, %eax, 4), %esi
	lea	HDR_NAME(%edi), %ebx
2:	mov	%bx, %dx
	in	%dx, %al
	movzbl	%al, %eax
	movzbl	(%esi), %edx
	CHECK_EQ %eax, %edx, 0x32
	inc	%ebx
	inc	%esi
	test	%eax, %eax
	jnz	2b
	lea	HDR_DATA(%edi), %edx
	in	%dx, %eax
	mov	%eax, data
	lea	HDR_OFFSET(%edi), %edx
	in	%dx, %eax
	add	%edi, %eax
	mov	%eax, addr
	mov	$NR_WRITES, %ebx
2:	call	pio_write
	dec	%ebx
	jnz	2b
	lea	HDR_COUNT(%edi), %edx
	in	%dx, %eax
	CHECK_EQ %eax, $NR_WRITES, 0x33
	xorl	$1, data
	call	pio_write
	lea	HDR_COUNT(%edi), %edx
	in	%dx, %eax
	mov	test_n, %ebx
	mov	counts_after(, %ebx, 4), %ebx
	CHECK_EQ %eax, %ebx, 0x34
	lea	HDR_NAME(%edi), %ebx
	mov	$1, %ebp
	call	print_name
	incl	test_n
	jmp	pio_test
pio_done:
	mov	test_n, %eax
	CHECK_EQ %eax, $NR_TESTS, 0x35

	PRINT	"pci testdev ok\n"
	EXIT	0

/* Write %edx with width %ecx (1, 2 or 4) at address %esi. */
mmio_write:
	cmp	$1, %ecx
	jne	1f
	mov	%dl, (%esi)
	ret
1:	cmp	$2, %ecx
	jne	2f
	mov	%dx, (%esi)
	ret
2:	mov	%edx, (%esi)
	ret

/* Write data with width at port addr. Clobbers %eax, %edx. */
pio_write:
	mov	data, %eax
	mov	addr, %edx
	cmpl	$1, width
	jne	1f
	out	%al, %dx
	ret
1:	cmpl	$2, width
	jne	2f
	out	%ax, %dx
	ret
2:	out	%eax, %dx
	ret

	.section .rodata
mmio_name0:	.asciz "mmio-no-eventfd"
mmio_name1:	.asciz "mmio-wildcard-eventfd"
mmio_name2:	.asciz "mmio-datamatch-eventfd"
pio_name0:	.asciz "portio-no-eventfd"
pio_name1:	.asciz "portio-wildcard-eventfd"
pio_name2:	.asciz "portio-datamatch-eventfd"
	.p2align 2
mmio_names:	.long mmio_name0, mmio_name1, mmio_name2
pio_names:	.long pio_name0, pio_name1, pio_name2
/* count after 16 writes of data and one of another value: the wildcard test counts both */
counts_after:	.long NR_WRITES, NR_WRITES + 1, NR_WRITES

	.section .data
	.p2align 2
cfg_dev:	.long 0
mmio_base:	.long 0
io_base:	.long 0
test_n:		.long 0
width:		.long 0
data:		.long 0
addr:		.long 0

	GUEST_TABLES
