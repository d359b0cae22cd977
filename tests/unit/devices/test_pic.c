// SPDX-License-Identifier: MIT
/*
 * 8259A pair (src/devices/pic.c) through ports 0x20/0x21, 0xa0/0xa1 and the
 * ELCR at 0x4d0/0x4d1, with a fake INTR line and device lines from
 * pic_input(). Each test first programs the pair the way Linux's
 * init_8259A() does (ICW1 0x11, vectors 0x20/0x28, cascade on IR2, 8086
 * mode), unless it tests the initialization itself.
 */
#include "devices/pic.h"
#include "devices/pic_regs.h"
#include "fake_irq.h"
#include "test_platform.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

struct fixture {
	struct test_platform tp;
	struct fake_irq intr;
	struct pic *pic;
	struct irq_line in[PIC_NR_IRQS];
};

static void outb(struct fixture *f, u16 port, u8 val)
{
	bus_write(&f->tp.p.pio, port, 1, val);
}

static u8 inb(struct fixture *f, u16 port)
{
	return (u8)bus_read(&f->tp.p.pio, port, 1);
}

static void linux_init(struct fixture *f, u8 icw4)
{
	outb(f, 0x21, 0xff);
	outb(f, 0xa1, 0xff);
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x20);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, icw4);
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x28);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, icw4);
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
}

static int setup_raw(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pic_config cfg = { .name = "pic",
				  .master_base = PIC_MASTER_BASE,
				  .slave_base = PIC_SLAVE_BASE,
				  .elcr_base = PIC_ELCR_BASE };

	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pic_create(&f->tp.p, &cfg, fake_irq_line(&f->intr, 0), &f->pic, NULL), 0);
	for (unsigned i = 0; i < PIC_NR_IRQS; i++)
		f->in[i] = pic_input(f->pic, i);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	setup_raw(state);
	linux_init(*state, PIC_ICW4_UPM);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pic_destroy(f->pic);
	test_platform_destroy(&f->tp);
	free(f);
	return 0;
}

static u8 read_isr(struct fixture *f, u16 base)
{
	u8 v;

	outb(f, base, PIC_OCW3 | PIC_OCW3_RR | PIC_OCW3_RIS);
	v = inb(f, base);
	outb(f, base, PIC_OCW3 | PIC_OCW3_RR);
	return v;
}

static void test_irq0_vector_and_eoi(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fake_irq_level(&f->intr), 0);
	irq_line_pulse(&f->in[0]);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(inb(f, 0x20), 0x01); /* IRR read by default */
	assert_int_equal(pic_ack(f->pic), 0x20);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0x20), 0x00);
	assert_int_equal(read_isr(f, 0x20), 0x01);
	outb(f, 0x20, PIC_OCW2_EOI);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(f->intr.rises, 1);
}

static void test_slave_cascade(void **state)
{
	struct fixture *f = *state;

	irq_line_pulse(&f->in[10]);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(inb(f, 0xa0), 0x04);
	assert_int_equal(pic_ack(f->pic), 0x2a);
	assert_int_equal(read_isr(f, 0x20), 0x04);
	assert_int_equal(read_isr(f, 0xa0), 0x04);
	/* Master IR2 in service blocks further slave requests (no special fully nested mode). */
	irq_line_pulse(&f->in[8]);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	outb(f, 0xa0, PIC_OCW2_EOI);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	outb(f, 0x20, PIC_OCW2_EOI);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(pic_ack(f->pic), 0x28);
}

static void test_priority_and_nesting(void **state)
{
	struct fixture *f = *state;

	irq_line_pulse(&f->in[3]);
	irq_line_pulse(&f->in[1]);
	assert_int_equal(pic_ack(f->pic), 0x21);
	assert_int_equal(fake_irq_level(&f->intr), 0); /* IR3 waits behind IR1 in service */
	irq_line_pulse(&f->in[0]);
	assert_int_equal(fake_irq_level(&f->intr), 1); /* IR0 nests over IR1 */
	assert_int_equal(pic_ack(f->pic), 0x20);
	assert_int_equal(read_isr(f, 0x20), 0x03);
	outb(f, 0x20, PIC_OCW2_EOI); /* non-specific: clears IR0, the highest */
	assert_int_equal(read_isr(f, 0x20), 0x02);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	outb(f, 0x20, PIC_OCW2_SPECIFIC_EOI | 1);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(pic_ack(f->pic), 0x23);
}

