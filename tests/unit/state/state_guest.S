/* SPDX-License-Identifier: MIT */
/*
 * Guest for the whole-VM state test (test_vm_save.c), real mode at 0x7c00: IRQ0 from the PIT
 * (channel 0, mode 2, ~1 kHz) through the 8259 pair to an IVT handler that counts TICKS; the
 * main loop halts until an interrupt, then increments COUNTER in RAM and a shadow copy in ESI,
 * checks they agree, writes the counter's low byte to the UART scratch register and reads it
 * back. A lost register, a PIC or PIT that stops interrupting, or a UART that forgets its
 * scratch register shows as FAIL_AT set to a nonzero code (and the loop stops), or as TICKS no
 * longer moving. References as in tests/guests/pit_pic_irq.S.
 */
	.include "guest.inc"
	.include "pic_pit.inc"

	.set COUNTER, 0x1000
	.set TICKS, 0x1004
	.set FAIL_AT, 0x1008
	.set UART_SCR, 0x3ff

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	movw	$timer_handler, 0x20 * 4
	movw	$0, 0x20 * 4 + 2
	PIC_PIT_IRQ0 1193
	mov	$0xc7, %al		/* UART FIFO on */
	mov	$0x3fa, %dx
	out	%al, %dx
	movl	COUNTER, %esi		/* 0 at boot; the count so far after an S3 wake */
	sti
main_loop:
	hlt
	incl	COUNTER
	incl	%esi
	cmpl	%esi, COUNTER
	jne	fail_counter
	mov	%si, %ax
	mov	$UART_SCR, %dx
	out	%al, %dx
	mov	$0, %al
	in	%dx, %al
	mov	%si, %bx
	cmp	%bl, %al
	jne	fail_uart
	jmp	main_loop
fail_counter:
	movl	$1, FAIL_AT
	jmp	stop
fail_uart:
	movl	$2, FAIL_AT
stop:
	cli
	hlt
	jmp	stop

timer_handler:
	push	%ax
	incl	TICKS
	mov	$0x20, %al
	out	%al, $0x20
	pop	%ax
	iret
