// SPDX-License-Identifier: MIT
/*
 * 16550A UART (src/devices/uart.c) through the real pio bus with a fake IRQ
 * line and the fake clock. Register semantics follow the PC16550D datasheet,
 * sections 8.4-8.10 and table IV.
 */
#include "devices/uart.h"
#include "devices/uart_regs.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define COM1 0x3f8

struct uart_fixture {
	struct test_platform tp;
	struct fake_irq irq;
	struct uart *u;
	u8 out[256];
	size_t out_len;
	size_t accept; /* bytes the back end takes per call */
	unsigned write_calls;
	unsigned rx_ready_calls;
};

static void fixture_rx_ready(void *opaque)
{
	struct uart_fixture *f = opaque;

	f->rx_ready_calls++;
}

static size_t fixture_write(void *opaque, const u8 *buf, size_t len)
{
	struct uart_fixture *f = opaque;
	size_t n = MIN(len, f->accept);

	f->write_calls++;
	n = MIN(n, sizeof(f->out) - f->out_len);
	memcpy(f->out + f->out_len, buf, n);
	f->out_len += n;
	return n;
}

static int uart_setup(void **state)
{
	struct uart_fixture *f = calloc(1, sizeof(*f));
	struct uart_config cfg = {
		.name = "uart0", .base = COM1, .write = fixture_write, .rx_ready = fixture_rx_ready
	};
	struct err err = { 0 };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	cfg.opaque = f;
	f->accept = SIZE_MAX;
	assert_int_equal(uart_create(&f->tp.p, &cfg, fake_irq_line(&f->irq, 4), &f->u, &err), 0);
	*state = f;
	return 0;
}

