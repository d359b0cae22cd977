// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the "chips" record (src/vmm/chips_record.c) and the bt board's importer
 * of it (board_irqchip_import in src/vmm/board_irqchip.c): the engine-neutral state of the
 * interrupt controllers and timers, as a state taken under the other engine, a file or a
 * migration peer hands it over, loaded into the PC's userspace 8259 pair, PIT, I/O APIC, HPET
 * and two local APICs on the test platform.
 *
 * The input is one record ("VMSR", type and instance "chips") and, after it, a program that
 * drives the chips the way the guest and the board would: lines raised, lowered and pulsed,
 * MSIs, the CPUs' INTA cycles, local APIC window and MSR accesses, port I/O to the 8259s and
 * the PIT, virtual time. A record that imports must also survive a round trip: exported,
 * saved, loaded and imported again. After each input every chip is reset in place.
 *
 * `fuzz_chips_replay --write-seeds DIR` (or the libFuzzer binary with that argument) writes a
 * seed corpus into DIR: records of boards driven into states Linux and firmware leave.
 */
#include "fuzz.h"

#include "devices/lapic_regs.h"
#include "test_platform.h"
#include "vmm/board_irqchip.h"
#include "vmm/chips_record.h"
#include "vmm/platform_state.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CPUS    2
#define FUZZ_OPS_MAX 256 /* drive operations per input */

static struct {
	struct test_platform tp;
	struct board_irqchip *ic;
	unsigned intr_changes, nmis, startups;
	bool ready;
} fc;

static void fc_set_intr(void *opaque, unsigned cpu, bool level)
{
	(void)opaque;
	(void)level;
	FUZZ_CHECK(cpu < FUZZ_CPUS);
	fc.intr_changes++;
}

static void fc_nmi(void *opaque, unsigned cpu)
{
	(void)opaque;
	FUZZ_CHECK(cpu < FUZZ_CPUS);
	fc.nmis++;
}

static void fc_startup(void *opaque, unsigned cpu, int vector)
{
	(void)opaque;
	FUZZ_CHECK(cpu < FUZZ_CPUS && vector >= -1 && vector <= 0xff);
	fc.startups++;
}

static void fc_init(void)
{
	struct board_irqchip_config cfg = { .nr_cpus = FUZZ_CPUS,
					    .ioapic_id = FUZZ_CPUS,
					    .x2apic = true,
					    .set_intr = fc_set_intr,
					    .nmi = fc_nmi,
					    .startup = fc_startup };

	if (test_platform_init(&fc.tp, 0) < 0 ||
	    board_irqchip_create(&fc.tp.p, &cfg, &fc.ic, NULL) < 0)
		abort();
	fc.ready = true;
}

static void fc_reset(void)
{
	pthread_mutex_lock(&fc.tp.p.dev_lock);
	platform_state_reset(&fc.tp.p);
	board_irqchip_reset(fc.ic);
	pthread_mutex_unlock(&fc.tp.p.dev_lock);
}

static int fc_import(const struct chips_state *s)
{
	int ret;

	pthread_mutex_lock(&fc.tp.p.dev_lock);
	ret = board_irqchip_import(fc.ic, s, NULL);
	pthread_mutex_unlock(&fc.tp.p.dev_lock);
	return ret;
}

/* What imported once exports to a record that loads and imports again. */
static void fc_round_trip(void)
{
	struct chips_record *r = calloc(1, sizeof(*r)), *back = calloc(1, sizeof(*back));
	struct state_buf b;

	FUZZ_CHECK(r && back);
	state_buf_init(&b);
	pthread_mutex_lock(&fc.tp.p.dev_lock);
	board_irqchip_export(fc.ic, &r->s);
	pthread_mutex_unlock(&fc.tp.p.dev_lock);
	FUZZ_CHECK(state_save(&chips_record_desc, CHIPS_STATE_RECORD, r, &b, NULL) == 0);
	FUZZ_CHECK(state_load(&chips_record_desc, CHIPS_STATE_RECORD, back, b.data, b.len, NULL) ==
		   0);
	FUZZ_CHECK(memcmp(&r->s, &back->s, sizeof(r->s)) == 0);
	FUZZ_CHECK(fc_import(&back->s) == 0);
	state_buf_free(&b);
	free(back);
	free(r);
}

