/* SPDX-License-Identifier: MIT */
/*
 * Intel 82C54 programmable interval timer: control word, read-back command
 * and status byte (82C54 datasheet, "Control Word Format", "Read-Back
 * Command", "Status Byte"), and the PC's system control port B at 0x61
 * (82371AB PIIX4 datasheet 4.7.1 NMI Status and Control Register).
 */
#ifndef DEVICES_PIT_REGS_H
#define DEVICES_PIT_REGS_H

#define PIT_DEFAULT_BASE 0x40
#define PIT_PORT_B	 0x61
#define PIT_FREQ_HZ	 1193182ull
#define PIT_NR_CHANNELS	 3
#define PIT_CONTROL_PORT 3 /* offset of the control word register */

/* Control word: SC1-SC0 (7-6), RW1-RW0 (5-4), M2-M0 (3-1), BCD (0). */
#define PIT_CW_SC_SHIFT	   6
#define PIT_CW_SC_READBACK 3
#define PIT_CW_RW_SHIFT	   4
#define PIT_CW_RW_MASK	   0x30
#define PIT_CW_MODE_SHIFT  1
#define PIT_CW_MODE_MASK   0x0e
#define PIT_CW_BCD	   0x01

#define PIT_RW_LATCH 0 /* counter latch command */
#define PIT_RW_LSB   1
#define PIT_RW_MSB   2
#define PIT_RW_WORD  3 /* LSB then MSB */

#define PIT_MODE_INT_ON_TC   0 /* interrupt on terminal count */
#define PIT_MODE_ONESHOT     1 /* hardware retriggerable one-shot */
#define PIT_MODE_RATE_GEN    2
#define PIT_MODE_SQUARE_WAVE 3
#define PIT_MODE_SW_STROBE   4
#define PIT_MODE_HW_STROBE   5

/* Read-back command: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3-1 select. */
#define PIT_RB_NOT_COUNT  0x20
#define PIT_RB_NOT_STATUS 0x10
#define PIT_RB_CNT(n)	  (0x02u << (n))

/* Status byte: OUT (7), NULL COUNT (6), then the channel's control word bits 5-0. */
#define PIT_STATUS_OUT	      0x80
#define PIT_STATUS_NULL_COUNT 0x40

/* Port 0x61 */
#define PIT_PORTB_GATE2	  0x01 /* timer 2 gate */
#define PIT_PORTB_SPKR	  0x02 /* speaker data enable */
#define PIT_PORTB_WMASK	  0x0f /* bits 2-3: parity and IOCHK enables, stored only */
#define PIT_PORTB_REFRESH 0x10 /* toggles every refresh cycle (about 15 us) */
#define PIT_PORTB_OUT2	  0x20 /* timer 2 OUT */
#define PIT_REFRESH_NS	  15085ull

#endif