static int uart_teardown(void **state)
{
	struct uart_fixture *f = *state;

	uart_destroy(f->u);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u8 rd(struct uart_fixture *f, unsigned reg)
{
	return (u8)bus_read(&f->tp.p.pio, COM1 + reg, 1);
}

static void wr(struct uart_fixture *f, unsigned reg, u8 val)
{
	bus_write(&f->tp.p.pio, COM1 + reg, 1, val);
}

static void test_thre_interrupt_follows_ier_and_iir_read(void **state)
{
	struct uart_fixture *f = *state;

	wr(f, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(fake_irq_level(&f->irq), 1); /* THR empty + enabled: raised */

	assert_int_equal(rd(f, UART_IIR) & 0x0f, UART_IIR_THRI);
	assert_int_equal(fake_irq_level(&f->irq), 0); /* reading IIR acknowledges it */
	assert_int_equal(fake_irq_edges(&f->irq), 2);
	assert_int_equal(rd(f, UART_IIR) & 0x0f, UART_IIR_NONE);

	/* Rewriting IER with ETBEI still set is not a new enable: nothing pending. */
	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	/* A transmitted byte empties THR again: interrupt, cleared by the next THR write. */
	wr(f, UART_THR, 'x');
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(fake_irq_edges(&f->irq), 3);
	wr(f, UART_IER, 0);
	assert_int_equal(fake_irq_level(&f->irq), 0);
}

static void test_out2_gates_the_line(void **state)
{
	struct uart_fixture *f = *state;

	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(rd(f, UART_IIR) & 0x0f, UART_IIR_THRI); /* pending in IIR ... */
	wr(f, UART_IER, 0);
	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(fake_irq_level(&f->irq), 0); /* ... but OUT2 is off: line low */
	wr(f, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	wr(f, UART_MCR, UART_MCR_DTR);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	/* Loopback forces the OUT pins inactive: no line even with OUT2 set. */
	wr(f, UART_MCR, UART_MCR_OUT2 | UART_MCR_LOOP);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	wr(f, UART_MCR, UART_MCR_OUT2);
	assert_int_equal(fake_irq_level(&f->irq), 1);
}

static void test_transmit_reaches_back_end(void **state)
{
	struct uart_fixture *f = *state;
	const char *msg = "hello, 16550";

	for (const char *c = msg; *c; c++)
		wr(f, UART_THR, (u8)*c);
	assert_int_equal(f->out_len, strlen(msg));
	assert_memory_equal(f->out, msg, strlen(msg));
	assert_int_equal(rd(f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT),
			 UART_LSR_THRE | UART_LSR_TEMT);
}

static void test_tx_fifo_holds_bytes_the_back_end_refuses(void **state)
{
	struct uart_fixture *f = *state;

	wr(f, UART_FCR, UART_FCR_FIFO_EN);
	wr(f, UART_MCR, UART_MCR_OUT2);
	f->accept = 0;
	for (unsigned i = 0; i < 20; i++)
		wr(f, UART_THR, (u8)('a' + i));
	assert_int_equal(f->out_len, 0);
	assert_int_equal(rd(f, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT), 0);
	wr(f, UART_IER, UART_IER_THRI);
	assert_int_equal(fake_irq_level(&f->irq), 0); /* THR not empty: no THRE interrupt */

	f->accept = 5; /* partial progress keeps order */
	uart_tx_kick(f->u);
	assert_int_equal(f->out_len, 5);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	f->accept = SIZE_MAX;
	uart_tx_kick(f->u);
	assert_int_equal(f->out_len, 16); /* 16-byte FIFO: the last 4 bytes were dropped */
	assert_memory_equal(f->out, "abcdefghijklmnop", 16);
	assert_int_equal(fake_irq_level(&f->irq), 1); /* emptied: THRE interrupt */
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_THRI);
}

static void test_divisor_latch(void **state)
{
	struct uart_fixture *f = *state;

	wr(f, UART_IER, UART_IER_ERBFI);
	wr(f, UART_LCR, UART_LCR_DLAB | 0x03);
	assert_int_equal(rd(f, UART_DLL), 12); /* reset: 9600 baud */
	assert_int_equal(rd(f, UART_DLM), 0);
	wr(f, UART_DLL, 0x01);
	wr(f, UART_DLM, 0x02);
	assert_int_equal(rd(f, UART_DLL), 0x01);
	assert_int_equal(rd(f, UART_DLM), 0x02);
	assert_int_equal(f->out_len, 0); /* DLL write did not transmit */
	wr(f, UART_LCR, 0x03);
	assert_int_equal(rd(f, UART_IER), UART_IER_ERBFI); /* IER untouched by DLM */
	assert_int_equal(rd(f, UART_LCR), 0x03);
	wr(f, UART_SCR, 0x5a);
	assert_int_equal(rd(f, UART_SCR), 0x5a);
}

static void test_receive_without_fifo(void **state)
{
	struct uart_fixture *f = *state;
	const u8 in[] = { 'o', 'k' };

	wr(f, UART_MCR, UART_MCR_OUT2);
	wr(f, UART_IER, UART_IER_ERBFI);
	assert_int_equal(uart_can_receive(f->u), 1);
	assert_int_equal(uart_receive(f->u, in, 2), 1); /* one holding register */
	assert_int_equal(uart_can_receive(f->u), 0);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_RDA);
	assert_true(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(f, UART_RBR), 'o');
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(uart_receive(f->u, in + 1, 1), 1);
	assert_int_equal(rd(f, UART_RBR), 'k');
}

static void test_fifo_trigger_levels(void **state)
{
	struct uart_fixture *f = *state;

	static const struct {
		u8 bits;
		unsigned level;
	} trig[] = { { 0x00, 1 }, { 0x40, 4 }, { 0x80, 8 }, { 0xc0, 14 } };

	u8 buf[UART_FIFO_SIZE];

	memset(buf, 'r', sizeof(buf));
	wr(f, UART_MCR, UART_MCR_OUT2);
	wr(f, UART_IER, UART_IER_ERBFI);
	for (unsigned i = 0; i < 4; i++) {
		wr(f, UART_FCR, UART_FCR_FIFO_EN | UART_FCR_RX_RESET | trig[i].bits);
		assert_int_equal(uart_can_receive(f->u), UART_FIFO_SIZE);
		assert_int_equal(uart_receive(f->u, buf, trig[i].level - 1), trig[i].level - 1);
		assert_int_equal(fake_irq_level(&f->irq), 0);
		assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_NONE);
		assert_int_equal(uart_receive(f->u, buf, 1), 1);
		assert_int_equal(fake_irq_level(&f->irq), 1);
		assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_RDA);
		rd(f, UART_RBR); /* below the trigger again */
		assert_int_equal(fake_irq_level(&f->irq), 0);
	}
	/* Full FIFO takes no more; clearing RX empties it. */
	wr(f, UART_FCR, UART_FCR_FIFO_EN | UART_FCR_RX_RESET);
	assert_int_equal(uart_receive(f->u, buf, sizeof(buf)), UART_FIFO_SIZE);
	assert_int_equal(uart_receive(f->u, buf, 1), 0);
	wr(f, UART_FCR, UART_FCR_FIFO_EN | UART_FCR_RX_RESET);
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
	/* Turning the FIFO off clears it and IIR bits 7:6. */
	assert_int_equal(uart_receive(f->u, buf, 3), 3);
	wr(f, UART_FCR, 0);
	assert_false(rd(f, UART_LSR) & UART_LSR_DR);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
}

