// SPDX-License-Identifier: MIT
/*
 * 16550A UART, after the National Semiconductor PC16550D datasheet (June 1995):
 * registers (section 8, table II), FIFO mode and trigger levels (8.7), the
 * interrupt priorities of table IV (RLS > RDA > character timeout > THRE >
 * modem status), the FIFO timeout interrupt (8.6: at least one character in
 * the RCVR FIFO and no FIFO read or character received for 4 character
 * times), loopback (8.8: MSR follows DTR/RTS/OUT1/OUT2) and THRE interrupt
 * semantics (8.6: set when ETBEI is enabled with THR empty and when THR
 * empties; cleared by reading IIR while it is the source or by writing THR).
 *
 * PC wiring: the IRQ line is driven only while MCR.OUT2 is set (the PC
 * serial card uses the OUT2 pin as the enable of its IRQ driver; Linux's 8250
 * driver sets OUT2 for that reason) and not in loopback, where the datasheet
 * forces the OUT pins inactive. IIR still reports the pending cause.
 *
 * The serial line is infinitely fast: a byte written to THR goes to the back
 * end at once, so THRE and TEMT come back immediately unless the back end
 * refuses bytes, in which case they wait in the 16-byte TX FIFO until
 * uart_tx_kick. Received bytes are paced by the back end (uart_can_receive),
 * so overrun happens only in loopback. Character time for the timeout
 * interrupt follows the divisor latch and LCR (start, data, parity, stop bits).
 *
 * Not modelled: parity/framing errors and break (no physical line), DMA mode
 * signalling (FCR bit 3 is stored only), the scratch-free 8250/16450 variants.
 */
#include "devices/uart.h"

#include "devices/uart_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct uart {
	struct platform *p;
	char name[32];
	u16 base;
	struct irq_line irq;
	int irq_level;
	uart_write_fn write;
	uart_rx_ready_fn rx_ready;
	void *opaque;

	u8 ier, lcr, mcr, fcr, scr;
	u8 lsr_errs; /* OE/PE/FE/BI until LSR is read */
	u8 msr;	     /* status in bits 7:4, deltas in 3:0 */
	u16 divisor;

	u8 rx[UART_FIFO_SIZE];
	unsigned rx_head, rx_count;
	u8 tx[UART_FIFO_SIZE];
	unsigned tx_head, tx_count;

	bool thre_pending;    /* THRE interrupt condition (8.6) */
	bool timeout_pending; /* character timeout condition */
	struct timer cti_timer;
};

static bool uart_fifo_enabled(const struct uart *u)
{
	return u->fcr & UART_FCR_FIFO_EN;
}

static unsigned uart_fifo_capacity(const struct uart *u)
{
	return uart_fifo_enabled(u) ? UART_FIFO_SIZE : 1;
}

static unsigned uart_rx_trigger(const struct uart *u)
{
	static const unsigned levels[4] = { 1, 4, 8, 14 };

	return levels[(u->fcr & UART_FCR_TRIGGER) >> 6];
}

