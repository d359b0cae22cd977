/* SPDX-License-Identifier: MIT */
/*
 * Two vCPUs: the bootstrap processor enters 32-bit protected mode, software-enables its local
 * APIC (SVR) and starts the application processor with INIT and a start-up IPI through the ICR
 * at 0xfee00300/0x310
 * (Intel SDM vol. 3A 8.4.4 MP initialization example, 10.6.1 ICR; MP spec 1.4 B.4). The AP
 * starts in real mode at the 4 KiB-aligned trampoline (SIPI vector = address >> 12), prints
 * "hello from the AP" and sets a flag; the BSP waits for the flag, prints "AP is up", exits 0.
 */
	.include "guest.inc"

	.set LAPIC, 0xfee00000
	.set LAPIC_SVR, 0xf0
	.set LAPIC_ICR_LO, 0x300
	.set LAPIC_ICR_HI, 0x310

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	movb	$0, ap_flag
	ENTER_PMODE32 pm32

	.code32
pm32:
	mov	$LAPIC, %ebx
	movl	$0x000001ff, LAPIC_SVR(%ebx)	/* software-enable the APIC, spurious 0xff */
	movl	$0x01000000, LAPIC_ICR_HI(%ebx)	/* destination: APIC id 1 */
	movl	$0x00004500, LAPIC_ICR_LO(%ebx)	/* INIT, level assert */
	movl	$0x01000000, LAPIC_ICR_HI(%ebx)
	mov	$ap_start, %eax
	shr	$12, %eax
	or	$0x00004600, %eax			/* start-up, vector = trampoline page */
	movl	%eax, LAPIC_ICR_LO(%ebx)
wait_ap:
	pause
	cmpb	$1, ap_flag
	jne	wait_ap
	PRINT	"AP is up\n"
	EXIT	0

	.section .trampoline, "ax"		/* page aligned by lib/guest.ld */
	.code16
ap_start:					/* CS = page, IP = 0, real mode */
	cli
	xor	%ax, %ax
	mov	%ax, %ds
	PRINT	"hello from the AP\n"
	movb	$1, ap_flag
ap_halt:
	hlt
	jmp	ap_halt

	.section .data
ap_flag: .byte	0

	GUEST_TABLES