static void test_character_timeout(void **state)
{
	struct uart_fixture *f = *state;
	/* divisor 1, 8N1: 10 bits at 115200 baud = 86805 ns per character */
	const u64 four_chars = 4 * (10 * 1000000000ull / 115200);
	const u8 in[] = { '1', '2', '3' };

	wr(f, UART_LCR, UART_LCR_DLAB | 0x03);
	wr(f, UART_DLL, 1);
	wr(f, UART_DLM, 0);
	wr(f, UART_LCR, 0x03);
	wr(f, UART_FCR, UART_FCR_FIFO_EN | 0xc0); /* trigger 14 */
	wr(f, UART_MCR, UART_MCR_OUT2);
	wr(f, UART_IER, UART_IER_ERBFI);
	assert_int_equal(uart_receive(f->u, in, 3), 3);
	test_platform_advance(&f->tp, four_chars - 1000);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 2000);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_CTI);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_CTI); /* IIR read keeps it */

	assert_int_equal(rd(f, UART_RBR), '1'); /* a FIFO read clears it and restarts the timer */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, four_chars - 1000);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 2000);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	assert_int_equal(rd(f, UART_RBR), '2');
	assert_int_equal(rd(f, UART_RBR), '3');
	test_platform_advance(&f->tp, 10 * four_chars); /* empty: no timeout */
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_NONE);
}

static void test_character_time_follows_divisor_and_lcr(void **state)
{
	struct uart_fixture *f = *state;
	/* divisor 12, 7 data bits, parity, 2 stop bits: 11 bits at 9600 baud */
	const u64 four_chars = 4 * (11 * 1000000000ull * 12 / 115200);
	const u8 in = 'z';

	wr(f, UART_LCR, UART_LCR_DLAB);
	wr(f, UART_DLL, 12);
	wr(f, UART_LCR, 0x02 | UART_LCR_PEN | UART_LCR_STB);
	wr(f, UART_FCR, UART_FCR_FIFO_EN | 0x40); /* trigger 4 */
	wr(f, UART_MCR, UART_MCR_OUT2);
	wr(f, UART_IER, UART_IER_ERBFI);
	assert_int_equal(uart_receive(f->u, &in, 1), 1);
	test_platform_advance(&f->tp, four_chars - 10000);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	test_platform_advance(&f->tp, 20000);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	/* A new character does not clear a timeout that already occurred. */
	assert_int_equal(uart_receive(f->u, &in, 1), 1);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_FIFO_ENA | UART_IIR_CTI);
}

