/* SPDX-License-Identifier: MIT */
/*
 * ACPI S3 without firmware, as an OS does it (ACPI 6.5 sections 5.2.10, 7.4, 16.1):
 *  - in 32-bit protected mode: finds the RSDP in 0xe0000-0xfffff, the FADT through the RSDT,
 *    the FACS through FIRMWARE_CTRL and \_S3's SLP_TYP in the DSDT; writes the real-mode
 *    address of wake16 as the FACS waking vector; arms the RTC alarm (every second: all three
 *    alarm registers "don't care", AIE) and RTC_EN, clears PM1_STS, and writes SLP_TYP|SLP_EN;
 *    the instruction after that write sets a marker;
 *  - at wake16, in real mode: the marker is clear (the vCPU stopped at the write), RAM kept
 *    (a value written before the sleep), WAK_STS and RTC_STS set (the RTC alarm woke it), the
 *    RTC kept its state (AIE still set), CR0.PE clear.
 * Prints "resumed from S3", exits 0; a failed check exits with its code (0x10 and up).
 * Built with WAKE_BY_BUTTON set (s3_button.S): no alarm; the power button (PWRBTN_EN) is the
 * wake event, and PWRBTN_STS is checked at the wake instead of RTC_STS and AIE, so the guest
 * sleeps until someone presses it (migrate.py's s3 case moves it meanwhile).
 */
	.include "guest.inc"

	.ifndef WAKE_BY_BUTTON
	.set WAKE_BY_BUTTON, 0
	.endif
	.set PWRBTN_STS, 0x0100
	.set PWRBTN_EN, 0x0100

	.set PM1_STS, 0x600
	.set PM1_EN, 0x602
	.set PM1_CNT, 0x604
	.set WAK_STS, 0x8000
	.set RTC_STS, 0x0400
	.set RTC_EN, 0x0400
	.set SLP_EN, 0x2000
	.set RTC_INDEX, 0x70
	.set RTC_DATA, 0x71
	.set MAGIC, 0x5a5aa5a5

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
/* RTC register %al := %ah. */
rtc_write:
	out	%al, $RTC_INDEX
	mov	%ah, %al
	out	%al, $RTC_DATA
	ret

pm32:
	/* the RSDP: "RSD PTR " on a 16-byte boundary */
	mov	$0xe0000, %esi
1:	cmpl	$0x20445352, (%esi)
	jne	2f
	cmpl	$0x20525450, 4(%esi)
	je	3f
2:	add	$16, %esi
	cmp	$0x100000, %esi
	jb	1b
	FAIL	0x10
3:	mov	16(%esi), %esi			/* the RSDT */
	cmpl	$0x54445352, (%esi)		/* "RSDT" */
	je	1f
	FAIL	0x11
1:	mov	4(%esi), %ecx
	add	%esi, %ecx			/* its end */
	lea	36(%esi), %edi
2:	cmp	%ecx, %edi
	jb	3f
	FAIL	0x12				/* no FADT */
3:	mov	(%edi), %ebx
	cmpl	$0x50434146, (%ebx)		/* "FACP" */
	je	4f
	add	$4, %edi
	jmp	2b
4:	mov	36(%ebx), %edx			/* FIRMWARE_CTRL: the FACS */
	cmpl	$0x53434146, (%edx)		/* "FACS" */
	je	1f
	FAIL	0x13
1:	movl	$wake16, 12(%edx)		/* Firmware Waking Vector */
	mov	40(%ebx), %esi			/* the DSDT: find Name (_S3_, Package) */
	mov	4(%esi), %ecx
	add	%esi, %ecx
2:	cmp	%ecx, %esi
	jb	3f
	FAIL	0x14				/* no \_S3 */
3:	cmpl	$0x5f33535f, (%esi)		/* "_S3_" */
	je	4f
	inc	%esi
	jmp	2b
4:	cmpb	$0x12, 4(%esi)			/* PackageOp, PkgLength, 4 elements, BytePrefix */
	je	1f
	FAIL	0x15
1:	movzbl	8(%esi), %eax
	mov	%eax, slp_typ

	movl	$MAGIC, magic
	.if WAKE_BY_BUTTON == 0
	/* the RTC alarm every second, its interrupt enabled, the flags read clear */
	mov	$0x0b, %al
	out	%al, $RTC_INDEX
	in	$RTC_DATA, %al
	or	$0x20, %al			/* AIE */
	mov	%al, %ah
	mov	$0x0b, %al
	call	rtc_write
	mov	$0xff01, %ax			/* seconds alarm: don't care */
	call	rtc_write
	mov	$0xff03, %ax
	call	rtc_write
	mov	$0xff05, %ax
	call	rtc_write
	mov	$0x0c, %al
	out	%al, $RTC_INDEX
	in	$RTC_DATA, %al
	.endif
	/* PM1: every status clear, the RTC (or the power button) a wake event */
	mov	$0xffff, %ax
	mov	$PM1_STS, %dx
	out	%ax, %dx
	.if WAKE_BY_BUTTON
	mov	$PWRBTN_EN, %ax
	.else
	mov	$RTC_EN, %ax
	.endif
	mov	$PM1_EN, %dx
	out	%ax, %dx
	mov	$PM1_STS, %dx
	in	%dx, %ax
	test	$WAK_STS, %ax
	jz	1f
	FAIL	0x16
1:	PRINT	"entering S3\n"
	mov	$PM1_CNT, %dx
	in	%dx, %ax
	and	$~0x3c00, %ax
	mov	slp_typ, %ecx
	shl	$10, %ecx
	or	%cx, %ax
	or	$SLP_EN, %ax
	out	%ax, %dx
	movl	$1, after_sleep			/* never, if the vCPU stopped at the write */
	PRINT	"still running after SLP_EN\n"
	EXIT	0x17

	.code16
	.p2align 4
wake16:
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x7c00, %sp
	cmpl	$0, after_sleep
	je	1f
	FAIL	0x30
1:	cmpl	$MAGIC, magic
	je	1f
	FAIL	0x31
1:	mov	$PM1_STS, %dx
	in	%dx, %ax
	mov	%ax, %bx
	and	$WAK_STS, %ax
	jnz	1f
	FAIL	0x32
	.if WAKE_BY_BUTTON
1:	and	$PWRBTN_STS, %bx
	jnz	1f
	FAIL	0x36
	.else
1:	and	$RTC_STS, %bx
	jnz	1f
	FAIL	0x33
1:	mov	$0x0b, %al
	out	%al, $RTC_INDEX
	in	$RTC_DATA, %al
	test	$0x20, %al
	jnz	1f
	FAIL	0x34
	.endif
1:	smsw	%ax
	test	$1, %ax
	jz	1f
	FAIL	0x35
1:	PRINT	"resumed from S3\n"
	EXIT	0

	.section .data
	.p2align 2
slp_typ:	.long 0
magic:		.long 0
after_sleep:	.long 0

	GUEST_TABLES
