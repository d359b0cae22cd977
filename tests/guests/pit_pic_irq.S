/* SPDX-License-Identifier: MIT */
/*
 * Timer interrupts through the 8254 PIT and the 8259A PIC pair, in real mode: IRQ0 remapped to
 * vector 0x20 with an IVT handler, PIT channel 0 in mode 2 (rate generator) at ~1 kHz
 * (divisor 1193), STI and HLT until TICKS interrupts were counted, then print and exit 0.
 * References: Intel 8259A datasheet (ICW1-4, OCW1, non-specific EOI), Intel 82C54 datasheet
 * (control word, mode 2), Intel SDM vol. 3A 20.1.4 (real-mode interrupt vector table).
 */
	.include "guest.inc"

	.set TICKS, 5
	.set PIC1_CMD, 0x20
	.set PIC1_DATA, 0x21
	.set PIC2_CMD, 0xa0
	.set PIC2_DATA, 0xa1
	.set PIT_CH0, 0x40
	.set PIT_CTRL, 0x43
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

	mov	$0x11, %al			/* ICW1: edge, cascade, ICW4 needed */
	out	%al, $PIC1_CMD
	out	%al, $PIC2_CMD
	mov	$IRQ0_VECTOR, %al		/* ICW2: vector bases */
	out	%al, $PIC1_DATA
	mov	$IRQ0_VECTOR + 8, %al
	out	%al, $PIC2_DATA
	mov	$0x04, %al			/* ICW3: slave on IRQ2 */
	out	%al, $PIC1_DATA
	mov	$0x02, %al			/* ICW3: slave id 2 */
	out	%al, $PIC2_DATA
	mov	$0x01, %al			/* ICW4: 8086 mode */
	out	%al, $PIC1_DATA
	out	%al, $PIC2_DATA
	mov	$0xfe, %al			/* OCW1: only IRQ0 unmasked */
	out	%al, $PIC1_DATA
	mov	$0xff, %al
	out	%al, $PIC2_DATA

	mov	$0x34, %al			/* channel 0, lobyte/hibyte, mode 2, binary */
	out	%al, $PIT_CTRL
	mov	$(PIT_DIVISOR & 0xff), %al
	out	%al, $PIT_CH0
	mov	$(PIT_DIVISOR >> 8), %al
	out	%al, $PIT_CH0

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