static void test_iir_priorities(void **state)
{
	struct uart_fixture *f = *state;

	/* Loopback without FIFO: two bytes overrun RBR (OE), RBR holds the first. */
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	wr(f, UART_IER, 0x0f);
	wr(f, UART_THR, 'A');
	wr(f, UART_THR, 'B');
	assert_int_equal(f->out_len, 0); /* looped back, not sent */
	assert_int_equal(rd(f, UART_IIR), UART_IIR_RLS);
	assert_int_equal(rd(f, UART_LSR) & (UART_LSR_OE | UART_LSR_DR), UART_LSR_OE | UART_LSR_DR);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_RDA); /* LSR read cleared OE */
	assert_int_equal(rd(f, UART_RBR), 'A');
	assert_int_equal(rd(f, UART_IIR), UART_IIR_THRI);
	/* Entering loopback with only RTS set dropped DSR and DCD: modem status. */
	assert_int_equal(rd(f, UART_IIR), UART_IIR_MSI);
	assert_int_equal(rd(f, UART_MSR), UART_MSR_CTS | UART_MSR_DDSR | UART_MSR_DDCD);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);
}

static void test_loopback_msr_follows_mcr(void **state)
{
	struct uart_fixture *f = *state;

	/* Out of loopback the back end looks connected: CTS, DSR, DCD. */
	assert_int_equal(rd(f, UART_MSR), UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD);
	wr(f, UART_MCR, UART_MCR_LOOP);
	assert_int_equal(rd(f, UART_MSR), UART_MSR_DCTS | UART_MSR_DDSR | UART_MSR_DDCD);
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_DTR);
	assert_int_equal(rd(f, UART_MSR), UART_MSR_DSR | UART_MSR_DDSR);
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1 | UART_MCR_OUT2);
	assert_int_equal(rd(f, UART_MSR),
			 UART_MSR_RI | UART_MSR_DCD | UART_MSR_DDSR | UART_MSR_DDCD);
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2);
	assert_int_equal(rd(f, UART_MSR), UART_MSR_DCD | UART_MSR_TERI); /* RI trailing edge */
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS);
	assert_int_equal(rd(f, UART_MSR), UART_MSR_CTS | UART_MSR_DCTS | UART_MSR_DDCD);
	assert_int_equal(uart_can_receive(f->u), 0); /* serial input disconnected */

	/* Looped-back data in FIFO mode. */
	wr(f, UART_FCR, UART_FCR_FIFO_EN);
	wr(f, UART_THR, 'L');
	wr(f, UART_THR, 'B');
	assert_int_equal(rd(f, UART_RBR), 'L');
	assert_int_equal(rd(f, UART_RBR), 'B');
	assert_int_equal(f->out_len, 0);
	wr(f, UART_MCR, 0);
	wr(f, UART_THR, 'T');
	assert_int_equal(f->out_len, 1);
	assert_int_equal(f->out[0], 'T');
}

static void test_reset_and_busy_ports(void **state)
{
	struct uart_fixture *f = *state;
	struct uart_config cfg = { .name = "uart1", .base = COM1 + 4 };
	struct uart *other = NULL;
	struct err err = { 0 };
	const u8 in = 1;

	wr(f, UART_MCR, UART_MCR_OUT2);
	wr(f, UART_IER, UART_IER_ERBFI);
	assert_int_equal(uart_receive(f->u, &in, 1), 1);
	assert_int_equal(fake_irq_level(&f->irq), 1);
	uart_device_ops.reset(f->u);
	assert_int_equal(fake_irq_level(&f->irq), 0);
	assert_int_equal(rd(f, UART_IER), 0);
	assert_int_equal(rd(f, UART_LSR), UART_LSR_THRE | UART_LSR_TEMT);
	assert_int_equal(rd(f, UART_IIR), UART_IIR_NONE);

	assert_int_equal(uart_create(&f->tp.p, &cfg, (struct irq_line){ 0 }, &other, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "uart1"));
	assert_string_equal(uart_device_ops.type, "uart");
}

