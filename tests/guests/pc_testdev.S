/* SPDX-License-Identifier: MIT */
/*
 * QEMU's PC test device (src/devices/pc_testdev.h, spec key debug.pc_testdev), in long mode:
 *  - the scratch register at 0xe0-0xe3 read back at every width and offset (a read at 0xe0+k
 *    is the register shifted right by 8*k), narrow writes replacing only their bytes, and the
 *    same register through the byte view 0xe8-0xeb;
 *  - the flush-page port 0xe4 with a data page, the page of the running code and an address
 *    that is not RAM: the pages keep their contents and the program keeps running;
 *  - the 64 KiB at 0xff000000 reading back 8-, 4-, 2- and 1-byte writes, unaligned and at
 *    both ends;
 *  - ISA IRQ lines through 0x2000+n: line 3 appears in the master 8259's IRR, line 11 in the
 *    slave's IRR and, through an unmasked level-triggered I/O APIC entry (vector 0x40), in the
 *    local APIC's IRR (interrupts stay disabled, so the requests stay pending).
 * Prints "pc testdev ok", exits 0; a failed check exits with its code (0x10 and up).
 */
	.include "guest.inc"

	.set PIC1_CMD, 0x20
	.set PIC2_CMD, 0xa0
	.set OCW3_READ_IRR, 0x0a
	.set IOAPIC, 0xfec00000
	.set IOAPIC_REDTBL, 0x10
	.set LAPIC, 0xfee00000
	.set LAPIC_SVR, 0xf0
	.set LAPIC_IRR, 0x200
	.set TEST_VECTOR, 0x40
	.set IOMEM, 0xff000000

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
	/* 0xe0-0xe3: the scratch register */
	mov	$0x12345678, %eax
	out	%eax, $0xe0
	xor	%eax, %eax
	in	$0xe0, %eax
	CHECK_EQ %eax, $0x12345678, 0x10
	xor	%eax, %eax
	in	$0xe1, %al
	CHECK_EQ %eax, $0x56, 0x11
	xor	%eax, %eax
	in	$0xe2, %ax
	CHECK_EQ %eax, $0x1234, 0x12
	xor	%eax, %eax
	in	$0xe3, %al
	CHECK_EQ %eax, $0x12, 0x13
	mov	$0xbeef, %ax
	out	%ax, $0xe1
	in	$0xe0, %eax
	CHECK_EQ %eax, $0x12beef78, 0x14
	/* 0xe8-0xeb: the same register, byte by byte */
	xor	%eax, %eax
	in	$0xe8, %al
	CHECK_EQ %eax, $0x78, 0x15
	in	$0xeb, %al
	CHECK_EQ %eax, $0x12, 0x16
	in	$0xe8, %eax
	CHECK_EQ %eax, $0x12beef78, 0x17
	mov	$0xaa, %al
	out	%al, $0xea
	in	$0xe0, %eax
	CHECK_EQ %eax, $0x12aaef78, 0x18
	mov	$0x01020304, %eax
	out	%eax, $0xe8
	in	$0xe0, %eax
	CHECK_EQ %eax, $0x01020304, 0x19
	PRINT	"pc testdev scratch ok\n"

	/* 0xe4: flush a data page, the page of this code, and an address that is not RAM */
	movabs	$0x0123456789abcdef, %rbx
	mov	%rbx, flush_page
	mov	%rbx, flush_page + 0xff8
	mov	$flush_page, %eax
	out	%eax, $0xe4
	mov	flush_page, %rax
	CHECK_EQ %rax, %rbx, 0x20
	mov	flush_page + 0xff8, %rax
	CHECK_EQ %rax, %rbx, 0x21
	lea	lm64(%rip), %rax
	out	%eax, $0xe4
	mov	$IOMEM, %eax
	out	%eax, $0xe4
	PRINT	"pc testdev flush ok\n"

	/* 0xff000000: 64 KiB read back through MMIO */
	mov	$IOMEM, %edi
	movabs	$0x1122334455667788, %rbx
	mov	%rbx, (%rdi)
	mov	(%rdi), %rax
	CHECK_EQ %rax, %rbx, 0x30
	movl	$0xcafef00d, 0xfffc(%rdi)
	movl	0xfffc(%rdi), %eax
	CHECK_EQ %eax, $0xcafef00d, 0x31
	movzbl	0xffff(%rdi), %eax
	CHECK_EQ %eax, $0xca, 0x32
	movw	$0xbeef, 0x101(%rdi)
	movzwl	0x101(%rdi), %eax
	CHECK_EQ %eax, $0xbeef, 0x33
	movb	$0xa5, 3(%rdi)
	mov	(%rdi), %rax
	movabs	$0x11223344a5667788, %rbx
	CHECK_EQ %rax, %rbx, 0x34
	movzbl	0x100(%rdi), %eax
	CHECK_EQ %eax, $0, 0x35
	PRINT	"pc testdev iomem ok\n"

	/* 0x2000+n: ISA IRQ 3 into the master 8259 */
	mov	$OCW3_READ_IRR, %al
	out	%al, $PIC1_CMD
	out	%al, $PIC2_CMD
	in	$PIC1_CMD, %al
	and	$0x08, %eax
	CHECK_EQ %eax, $0, 0x40
	mov	$0x2003, %dx
	mov	$1, %al
	out	%al, %dx
	xor	%eax, %eax
	in	$PIC1_CMD, %al
	and	$0x08, %eax
	CHECK_EQ %eax, $0x08, 0x41
	xor	%al, %al
	out	%al, %dx

	/* ISA IRQ 11: the slave 8259 and, level-triggered, the I/O APIC to the local APIC */
	mov	$LAPIC, %edi
	movl	$0x1ff, LAPIC_SVR(%rdi)		/* software enable, spurious vector 0xff */
	mov	$IOAPIC, %esi
	movl	$IOAPIC_REDTBL + 2 * 11 + 1, (%rsi)
	movl	$0, 0x10(%rsi)			/* destination APIC ID 0 */
	movl	$IOAPIC_REDTBL + 2 * 11, (%rsi)
	movl	$0x8000 | TEST_VECTOR, 0x10(%rsi) /* fixed, physical, level, unmasked */
	movl	LAPIC_IRR + 0x10 * (TEST_VECTOR / 32)(%rdi), %eax
	and	$1 << (TEST_VECTOR % 32), %eax
	CHECK_EQ %eax, $0, 0x42
	xor	%eax, %eax
	in	$PIC2_CMD, %al
	and	$0x08, %eax
	CHECK_EQ %eax, $0, 0x43
	mov	$0x200b, %dx
	mov	$1, %al
	out	%al, %dx
	xor	%eax, %eax
	in	$PIC2_CMD, %al
	and	$0x08, %eax
	CHECK_EQ %eax, $0x08, 0x44
	movl	LAPIC_IRR + 0x10 * (TEST_VECTOR / 32)(%rdi), %eax
	and	$1 << (TEST_VECTOR % 32), %eax
	CHECK_EQ %eax, $1 << (TEST_VECTOR % 32), 0x45
	movl	$0x10000, 0x10(%rsi)		/* mask the entry again */
	xor	%al, %al
	out	%al, %dx
	PRINT	"pc testdev ok\n"
	EXIT	0

	.section .data
	.p2align 12
flush_page:
	.fill	4096, 1, 0

	GUEST_TABLES
