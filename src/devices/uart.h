/* SPDX-License-Identifier: MIT */
/*
 * 16550A UART (PC16550D) on the PC's I/O ports: see uart.c for what is
 * modelled. The VM wires the transmit side to a back end through the write
 * callback and pushes received bytes with uart_receive.
 */
#ifndef DEVICES_UART_H
#define DEVICES_UART_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#include <stddef.h>

/*
 * Transmit callback: hand len bytes to the back end. Returns how many it
 * took (0..len); bytes it did not take stay in the TX FIFO until
 * uart_tx_kick. Called with the device lock held, from the vCPU thread
 * (guest THR writes) or the main thread (uart_tx_kick).
 */
typedef size_t (*uart_write_fn)(void *opaque, const u8 *buf, size_t len);

/*
 * Receive-space callback: the RX FIFO was full (uart_can_receive() == 0) and
 * a guest access made room, so the event loop can push held input now
 * instead of polling. Called from the vCPU thread with the device lock held:
 * it must only note the fact (e.g. write an eventfd), not call uart_receive.
 */
typedef void (*uart_rx_ready_fn)(void *opaque);

struct uart_config {
	const char *name;	   /* "uart0" */
	u16 base;		   /* 0x3f8 for COM1 */
	uart_write_fn write;	   /* may be NULL: transmitted bytes are discarded */
	uart_rx_ready_fn rx_ready; /* may be NULL */
	void *opaque;		   /* for write and rx_ready */
};

struct uart;

/*
 * Create a UART at cfg->base (8 ports) raising irq (IRQ4 for COM1). -ENOMEM,
 * or -EBUSY with a message if the ports are taken. Main thread.
 */
MUST_CHECK int uart_create(struct platform *p, const struct uart_config *cfg, struct irq_line irq,
			   struct uart **out, struct err *err);
/* Power-on state: FIFOs off and empty, divisor 12 (9600 baud), interrupts off. */
void uart_reset(struct uart *u);
void uart_destroy(struct uart *u);

/*
 * Receive side, for the event loop. Caller holds the device lock.
 * uart_can_receive: how many bytes the RX FIFO can take now (0 while full).
 * uart_receive: push up to len bytes, returns how many fitted.
 */
size_t uart_can_receive(const struct uart *u);
size_t uart_receive(struct uart *u, const u8 *buf, size_t len);
/* The back end can take bytes again: retry the TX FIFO. Caller holds the device lock. */
void uart_tx_kick(struct uart *u);

extern const struct device_ops uart_device_ops;

#endif