/*
 * The register checks a Linux-style 8250 probe makes to tell a 16550A from
 * its relatives: IER holds 0 and 0x0f, loopback reflects RTS|OUT2 as
 * CTS|DCD, FIFOs report IIR bits 7:6 = 11, there is no EFR behind LCR 0xBF,
 * no 64-byte FIFO (IIR bit 5) and no UUE bit in IER.
 */
static void test_probe_identifies_16550a(void **state)
{
	struct uart_fixture *f = *state;

	wr(f, UART_IER, 0);
	assert_int_equal(rd(f, UART_IER) & 0x0f, 0);
	wr(f, UART_IER, 0x0f);
	assert_int_equal(rd(f, UART_IER) & 0x0f, 0x0f);
	wr(f, UART_IER, 0);
	wr(f, UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	assert_int_equal(rd(f, UART_MSR) & 0xf0, UART_MSR_CTS | UART_MSR_DCD);
	wr(f, UART_MCR, 0);
	wr(f, UART_FCR, UART_FCR_FIFO_EN);
	assert_int_equal(rd(f, UART_IIR) >> 6, 3);
	wr(f, UART_LCR, 0xbf);
	assert_int_not_equal(rd(f, 2), 0); /* no EFR */
	wr(f, UART_LCR, 0);
	wr(f, UART_FCR, UART_FCR_FIFO_EN | 0x20);
	assert_int_equal((rd(f, UART_IIR) >> 5) & 1, 0); /* no 64-byte FIFO */
	wr(f, UART_IER, 0x40);
	assert_int_equal(rd(f, UART_IER), 0);
	assert_int_equal(f->out_len, 0); /* probing sent nothing down the line */
}

static void test_rx_ready_when_full_fifo_gets_room(void **state)
{
	struct uart_fixture *f = *state;
	u8 buf[UART_FIFO_SIZE + 4];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(uart_receive(f->u, buf, 1), 1); /* holding register full */
	assert_int_equal(uart_can_receive(f->u), 0);
	rd(f, UART_LSR); /* no room made: no call */
	assert_int_equal(f->rx_ready_calls, 0);
	rd(f, UART_RBR);
	assert_int_equal(f->rx_ready_calls, 1);
	rd(f, UART_RBR); /* was not full: no call */
	assert_int_equal(f->rx_ready_calls, 1);

	assert_int_equal(uart_receive(f->u, buf, 1), 1);
	wr(f, UART_FCR, UART_FCR_FIFO_EN); /* enabling the FIFO clears it: room */
	assert_int_equal(f->rx_ready_calls, 2);
	assert_int_equal(uart_receive(f->u, buf, sizeof(buf)), UART_FIFO_SIZE);
	rd(f, UART_RBR);
	assert_int_equal(f->rx_ready_calls, 3);
	assert_int_equal(uart_can_receive(f->u), 1);
	wr(f, UART_MCR, UART_MCR_LOOP); /* loopback disconnects input: no room */
	assert_int_equal(uart_can_receive(f->u), 0);
	wr(f, UART_MCR, 0);
	assert_int_equal(f->rx_ready_calls, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, uart_setup, uart_teardown)
		T(test_thre_interrupt_follows_ier_and_iir_read),
		T(test_out2_gates_the_line),
		T(test_transmit_reaches_back_end),
		T(test_tx_fifo_holds_bytes_the_back_end_refuses),
		T(test_divisor_latch),
		T(test_receive_without_fifo),
		T(test_fifo_trigger_levels),
		T(test_character_timeout),
		T(test_character_time_follows_divisor_and_lcr),
		T(test_iir_priorities),
		T(test_loopback_msr_follows_mcr),
		T(test_reset_and_busy_ports),
		T(test_probe_identifies_16550a),
		T(test_rx_ready_when_full_fifo_gets_room),
#undef T
	};

	return cmocka_run_group_tests_name("uart", tests, NULL, NULL);
}