/* Highest-priority pending interrupt (table IV), or UART_IIR_NONE. */
static u8 uart_pending_cause(const struct uart *u)
{
	if ((u->ier & UART_IER_ELSI) && (u->lsr_errs & UART_LSR_ERRS))
		return UART_IIR_RLS;
	if (u->ier & UART_IER_ERBFI) {
		if (u->rx_count && u->rx_count >= (uart_fifo_enabled(u) ? uart_rx_trigger(u) : 1))
			return UART_IIR_RDA;
		if (u->timeout_pending)
			return UART_IIR_CTI;
	}
	if ((u->ier & UART_IER_ETBEI) && u->thre_pending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_EDSSI) && (u->msr & UART_MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NONE;
}

static void uart_update_irq(struct uart *u)
{
	int level = uart_pending_cause(u) != UART_IIR_NONE && (u->mcr & UART_MCR_OUT2) &&
		    !(u->mcr & UART_MCR_LOOP);

	if (level != u->irq_level) { /* touch the line only on change */
		u->irq_level = level;
		irq_line_set(&u->irq, level);
	}
}

/* One character time in ns: start bit, 5-8 data bits, parity, 1/1.5/2 stop bits. */
static u64 uart_char_time_ns(const struct uart *u)
{
	unsigned word = 5 + (u->lcr & UART_LCR_WLS);
	unsigned half_bits = 2 * (1 + word + !!(u->lcr & UART_LCR_PEN));
	u64 divisor = u->divisor ? u->divisor : 0x10000;

	if (u->lcr & UART_LCR_STB)
		half_bits += word == 5 ? 3 : 4;
	else
		half_bits += 2;
	return half_bits * 1000000000ull * divisor / (2 * UART_BASE_BAUD);
}

/* Restart the 4-character-time timeout after a FIFO read or a received character. */
static void uart_restart_timeout(struct uart *u)
{
	if (uart_fifo_enabled(u) && u->rx_count)
		timer_arm(&u->cti_timer, vclock_now_ns(&u->p->clock) + 4 * uart_char_time_ns(u));
	else
		timer_cancel(&u->cti_timer);
}

static void uart_cti_fire(void *opaque)
{
	struct uart *u = opaque;

	if (uart_fifo_enabled(u) && u->rx_count) {
		u->timeout_pending = true;
		uart_update_irq(u);
	}
}

static void uart_rx_clear(struct uart *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
	u->timeout_pending = false;
	timer_cancel(&u->cti_timer);
}

/* Put one byte into the RCVR FIFO (or RBR); false and OE if full. */
static bool uart_rx_push(struct uart *u, u8 byte)
{
	if (u->rx_count >= uart_fifo_capacity(u)) {
		u->lsr_errs |= UART_LSR_OE;
		return false;
	}
	u->rx[(u->rx_head + u->rx_count) % UART_FIFO_SIZE] = byte;
	u->rx_count++;
	return true;
}

/* Model status inputs: MCR looped back, or a connected back end (CTS, DSR, DCD). */
static void uart_update_msr(struct uart *u, bool set_deltas)
{
	u8 old = u->msr, now;

	if (u->mcr & UART_MCR_LOOP) {
		now = 0;
		if (u->mcr & UART_MCR_RTS)
			now |= UART_MSR_CTS;
		if (u->mcr & UART_MCR_DTR)
			now |= UART_MSR_DSR;
		if (u->mcr & UART_MCR_OUT1)
			now |= UART_MSR_RI;
		if (u->mcr & UART_MCR_OUT2)
			now |= UART_MSR_DCD;
	} else {
		now = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	}
	u->msr = now | (old & UART_MSR_DELTAS);
	if (!set_deltas)
		return;
	if ((old ^ now) & UART_MSR_CTS)
		u->msr |= UART_MSR_DCTS;
	if ((old ^ now) & UART_MSR_DSR)
		u->msr |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(now & UART_MSR_RI)) /* trailing edge of RI */
		u->msr |= UART_MSR_TERI;
	if ((old ^ now) & UART_MSR_DCD)
		u->msr |= UART_MSR_DDCD;
}

/* Send what the TX FIFO holds: to the RCVR in loopback, else to the back end. */
static void uart_tx_drain(struct uart *u)
{
	bool had_data = u->tx_count != 0;

	while (u->tx_count) {
		size_t chunk = MIN(u->tx_count, UART_FIFO_SIZE - u->tx_head);
		size_t sent = chunk;

		if (u->mcr & UART_MCR_LOOP) {
			for (size_t i = 0; i < chunk; i++)
				uart_rx_push(u, u->tx[u->tx_head + i]);
			uart_restart_timeout(u);
		} else if (u->write) {
			sent = u->write(u->opaque, &u->tx[u->tx_head], chunk);
			sent = MIN(sent, chunk);
		}
		u->tx_head = (u->tx_head + sent) % UART_FIFO_SIZE;
		u->tx_count -= sent;
		if (sent < chunk)
			break; /* back end full: wait for uart_tx_kick */
	}
	if (had_data && !u->tx_count)
		u->thre_pending = true;
}

static void uart_write_thr(struct uart *u, u8 val)
{
	if (u->tx_count < uart_fifo_capacity(u)) {
		u->tx[(u->tx_head + u->tx_count) % UART_FIFO_SIZE] = val;
		u->tx_count++;
	} else {
		log_guest("%s: TX FIFO full, byte %#x dropped", u->name, val);
	}
	u->thre_pending = false;
	uart_tx_drain(u);
}

static u8 uart_read_rbr(struct uart *u)
{
	u8 val = 0;

	if (u->rx_count) {
		val = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
		u->rx_count--;
	}
	u->timeout_pending = false;
	uart_restart_timeout(u);
	return val;
}