static void test_imr_masks(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x21, 0x10);
	assert_int_equal(inb(f, 0x21), 0x10);
	irq_line_pulse(&f->in[4]);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0x20), 0x10); /* requested, masked */
	outb(f, 0x21, 0x00);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(pic_ack(f->pic), 0x24);
	outb(f, 0xa1, 0x02); /* slave IR1 = IRQ 9 masked */
	irq_line_pulse(&f->in[9]);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0xa0), 0x02);
}

static void test_elcr_level_redelivers(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x4d1, 0xff);
	assert_int_equal(inb(f, 0x4d1), PIC_ELCR2_MASK); /* IRQ 8 and 13 stay edge */
	outb(f, 0x4d0, 0xff);
	assert_int_equal(inb(f, 0x4d0), PIC_ELCR1_MASK);
	outb(f, 0x4d0, 0x00);
	outb(f, 0x4d1, 0x04); /* IRQ 10 level */
	irq_line_set(&f->in[10], 1);
	assert_int_equal(pic_ack(f->pic), 0x2a);
	outb(f, 0xa0, PIC_OCW2_EOI);
	outb(f, 0x20, PIC_OCW2_EOI);
	assert_int_equal(fake_irq_level(&f->intr), 1); /* still asserted: again */
	assert_int_equal(pic_ack(f->pic), 0x2a);
	irq_line_set(&f->in[10], 0);
	outb(f, 0xa0, PIC_OCW2_EOI);
	outb(f, 0x20, PIC_OCW2_EOI);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0xa0), 0x00);
}

static void test_spurious_irq7(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x4d0, 0x20); /* IRQ 5 level */
	irq_line_set(&f->in[5], 1);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	irq_line_set(&f->in[5], 0); /* gone before INTA */
	assert_int_equal(pic_ack(f->pic), 0x27);
	assert_int_equal(read_isr(f, 0x20), 0x00); /* spurious: no ISR bit */
	/* An edge request stays latched even if the line falls first. */
	irq_line_pulse(&f->in[6]);
	assert_int_equal(pic_ack(f->pic), 0x26);
}

static void test_auto_eoi(void **state)
{
	struct fixture *f = *state;

	linux_init(f, PIC_ICW4_UPM | PIC_ICW4_AEOI);
	irq_line_pulse(&f->in[1]);
	irq_line_pulse(&f->in[3]);
	assert_int_equal(pic_ack(f->pic), 0x21);
	assert_int_equal(read_isr(f, 0x20), 0x00);
	assert_int_equal(fake_irq_level(&f->intr), 1); /* nothing in service blocks IR3 */
	assert_int_equal(pic_ack(f->pic), 0x23);
	assert_int_equal(fake_irq_level(&f->intr), 0);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x20, PIC_OCW2_SET_PRIORITY | 4); /* IR4 lowest, IR5 highest */
	irq_line_pulse(&f->in[3]);
	irq_line_pulse(&f->in[6]);
	assert_int_equal(pic_ack(f->pic), 0x26);
	/* Rotate on non-specific EOI: IR6 becomes lowest, so IR7 then IR0.. IR3 outrank it. */
	outb(f, 0x20, PIC_OCW2_ROTATE_EOI);
	irq_line_pulse(&f->in[6]);
	assert_int_equal(pic_ack(f->pic), 0x23);
	outb(f, 0x20, PIC_OCW2_ROTATE_EOI); /* now IR3 lowest: IR6 wins */
	assert_int_equal(pic_ack(f->pic), 0x26);
}

static void test_poll_command(void **state)
{
	struct fixture *f = *state;

	outb(f, 0x20, PIC_OCW3 | PIC_OCW3_P);
	assert_int_equal(inb(f, 0x20), 0x00); /* nothing pending */
	irq_line_pulse(&f->in[5]);
	outb(f, 0x20, PIC_OCW3 | PIC_OCW3_P);
	assert_int_equal(inb(f, 0x20), PIC_POLL_INT | 5);
	assert_int_equal(read_isr(f, 0x20), 0x20); /* the poll read acknowledged it */
	assert_int_equal(inb(f, 0x20), 0x00);	   /* back to reading IRR */
}