/* One drive operation from the program after the record. */
static void fc_op(struct fuzz_in *in)
{
	static const u16 ports[] = { 0x20, 0x21, 0xa0, 0xa1,  0x40, 0x41,
				     0x42, 0x43, 0x61, 0x4d0, 0x4d1 };
	struct platform *p = &fc.tp.p;
	u8 op = fuzz_u8(in);
	unsigned cpu = op >> 7;
	u64 v;
	u32 w;

	switch (op & 0x7f) {
	case 0 ... 15: { /* a line: raise, lower or pulse */
		struct irq_line l = board_irqchip_line(fc.ic, fuzz_u8(in) % BOARD_IRQCHIP_NR_LINES);

		pthread_mutex_lock(&p->dev_lock);
		if (op & 8)
			irq_line_pulse(&l);
		else
			irq_line_set(&l, op & 1);
		pthread_mutex_unlock(&p->dev_lock);
		break;
	}
	case 16 ... 23: /* an MSI: an address in the APIC window or anywhere, any data */
		v = op & 1 ? 0xfee00000u | (fuzz_u32(in) & 0xffff0u) : fuzz_u64(in);
		w = fuzz_u32(in);
		pthread_mutex_lock(&p->dev_lock);
		board_irqchip_msi(fc.ic, v, w);
		pthread_mutex_unlock(&p->dev_lock);
		break;
	case 24 ... 39: /* the INTA cycle */
		FUZZ_CHECK(board_irqchip_intr_ack(fc.ic, cpu) <= 0xff);
		break;
	case 40 ... 55: /* the local APIC window: any register, read or written */
		w = fuzz_u32(in);
		(void)board_irqchip_mmio(fc.ic, cpu, LAPIC_DEFAULT_BASE + (fuzz_u16(in) & 0xff0u),
					 4, op & 1, &w);
		break;
	case 56 ... 63: /* an EOI */
		w = 0;
		(void)board_irqchip_mmio(fc.ic, cpu, LAPIC_DEFAULT_BASE + LAPIC_EOI, 4, true, &w);
		break;
	case 64 ... 79: /* the machine's MSRs: APIC base, TSC deadline, x2APIC */
		v = fuzz_u64(in);
		w = fuzz_u8(in);
		(void)board_irqchip_msr(fc.ic, cpu,
					w < 0x80 ? 0x800 + w :
					w < 0xc0 ? 0x1b :
						   0x6e0,
					op & 1, &v);
		break;
	case 80 ... 111: { /* port I/O to the 8259s, the PIT, port 0x61 and the ELCR */
		u16 port = ports[fuzz_u8(in) % ARRAY_SIZE(ports)];

		if (op & 1)
			bus_write(&p->pio, port, 1, fuzz_u8(in));
		else
			(void)bus_read(&p->pio, port, 1);
		break;
	}
	default: /* virtual time: up to about 67 ms at a time */
		(void)test_platform_advance(&fc.tp, fuzz_uint(in, 3) * 4);
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct state_record hdr;
	struct chips_record *r;
	struct fuzz_in in;

	fuzz_quiet_logs(); /* hostile states warn on every access */
	if (!fc.ready)
		fc_init();
	if (state_record_parse(data, size, &hdr, NULL) < 0 || hdr.len > size)
		return 0;
	r = calloc(1, sizeof(*r));
	FUZZ_CHECK(r != NULL);
	if (state_load(&chips_record_desc, hdr.instance, r, data, hdr.len, NULL) == 0 &&
	    fc_import(&r->s) == 0) {
		fc_round_trip();
		in = fuzz_in_init(data + hdr.len, size - hdr.len);
		for (unsigned i = 0; i < FUZZ_OPS_MAX && fuzz_left(&in); i++)
			fc_op(&in);
		fc_round_trip();
	}
	free(r);
	fc_reset();
	return 0;
}

static void fc_outb(u16 port, u8 val)
{
	bus_write(&fc.tp.p.pio, port, 1, val);
}

static void fc_apic_write(unsigned cpu, u32 reg, u32 val)
{
	(void)board_irqchip_mmio(fc.ic, cpu, LAPIC_DEFAULT_BASE + reg, 4, true, &val);
}

/* The board's record, then tail (a drive program) if there is one. */
static int fc_write_seed(const char *dir, const char *name, const u8 *tail, size_t tail_len)
{
	struct chips_record *r = calloc(1, sizeof(*r));
	struct state_buf b;
	char path[512];
	FILE *f;
	int ret = -1;

	state_buf_init(&b);
	pthread_mutex_lock(&fc.tp.p.dev_lock);
	board_irqchip_export(fc.ic, &r->s);
	pthread_mutex_unlock(&fc.tp.p.dev_lock);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (state_save(&chips_record_desc, CHIPS_STATE_RECORD, r, &b, NULL) == 0 &&
	    (f = fopen(path, "wb")) != NULL) {
		bool ok = fwrite(b.data, 1, b.len, f) == b.len &&
			  (!tail_len || fwrite(tail, 1, tail_len, f) == tail_len);

		ret = fclose(f) == 0 && ok ? 0 : -1;
	}
	if (ret < 0)
		perror(path);
	state_buf_free(&b);
	free(r);
	return ret;
}

/* Boards after reset, after Linux's 8259/PIT set-up, and with APIC timers and IPIs pending. */
static int fc_write_seeds(const char *dir)
{
	static const u8 pic_init[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 },
					  { 0x21, 0x01 }, { 0xa0, 0x11 }, { 0xa1, 0x28 },
					  { 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0xfa },
					  { 0xa1, 0xff }, { 0x43, 0x34 }, { 0x40, 0x9c },
					  { 0x40, 0x2e } };
	static const u8 program[] = {
		0x7f, 0x00, 0x40, 0x00, 24, 56, 24 | 0x80, 56 | 0x80, 1,  0, 0,	   0,  0x7f, 0x10,
		0x27, 0x00, 24,	  56,	9,  17, 24,	   56,	      81, 1, 0xfb, 24, 56
	};
	struct irq_line l;

	fc_init();
	if (fc_write_seed(dir, "reset.bin", NULL, 0) < 0)
		return 1;
	for (unsigned i = 0; i < ARRAY_SIZE(pic_init); i++)
		fc_outb(pic_init[i][0], pic_init[i][1]);
	(void)test_platform_advance(&fc.tp, 3000000);
	if (fc_write_seed(dir, "pic-pit.bin", NULL, 0) < 0)
		return 1;
	for (unsigned cpu = 0; cpu < FUZZ_CPUS; cpu++) {
		fc_apic_write(cpu, LAPIC_SVR, 0x1ff);
		fc_apic_write(cpu, LAPIC_LVT_TIMER, 0x20040 | cpu);
		fc_apic_write(cpu, LAPIC_TDCR, 0x3);
		fc_apic_write(cpu, LAPIC_TMICT, 50000);
	}
	fc_apic_write(0, LAPIC_ICR_HI, 1u << 24);
	fc_apic_write(0, LAPIC_ICR_LO, 0x4051);
	l = board_irqchip_line(fc.ic, 17);
	pthread_mutex_lock(&fc.tp.p.dev_lock);
	irq_line_set(&l, 1);
	board_irqchip_msi(fc.ic, 0xfee00000u, 0x61);
	pthread_mutex_unlock(&fc.tp.p.dev_lock);
	(void)test_platform_advance(&fc.tp, 20000);
	if (fc_write_seed(dir, "apic-timers-ipi.bin", NULL, 0) < 0)
		return 1;
	/* Time passes, both CPUs take and end their interrupts, IRQ 0 and GSI 17 move. */
	if (fc_write_seed(dir, "apic-timers-ipi-driven.bin", program, sizeof(program)) < 0)
		return 1;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (*argc == 3 && !strcmp((*argv)[1], "--write-seeds"))
		exit(fc_write_seeds((*argv)[2]));
	return 0;
}
