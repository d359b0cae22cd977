/* SPDX-License-Identifier: MIT */
/*
 * 16550A register names, National Semiconductor PC16550D datasheet
 * (June 1995), section 8 "Registers", table II.
 */
#ifndef DEVICES_UART_REGS_H
#define DEVICES_UART_REGS_H

/* Register offsets from the base port (table II). DLL/DLM when LCR.DLAB = 1. */
#define UART_RBR      0 /* receiver buffer (read) */
#define UART_THR      0 /* transmitter holding (write) */
#define UART_DLL      0
#define UART_IER      1
#define UART_DLM      1
#define UART_IIR      2 /* interrupt identification (read) */
#define UART_FCR      2 /* FIFO control (write) */
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_MSR      6
#define UART_SCR      7
#define UART_NR_PORTS 8

/* IER (8.5) */
#define UART_IER_ERBFI 0x01 /* received data available */
#define UART_IER_ETBEI 0x02 /* transmitter holding register empty */
#define UART_IER_ELSI  0x04 /* receiver line status */
#define UART_IER_EDSSI 0x08 /* modem status */
#define UART_IER_THRI  UART_IER_ETBEI

/* IIR (8.6): bits 3:0 identify the highest-priority pending interrupt. */
#define UART_IIR_NONE	  0x01
#define UART_IIR_RLS	  0x06 /* receiver line status (highest) */
#define UART_IIR_RDA	  0x04 /* received data available */
#define UART_IIR_CTI	  0x0c /* character timeout */
#define UART_IIR_THRI	  0x02 /* THR empty */
#define UART_IIR_MSI	  0x00 /* modem status (lowest) */
#define UART_IIR_ID_MASK  0x0f
#define UART_IIR_FIFO_ENA 0xc0 /* both set when FCR bit 0 is set */

/* FCR (8.7) */
#define UART_FCR_FIFO_EN  0x01
#define UART_FCR_RX_RESET 0x02
#define UART_FCR_TX_RESET 0x04
#define UART_FCR_DMA_MODE 0x08
#define UART_FCR_TRIGGER  0xc0 /* 00: 1 byte, 01: 4, 10: 8, 11: 14 */

/* LCR (8.4) */
#define UART_LCR_WLS  0x03 /* word length - 5 */
#define UART_LCR_STB  0x04 /* 1.5 or 2 stop bits */
#define UART_LCR_PEN  0x08
#define UART_LCR_EPS  0x10
#define UART_LCR_SP   0x20
#define UART_LCR_BC   0x40 /* break control */
#define UART_LCR_DLAB 0x80

/* MCR (8.8) */
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08 /* on the PC, enables the IRQ line driver */
#define UART_MCR_LOOP 0x10
#define UART_MCR_MASK 0x1f

/* LSR (8.9) */
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_PE   0x04
#define UART_LSR_FE   0x08
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_LSR_RXFE 0x80 /* error in RCVR FIFO */
#define UART_LSR_ERRS (UART_LSR_OE | UART_LSR_PE | UART_LSR_FE | UART_LSR_BI)

/* MSR (8.10) */
#define UART_MSR_DCTS	0x01
#define UART_MSR_DDSR	0x02
#define UART_MSR_TERI	0x04
#define UART_MSR_DDCD	0x08
#define UART_MSR_CTS	0x10
#define UART_MSR_DSR	0x20
#define UART_MSR_RI	0x40
#define UART_MSR_DCD	0x80
#define UART_MSR_DELTAS 0x0f

#define UART_FIFO_SIZE 16
/* 1.8432 MHz crystal / 16: the baud rate for divisor 1. */
#define UART_BASE_BAUD 115200

#endif
