/* SPDX-License-Identifier: MIT */
/*
 * Intel 8259A programmable interrupt controller: initialization and
 * operation command word bits (8259A datasheet, "Programming the 8259A",
 * figures 6 and 7), and the PIIX edge/level control registers (82371AB
 * PIIX4 datasheet, section 4.1.4 ELCR1/ELCR2).
 */
#ifndef DEVICES_PIC_REGS_H
#define DEVICES_PIC_REGS_H

#define PIC_MASTER_BASE 0x20
#define PIC_SLAVE_BASE	0xa0
#define PIC_ELCR_BASE	0x4d0
#define PIC_CASCADE_IRQ 2
/* As a PC BIOS leaves them (SeaBIOS pic_setup and the IRQs it enables for its devices). */
#define PIC_BIOS_MASTER_BASE 0x08
#define PIC_BIOS_SLAVE_BASE  0x70
#define PIC_BIOS_MASTER_IMR  0xf8 /* IRQ 0, 1, 2 unmasked */
#define PIC_BIOS_SLAVE_IMR   0xce /* IRQ 8, 12, 13 unmasked */

/* Writes to the A0 = 0 port: ICW1 when D4 = 1, OCW3 when D4 = 0 and D3 = 1, else OCW2. */
#define PIC_ICW1      0x10
#define PIC_ICW1_IC4  0x01 /* ICW4 needed */
#define PIC_ICW1_SNGL 0x02 /* single, no ICW3 */
#define PIC_ICW1_LTIM 0x08 /* level-triggered mode for every input */
#define PIC_OCW3      0x08

#define PIC_ICW4_UPM  0x01 /* 8086/8088 mode */
#define PIC_ICW4_AEOI 0x02
#define PIC_ICW4_SFNM 0x10 /* special fully nested mode */

/* OCW2 R SL EOI (bits 7-5) and L2-L0. */
#define PIC_OCW2_CMD_MASK	   0xe0
#define PIC_OCW2_ROTATE_AEOI_CLEAR 0x00
#define PIC_OCW2_EOI		   0x20
#define PIC_OCW2_NOP		   0x40
#define PIC_OCW2_SPECIFIC_EOI	   0x60
#define PIC_OCW2_ROTATE_AEOI_SET   0x80
#define PIC_OCW2_ROTATE_EOI	   0xa0
#define PIC_OCW2_SET_PRIORITY	   0xc0
#define PIC_OCW2_ROTATE_SPECIFIC   0xe0
#define PIC_OCW2_LEVEL_MASK	   0x07

/* OCW3 */
#define PIC_OCW3_RIS  0x01 /* read ISR (with RR) instead of IRR */
#define PIC_OCW3_RR   0x02
#define PIC_OCW3_P    0x04 /* poll command */
#define PIC_OCW3_SMM  0x20
#define PIC_OCW3_ESMM 0x40

#define PIC_POLL_INT 0x80 /* poll word: an interrupt was pending; bits 2-0 its level */

/* PIIX: IRQ 0, 1, 2, 8 and 13 are always edge-triggered. */
#define PIC_ELCR1_MASK 0xf8
#define PIC_ELCR2_MASK 0xde

#endif
