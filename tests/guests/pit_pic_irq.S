/* SPDX-License-Identifier: MIT */
/*
 * Timer interrupts through the 8254 PIT and the 8259A PIC pair, in real mode: IRQ0 remapped to
 * vector 0x20 with an IVT handler, PIT channel 0 in mode 2 (rate generator) at ~1 kHz
 * (divisor 1193), STI and HLT until TICKS interrupts were counted, then print and exit 0.
 * References: Intel 8259A datasheet (ICW1-4, OCW1, non-specific EOI), Intel 82C54 datasheet
 * (control word, mode 2), Intel SDM vol. 3A 20.1.4 (real-mode interrupt vector table).
 */
	.include "guest.inc"
	.include "pic_pit.inc"

	.set TICKS, 5
	.set PIC1_CMD, 0x20
	.set PIT_DIVISOR, 1193
	.set IRQ0_VECTOR, 0x20

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	movw	$0, ticks
	movw	$timer_handler, IRQ0_VECTOR * 4		/* IVT entry: offset, segment 0 */
	movw	$0, IRQ0_VECTOR * 4 + 2

	PIC_PIT_IRQ0 PIT_DIVISOR

	sti
wait_loop:
	hlt
	cmpw	$TICKS, ticks
	jb	wait_loop
	cli
	PRINT	"got 5 timer interrupts\n"
	EXIT	0

timer_handler:
	push	%ax
	incw	ticks
	mov	$0x20, %al			/* OCW2: non-specific EOI */
	out	%al, $PIC1_CMD
	pop	%ax
	iret

	.section .data
ticks:	.word	0