static void uart_write_fcr(struct uart *u, u8 val)
{
	bool was_enabled = uart_fifo_enabled(u);
	bool tx_had_data = u->tx_count != 0;

	if ((val & UART_FCR_FIFO_EN) != was_enabled || (val & UART_FCR_RX_RESET))
		uart_rx_clear(u);
	if ((val & UART_FCR_FIFO_EN) != was_enabled || (val & UART_FCR_TX_RESET)) {
		u->tx_head = 0;
		u->tx_count = 0;
		if (tx_had_data)
			u->thre_pending = true;
	}
	/* FCR bits other than bit 0 are programmed only together with bit 0 (8.7). */
	u->fcr = (val & UART_FCR_FIFO_EN) ?
			 (val & (UART_FCR_FIFO_EN | UART_FCR_DMA_MODE | UART_FCR_TRIGGER)) :
			 0;
}

static u8 uart_read_iir(struct uart *u)
{
	u8 cause = uart_pending_cause(u);

	if (cause == UART_IIR_THRI)
		u->thre_pending = false; /* reading IIR acknowledges THRE (8.6) */
	return cause | (uart_fifo_enabled(u) ? UART_IIR_FIFO_ENA : 0);
}

static u8 uart_read_lsr(struct uart *u)
{
	u8 val = u->lsr_errs;

	if (u->rx_count)
		val |= UART_LSR_DR;
	if (!u->tx_count)
		val |= UART_LSR_THRE | UART_LSR_TEMT;
	u->lsr_errs = 0;
	return val;
}

/* Tell the back end when a guest access turned a full RX FIFO into one with room. */
static void uart_notify_rx_space(struct uart *u, size_t room_before)
{
	if (!room_before && u->rx_ready && uart_can_receive(u))
		u->rx_ready(u->opaque);
}

static u64 uart_read(void *dev, u64 off, unsigned size)
{
	struct uart *u = dev;
	u8 val;

	(void)size;
	switch (off) {
	case UART_RBR:
		if (u->lcr & UART_LCR_DLAB)
			return u->divisor & 0xff;
		{
			size_t room = uart_can_receive(u);

			val = uart_read_rbr(u);
			uart_notify_rx_space(u, room);
		}
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			return u->divisor >> 8;
		return u->ier;
	case UART_IIR:
		val = uart_read_iir(u);
		break;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		val = uart_read_lsr(u);
		break;
	case UART_MSR:
		val = u->msr;
		u->msr &= ~UART_MSR_DELTAS;
		break;
	default:
		return u->scr;
	}
	uart_update_irq(u);
	return val;
}

static void uart_write_ier(struct uart *u, u8 val)
{
	u8 enabled = (val & ~u->ier) & 0x0f;

	u->ier = val & 0x0f;
	/* Enabling ETBEI while THR is empty raises the THRE interrupt at once. */
	if ((enabled & UART_IER_ETBEI) && !u->tx_count)
		u->thre_pending = true;
}

static void uart_write(void *dev, u64 off, unsigned size, u64 val64)
{
	struct uart *u = dev;
	size_t room = uart_can_receive(u);
	u8 val = val64;

	(void)size;
	switch (off) {
	case UART_THR:
		if (u->lcr & UART_LCR_DLAB)
			u->divisor = (u->divisor & 0xff00) | val;
		else
			uart_write_thr(u, val);
		break;
	case UART_IER:
		if (u->lcr & UART_LCR_DLAB)
			u->divisor = (u->divisor & 0x00ff) | (u16)(val << 8);
		else
			uart_write_ier(u, val);
		break;
	case UART_FCR:
		uart_write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & UART_MCR_MASK;
		uart_update_msr(u, true);
		uart_tx_drain(u); /* leaving loopback: bytes held for the back end go out */
		break;
	case UART_LSR:
	case UART_MSR:
		log_guest("%s: write %#x to read-only register %u ignored", u->name, val,
			  (unsigned)off);
		break;
	default:
		u->scr = val;
		break;
	}
	uart_update_irq(u);
	uart_notify_rx_space(u, room); /* FCR clear, FIFO enable or leaving loopback */
}

static const struct io_ops uart_io = {
	.read = uart_read,
	.write = uart_write,
	.min_size = 1,
	.max_size = 1,
};

void uart_reset(struct uart *u)
{
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->fcr = 0;
	u->scr = 0;
	u->lsr_errs = 0;
	u->divisor = 12; /* 9600 baud */
	uart_rx_clear(u);
	u->tx_head = 0;
	u->tx_count = 0;
	u->thre_pending = false;
	uart_update_msr(u, false);
	u->msr &= ~UART_MSR_DELTAS;
	uart_update_irq(u);
}