static void test_special_mask_mode(void **state)
{
	struct fixture *f = *state;

	irq_line_pulse(&f->in[1]);
	assert_int_equal(pic_ack(f->pic), 0x21);
	irq_line_pulse(&f->in[3]);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	outb(f, 0x21, 0x02);					/* mask IR1, in service */
	outb(f, 0x20, PIC_OCW3 | PIC_OCW3_ESMM | PIC_OCW3_SMM); /* special mask mode */
	assert_int_equal(fake_irq_level(&f->intr), 1);		/* IR3 gets through */
	assert_int_equal(pic_ack(f->pic), 0x23);
	outb(f, 0x20, PIC_OCW3 | PIC_OCW3_ESMM); /* leave special mask mode */
	assert_int_equal(read_isr(f, 0x20), 0x0a);
}

static void test_icw1_resets_edge_sense(void **state)
{
	struct fixture *f = *state;

	irq_line_set(&f->in[4], 1); /* held high across initialization */
	linux_init(f, PIC_ICW4_UPM);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0x20), 0x00);
	irq_line_set(&f->in[4], 0);
	irq_line_set(&f->in[4], 1);
	assert_int_equal(pic_ack(f->pic), 0x24);
}

static void test_uninitialised_and_reset(void **state)
{
	struct fixture *f = *state;

	irq_line_pulse(&f->in[0]);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	pic_reset(f->pic);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	assert_int_equal(inb(f, 0x21), 0x00);
	assert_int_equal(inb(f, 0x20), 0x00);
	assert_int_equal(inb(f, 0x4d0), 0x00);
}

static void test_special_fully_nested(void **state)
{
	struct fixture *f = *state;

	linux_init(f, PIC_ICW4_UPM);
	outb(f, 0x20, 0x11); /* master again, with SFNM */
	outb(f, 0x21, 0x20);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, PIC_ICW4_UPM | PIC_ICW4_SFNM);
	irq_line_pulse(&f->in[12]);
	assert_int_equal(pic_ack(f->pic), 0x2c);
	irq_line_pulse(&f->in[9]); /* higher priority on the slave: recognised */
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(pic_ack(f->pic), 0x29);
	irq_line_pulse(&f->in[14]); /* lower: blocked by the slave's own ISR */
	assert_int_equal(fake_irq_level(&f->intr), 0);
}

/*
 * Without firmware the pair starts (and resets) as a BIOS leaves it: IRQ0 is vector 08h, IRQ8
 * 70h, the masked IRQ3 is held, and a guest's OCW1 alone (no ICWs) unmasks it at 0Bh.
 */
static void test_bios_state(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pic_config cfg = { .name = "pic",
				  .master_base = PIC_MASTER_BASE,
				  .slave_base = PIC_SLAVE_BASE,
				  .elcr_base = PIC_ELCR_BASE,
				  .bios_state = true };

	(void)state;
	assert_non_null(f);
	assert_int_equal(test_platform_init(&f->tp, 0), 0);
	assert_int_equal(pic_create(&f->tp.p, &cfg, fake_irq_line(&f->intr, 0), &f->pic, NULL), 0);
	for (unsigned i = 0; i < PIC_NR_IRQS; i++)
		f->in[i] = pic_input(f->pic, i);
	assert_int_equal(inb(f, 0x21), 0xf8);
	assert_int_equal(inb(f, 0xa1), 0xce);
	irq_line_set(&f->in[0], 1);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(pic_ack(f->pic), 0x08);
	irq_line_set(&f->in[0], 0);
	outb(f, 0x20, 0x20); /* EOI */
	irq_line_set(&f->in[8], 1);
	assert_int_equal(pic_ack(f->pic), 0x70);
	irq_line_set(&f->in[8], 0);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	irq_line_set(&f->in[3], 1);
	assert_int_equal(fake_irq_level(&f->intr), 0);
	outb(f, 0x21, 0xf0);
	assert_int_equal(fake_irq_level(&f->intr), 1);
	assert_int_equal(pic_ack(f->pic), 0x0b);
	irq_line_set(&f->in[3], 0);
	/* A reset goes back to the BIOS state, not to an uninitialised pair. */
	pic_reset(f->pic);
	assert_int_equal(inb(f, 0x21), 0xf8);
	irq_line_set(&f->in[1], 1);
	assert_int_equal(pic_ack(f->pic), 0x09);
	*state = f;
	teardown(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_irq0_vector_and_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slave_cascade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priority_and_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imr_masks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elcr_level_redelivers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spurious_irq7, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_special_mask_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_icw1_resets_edge_sense, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uninitialised_and_reset, setup_raw, teardown),
		cmocka_unit_test_setup_teardown(test_special_fully_nested, setup, teardown),
		cmocka_unit_test(test_bios_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