size_t uart_can_receive(const struct uart *u)
{
	if (u->mcr & UART_MCR_LOOP) /* the serial input is disconnected in loopback */
		return 0;
	return uart_fifo_capacity(u) - u->rx_count;
}

size_t uart_receive(struct uart *u, const u8 *buf, size_t len)
{
	size_t n = MIN(len, uart_can_receive(u));

	for (size_t i = 0; i < n; i++)
		uart_rx_push(u, buf[i]);
	if (n) {
		uart_restart_timeout(u);
		uart_update_irq(u);
	}
	return n;
}

void uart_tx_kick(struct uart *u)
{
	uart_tx_drain(u);
	uart_update_irq(u);
}

int uart_create(struct platform *p, const struct uart_config *cfg, struct irq_line irq,
		struct uart **out, struct err *err)
{
	struct uart *u = calloc(1, sizeof(*u));
	int ret;

	if (!u)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	u->p = p;
	snprintf(u->name, sizeof(u->name), "%s", cfg->name);
	u->base = cfg->base;
	u->irq = irq;
	u->write = cfg->write;
	u->rx_ready = cfg->rx_ready;
	u->opaque = cfg->opaque;
	timer_init(&u->cti_timer, &p->clock, uart_cti_fire, u);
	uart_reset(u);
	ret = bus_map_dev(&p->pio, cfg->base, UART_NR_PORTS, &uart_io, u, u->name, err);
	if (ret < 0)
		goto err_free;
	*out = u;
	return 0;

err_free:
	free(u);
	return ret;
}

void uart_destroy(struct uart *u)
{
	if (!u)
		return;
	timer_cancel(&u->cti_timer);
	bus_unmap(&u->p->pio, u->base);
	free(u);
}

static void uart_ops_reset(void *dev)
{
	uart_reset(dev);
}

static void uart_ops_destroy(void *dev)
{
	uart_destroy(dev);
}

/* The FIFOs' bounds (hostile records) and the IRQ line, which was high if irq_level says so. */
static int uart_post_load(void *obj, u32 version, struct err *err)
{
	struct uart *u = obj;

	(void)version;
	if (u->rx_count > uart_fifo_capacity(u) || u->tx_count > uart_fifo_capacity(u))
		return err_set(err, -EINVAL, "%s: FIFO counts %u/%u exceed the FIFO size %u",
			       u->name, u->rx_count, u->tx_count, uart_fifo_capacity(u));
	if (u->irq_level)
		irq_line_set(&u->irq, 1);
	return 0;
}

static const struct state_field uart_fields[] = {
	STATE_HOST(struct uart, p, "the platform"),
	STATE_HOST(struct uart, name, "the board's name"),
	STATE_U16(struct uart, base, STATE_CHECKED),
	STATE_HOST(struct uart, irq, "the line the board wired"),
	STATE_INT(struct uart, irq_level, STATE_MAX(1)),
	STATE_HOST(struct uart, write, "back end"),
	STATE_HOST(struct uart, rx_ready, "back end"),
	STATE_HOST(struct uart, opaque, "back end"),
	STATE_U8(struct uart, ier, STATE_MAX(0x0f)),
	STATE_U8(struct uart, lcr),
	STATE_U8(struct uart, mcr, STATE_MAX(UART_MCR_MASK)),
	STATE_U8(struct uart, fcr),
	STATE_U8(struct uart, scr),
	STATE_U8(struct uart, lsr_errs),
	STATE_U8(struct uart, msr),
	STATE_U16(struct uart, divisor),
	STATE_ARRAY(struct uart, rx, U8),
	STATE_U32(struct uart, rx_head, STATE_MAX(UART_FIFO_SIZE - 1)),
	STATE_U32(struct uart, rx_count, STATE_MAX(UART_FIFO_SIZE)),
	STATE_ARRAY(struct uart, tx, U8),
	STATE_U32(struct uart, tx_head, STATE_MAX(UART_FIFO_SIZE - 1)),
	STATE_U32(struct uart, tx_count, STATE_MAX(UART_FIFO_SIZE)),
	STATE_BOOL(struct uart, thre_pending),
	STATE_BOOL(struct uart, timeout_pending),
	STATE_TIMER(struct uart, cti_timer),
	STATE_END,
};

static const struct state_desc uart_state = {
	.name = "uart",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct uart),
	.fields = uart_fields,
	.post_load = uart_post_load,
};

const struct device_ops uart_device_ops = {
	.type = "uart",
	.reset = uart_ops_reset,
	.state = &uart_state,
	.destroy = uart_ops_destroy,
};
