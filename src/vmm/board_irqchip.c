// SPDX-License-Identifier: MIT
/*
 * The PC's userspace interrupt controllers and timers (board_irqchip.h),
 * wired as on a PIIX-based PC with an I/O APIC (Intel MultiProcessor
 * Specification 1.4 section 3.6.2 "virtual wire" and 3.6.3 "symmetric I/O"
 * modes; ACPI 6.5 5.2.12.5 interrupt source overrides):
 *
 *   ISA IRQ n (0-15) --+--> 8259 input n (the slave on 8-15; 2 is the cascade)
 *                      +--> I/O APIC pin n (IRQ0 -> pin 2, the MADT's override)
 *   GSI 16-23 ---------> I/O APIC pin (PCI INTx, the DSDT's _PRT)
 *   8259 INT ----------> the BSP's LINT0 (ExtINT after reset: virtual wire)
 *   I/O APIC, MSIs, ICR IPIs --> APIC bus --> the local APIC(s) named
 *   local APIC "interrupt pending" --> the CPU's INTR pin (config set_intr)
 *   local APIC NMI (LINT1, NMI messages) --> the CPU's NMI (config nmi)
 *   INTA cycle --------> lapic_ack (which runs the 8259's INTA for ExtINT)
 *   level EOI ---------> ioapic_eoi
 *   INIT / STARTUP ----> config startup (the VMM puts the CPU in wait-for-SIPI,
 *                        then starts it at vector << 12; SDM vol. 3A 9.4.4)
 *
 * The PIT's OUT0 is IRQ0 unless the HPET's legacy replacement route is on
 * (HPET 1.0a 2.3.5.1), then the HPET's timer 0 drives IRQ0 and timer 1 IRQ8.
 * (The RTC keeps its own IRQ8 line: the board gives the HPET no ACPI table,
 * so Linux never turns legacy replacement on.)
 *
 * A CPU's INTR level is recomputed (lapic_has_interrupt) whenever its local
 * APIC says something may be pending (lapic_ops.wake), after its INTA cycle
 * and after each of its local APIC register accesses (a TPR raise or an
 * LINT0 drop lowers it without a wake), and driven on change only.
 */
#include "vmm/board_irqchip.h"

#include "devices/hpet.h"
#include "devices/ioapic.h"
#include "devices/ioapic_regs.h"
#include "devices/lapic.h"
#include "devices/lapic_regs.h"
#include "devices/pic.h"
#include "devices/pic_regs.h"
#include "devices/pit.h"
#include "devices/pit_regs.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_IRQCHIP_PORT_B 0x61
/* Private sink pins: sources that can be switched off the shared IRQ0 line. */
#define BOARD_IRQCHIP_SRC_PIT 0x100

struct board_irqchip {
	struct platform *p;
	unsigned nr_cpus;
	struct apic_bus *bus;
	struct lapic *lapic[BOARD_IRQCHIP_MAX_CPUS];
	struct ioapic *ioapic;
	struct pic *pic;
	struct pit *pit;
	struct hpet *hpet;
	struct irq_line pic_in[PIC_NR_IRQS];
	struct irq_line ioapic_in[IOAPIC_NR_PINS];
	bool intr[BOARD_IRQCHIP_MAX_CPUS]; /* INTR level last driven */
	bool hpet_legacy;
	bool pit_level;
	int extint_vector; /* during an INTA: the vector the 8259 gave, or -1 */
	void (*set_intr)(void *opaque, unsigned cpu, bool level);
	void (*nmi)(void *opaque, unsigned cpu);
	void (*startup)(void *opaque, unsigned cpu, int vector);
	void *opaque;
};

/* Pass on a pending NMI, and drive cpu's INTR pin from its local APIC on change. Device lock held. */
static void board_irqchip_update(struct board_irqchip *ic, unsigned cpu)
{
	bool level;

	if (cpu >= ic->nr_cpus || !ic->lapic[cpu])
		return;
	if (lapic_take_nmi(ic->lapic[cpu]) && ic->nmi)
		ic->nmi(ic->opaque, cpu);
	level = lapic_has_interrupt(ic->lapic[cpu]);
	if (level == ic->intr[cpu])
		return;
	ic->intr[cpu] = level;
	if (ic->set_intr)
		ic->set_intr(ic->opaque, cpu, level);
}

/* ------------------------------------------------------------------ lines */

/* ISA IRQ / GSI fan-out. pin: the line number, or a private source. Device lock held. */
static void board_irqchip_line_set(void *sink, unsigned pin, int level)
{
	struct board_irqchip *ic = sink;

	if (pin == BOARD_IRQCHIP_SRC_PIT) {
		ic->pit_level = level;
		if (ic->hpet_legacy)
			return;
		pin = 0;
	}
	if (pin < PIC_NR_IRQS) {
		if (pin != 2)
			irq_line_set(&ic->pic_in[pin], level);
		if (pin == 0)
			irq_line_set(&ic->ioapic_in[2], level);
		else if (pin != 2)
			irq_line_set(&ic->ioapic_in[pin], level);
	} else if (pin < IOAPIC_NR_PINS) {
		irq_line_set(&ic->ioapic_in[pin], level);
	}
}

struct irq_line board_irqchip_line(struct board_irqchip *ic, unsigned n)
{
	return (struct irq_line){ .set = board_irqchip_line_set, .sink = ic, .pin = n };
}

/* The 8259's INT output: the BSP's LINT0. Device lock held. */
static void board_irqchip_pic_intr(void *sink, unsigned pin, int level)
{
	struct board_irqchip *ic = sink;
	struct irq_line lint0 = lapic_lint(ic->lapic[0], 0);

	(void)pin;
	irq_line_set(&lint0, level);
	board_irqchip_update(ic, 0);
}

/* The HPET took over (or gave back) IRQ0: the PIT's output leaves (or rejoins) the line. */
static void board_irqchip_hpet_legacy(void *opaque, bool on)
{
	struct board_irqchip *ic = opaque;

	if (on == ic->hpet_legacy)
		return;
	ic->hpet_legacy = on;
	if (!on)
		board_irqchip_line_set(ic, 0, ic->pit_level);
}

void board_irqchip_msi(struct board_irqchip *ic, u64 addr, u32 data)
{
	struct apic_msg m;

	if (ioapic_msi_decode(addr, data, &m) < 0) {
		log_guest("irqchip: MSI to %#llx (data %#x) outside the MSI window dropped",
			  (unsigned long long)addr, data);
		return;
	}
	apic_bus_deliver(ic->bus, &m);
}

/* ----------------------------------------------------- local APIC callbacks */

static void board_irqchip_deliver(void *opaque, const struct apic_msg *m)
{
	struct board_irqchip *ic = opaque;

	apic_bus_deliver(ic->bus, m);
}

static void board_irqchip_eoi(void *opaque, u8 vector)
{
	struct board_irqchip *ic = opaque;

	ioapic_eoi(ic->ioapic, vector);
}

static void board_irqchip_startup(void *opaque, unsigned apic_id, int vector)
{
	struct board_irqchip *ic = opaque;

	log_dbg(LOG_CAT_IRQ, "irqchip: %s for cpu %u (vector %#x)", vector < 0 ? "INIT" : "STARTUP",
		apic_id, vector < 0 ? 0 : vector);
	board_irqchip_update(ic, apic_id); /* INIT cleared its local APIC */
	if (ic->startup && apic_id < ic->nr_cpus)
		ic->startup(ic->opaque, apic_id, vector);
}

static int board_irqchip_extint_ack(void *opaque)
{
	struct board_irqchip *ic = opaque;

	ic->extint_vector = pic_ack(ic->pic);
	return ic->extint_vector;
}

static void board_irqchip_wake(void *opaque, unsigned apic_id)
{
	board_irqchip_update(opaque, apic_id);
}

static const struct lapic_ops board_irqchip_lapic_ops = {
	.deliver = board_irqchip_deliver,
	.eoi = board_irqchip_eoi,
	.startup = board_irqchip_startup,
	.extint_ack = board_irqchip_extint_ack,
	.wake = board_irqchip_wake,
};

/* ------------------------------------------------------- per-CPU entries */

/*
 * Whether the vector an INTA just gave is ISA IRQ 0 (its source, the PIT or the HPET in legacy
 * replacement, then gives the next tick it owes): the 8259's IRQ 0 vector when the 8259
 * answered, else I/O APIC pin 2's (the MADT's override). Device lock held.
 */
static bool board_irqchip_is_irq0(const struct board_irqchip *ic, int v)
{
	if (ic->extint_vector >= 0)
		return v == pic_irq_vector(ic->pic, 0);
	return v == ioapic_pin_vector(ic->ioapic, 2);
}

int board_irqchip_intr_ack(struct board_irqchip *ic, unsigned cpu)
{
	int v;

	if (cpu >= ic->nr_cpus)
		return -1;
	pthread_mutex_lock(&ic->p->dev_lock);
	ic->extint_vector = -1;
	v = lapic_ack(ic->lapic[cpu]);
	if (v >= 0 && board_irqchip_is_irq0(ic, v)) {
		if (ic->hpet_legacy)
			hpet_irq0_acked(ic->hpet);
		else
			pit_irq0_acked(ic->pit);
	}
	board_irqchip_update(ic, cpu);
	pthread_mutex_unlock(&ic->p->dev_lock);
	log_dbg(LOG_CAT_IRQ, "irqchip: cpu %u INTA -> vector %d", cpu, v);
	return v;
}

/* One naturally aligned piece of at most 4 bytes in the APIC window. Device lock held. */
static void board_irqchip_lapic_access(struct lapic *l, u32 off, unsigned size, bool is_write,
				       u8 *data)
{
	u32 reg = off & ~3u, shift = (off & 3u) * 8, val;

	if (is_write) {
		memcpy(&val, data, size); /* little-endian host: low bytes first */
		if (size == 4 && !shift)
			lapic_write(l, reg, val);
		else
			log_guest("lapic: %u-byte write at offset %#x ignored (32-bit registers)",
				  size, off);
		return;
	}
	val = lapic_read(l, reg) >> shift;
	memcpy(data, &val, size);
}

bool board_irqchip_mmio(struct board_irqchip *ic, unsigned cpu, u64 gpa, unsigned size,
			bool is_write, void *data)
{
	struct lapic *l;
	u64 base;
	u32 off;

	if (cpu >= ic->nr_cpus)
		return false;
	l = ic->lapic[cpu];
	pthread_mutex_lock(&ic->p->dev_lock);
	base = lapic_base_msr(l);
	if (!(base & LAPIC_BASE_ENABLE) || (base & LAPIC_BASE_EXTD) ||
	    gpa - (base & LAPIC_BASE_ADDR_MASK) >= LAPIC_MMIO_SIZE) {
		pthread_mutex_unlock(&ic->p->dev_lock);
		return false;
	}
	off = (u32)(gpa - (base & LAPIC_BASE_ADDR_MASK));
	for (unsigned done = 0; done < size;) {
		unsigned n = MIN(size - done, 4 - ((off + done) & 3u));

		board_irqchip_lapic_access(l, off + done, n, is_write, (u8 *)data + done);
		done += n;
	}
	board_irqchip_update(ic, cpu);
	pthread_mutex_unlock(&ic->p->dev_lock);
	return true;
}

int board_irqchip_msr(struct board_irqchip *ic, unsigned cpu, u32 index, bool is_write, u64 *val)
{
	struct lapic *l;
	int ret = 0;

	if (cpu >= ic->nr_cpus)
		return -ENOENT;
	if (index != MSR_IA32_APIC_BASE && index != MSR_IA32_TSC_DEADLINE &&
	    (index < LAPIC_X2APIC_MSR_BASE || index > LAPIC_X2APIC_MSR_END))
		return -ENOENT;
	l = ic->lapic[cpu];
	pthread_mutex_lock(&ic->p->dev_lock);
	if (index == MSR_IA32_APIC_BASE) {
		if (is_write)
			ret = lapic_set_base_msr(l, *val);
		else
			*val = lapic_base_msr(l);
	} else if (index == MSR_IA32_TSC_DEADLINE) {
		if (is_write)
			lapic_set_tsc_deadline(l, *val);
		else
			*val = lapic_tsc_deadline(l);
	} else if (is_write) {
		ret = lapic_msr_write(l, index, *val);
	} else {
		ret = lapic_msr_read(l, index, val);
	}
	board_irqchip_update(ic, cpu);
	pthread_mutex_unlock(&ic->p->dev_lock);
	return ret < 0 ? -EINVAL : 0;
}

void board_irqchip_reset(struct board_irqchip *ic)
{
	/* The HPET's reset turned legacy replacement off: the PIT owns IRQ0 again. */
	board_irqchip_hpet_legacy(ic, false);
	for (unsigned cpu = 0; cpu < ic->nr_cpus; cpu++) {
		/* Drive every INTR pin from its (reset) local APIC, whatever was driven before. */
		ic->intr[cpu] = lapic_has_interrupt(ic->lapic[cpu]);
		if (ic->set_intr)
			ic->set_intr(ic->opaque, cpu, ic->intr[cpu]);
	}
}

/* ------------------------------------------------ the engine-neutral form */

void board_irqchip_export(const struct board_irqchip *ic, struct chips_state *out)
{
	memset(out, 0, sizeof(*out));
	pic_export(ic->pic, out->pic);
	ioapic_export(ic->ioapic, &out->ioapic);
	out->nr_lapics = ic->nr_cpus;
	for (unsigned cpu = 0; cpu < ic->nr_cpus; cpu++)
		lapic_export(ic->lapic[cpu], &out->lapic[cpu]);
	pit_export(ic->pit, out->pit, &out->speaker_data);
	out->hpet_enabled = hpet_guest_enabled(ic->hpet);
}

int board_irqchip_import(struct board_irqchip *ic, const struct chips_state *in, struct err *err)
{
	int ret = 0;

	if (in->nr_lapics != ic->nr_cpus)
		return err_set(err, -EINVAL, "irqchip: the state has %u local APICs, this VM %u",
			       in->nr_lapics, ic->nr_cpus);
	/*
	 * The local APICs first: the 8259's INT output then reaches LINT0 as it is now. The PIT
	 * before the 8259 and the I/O APIC: the IRQ 0 level it drives (its OUT) lands in the
	 * reset chips, whose input state the import then sets as saved, so that level makes no
	 * edge of its own (KVM's PIT pulses IRQ 0: its saved level is low between ticks).
	 */
	for (unsigned cpu = 0; ret == 0 && cpu < ic->nr_cpus; cpu++)
		ret = lapic_import(ic->lapic[cpu], &in->lapic[cpu], err);
	if (ret == 0)
		ret = pit_import(ic->pit, in->pit, in->speaker_data, err);
	if (ret == 0) {
		ioapic_import(ic->ioapic, &in->ioapic);
		ret = pic_import(ic->pic, in->pic, err);
	}
	for (unsigned cpu = 0; ret == 0 && cpu < ic->nr_cpus; cpu++)
		board_irqchip_update(ic, cpu);
	return ret;
}

bool board_irqchip_covers(const char *type)
{
	static const char *const types[] = { "lapic", "ioapic", "pic", "pit", "hpet" };

	for (unsigned i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(type, types[i]))
			return true;
	return false;
}

/* -------------------------------------------------------- create/destroy */

/* Put a device just created on the platform's device list (freed with the list). */
static int board_irqchip_register(struct board_irqchip *ic, const struct device_ops *ops, void *dev,
				  const char *name, struct err *err)
{
	int ret = platform_add_dev(ic->p, ops, dev, name);

	return ret < 0 ? err_set(err, ret, "%s: cannot register the device: %s", name,
				 strerror(-ret)) :
			 0;
}

static int board_irqchip_create_lapics(struct board_irqchip *ic,
				       const struct board_irqchip_config *cfg, struct err *err)
{
	int ret = apic_bus_create(&ic->bus);

	if (ret < 0)
		return err_set(err, ret, "irqchip: out of memory");
	for (unsigned i = 0; i < cfg->nr_cpus; i++) {
		char name[16];
		struct lapic_config lc = { .name = name,
					   .apic_id = i,
					   .bsp = i == 0,
					   .x2apic = cfg->x2apic,
					   .tsc_hz = BOARD_IRQCHIP_TSC_HZ,
					   .ops = &board_irqchip_lapic_ops,
					   .opaque = ic };

		snprintf(name, sizeof(name), "lapic%u", i);
		ret = lapic_create(ic->p, &lc, &ic->lapic[i], err);
		if (ret < 0)
			return ret;
		ret = board_irqchip_register(ic, &lapic_device_ops, ic->lapic[i], name, err);
		if (ret < 0)
			return ret;
		ret = apic_bus_attach(ic->bus, ic->lapic[i]);
		if (ret < 0)
			return err_set(err, ret, "irqchip: out of memory");
	}
	return 0;
}

int board_irqchip_create(struct platform *p, const struct board_irqchip_config *cfg,
			 struct board_irqchip **out, struct err *err)
{
	struct board_irqchip *ic;
	struct pic_config pc = { .name = "pic",
				 .master_base = PIC_MASTER_BASE,
				 .slave_base = PIC_SLAVE_BASE,
				 .elcr_base = PIC_ELCR_BASE,
				 .bios_state = cfg->pic_bios_state };
	struct pit_config tc = { .name = "pit",
				 .base = PIT_DEFAULT_BASE,
				 .port_b = BOARD_IRQCHIP_PORT_B };
	struct hpet_config hc = { .name = "hpet", .base = HPET_DEFAULT_BASE };
	int ret;

	*out = NULL;
	if (cfg->nr_cpus == 0 || cfg->nr_cpus > BOARD_IRQCHIP_MAX_CPUS)
		return err_set(err, -EINVAL, "irqchip: %u CPUs: 1 to %u have a local APIC",
			       cfg->nr_cpus, BOARD_IRQCHIP_MAX_CPUS);
	ic = calloc(1, sizeof(*ic));
	if (!ic)
		return err_set(err, -ENOMEM, "irqchip: out of memory");
	ic->p = p;
	ic->nr_cpus = cfg->nr_cpus;
	ic->set_intr = cfg->set_intr;
	ic->nmi = cfg->nmi;
	ic->startup = cfg->startup;
	ic->opaque = cfg->opaque;

	ret = board_irqchip_create_lapics(ic, cfg, err);
	if (ret < 0)
		goto err_destroy;
	{
		struct ioapic_config ioc = { .name = "ioapic",
					     .base = IOAPIC_DEFAULT_BASE,
					     .id = cfg->ioapic_id,
					     .deliver = apic_bus_deliver,
					     .deliver_opaque = ic->bus };

		ret = ioapic_create(p, &ioc, &ic->ioapic, err);
		if (ret < 0)
			goto err_destroy;
		ret = board_irqchip_register(ic, &ioapic_device_ops, ic->ioapic, ioc.name, err);
		if (ret < 0)
			goto err_destroy;
	}
	for (unsigned i = 0; i < IOAPIC_NR_PINS; i++)
		ic->ioapic_in[i] = ioapic_input(ic->ioapic, i);
	ret = pic_create(p, &pc,
			 (struct irq_line){ .set = board_irqchip_pic_intr, .sink = ic, .pin = 0 },
			 &ic->pic, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_irqchip_register(ic, &pic_device_ops, ic->pic, pc.name, err);
	if (ret < 0)
		goto err_destroy;
	for (unsigned i = 0; i < PIC_NR_IRQS; i++)
		if (i != 2)
			ic->pic_in[i] = pic_input(ic->pic, i);
	/*
	 * The HPET before the PIT, on the device list too: a state load restores the HPET's
	 * legacy replacement route before the PIT raises its output again, which must then stay
	 * off IRQ 0 (platform_state.h: devices load in list order).
	 */
	for (unsigned i = 0; i < HPET_NR_GSI; i++)
		hc.gsi[i] = ic->ioapic_in[i];
	hc.legacy_irq0 = board_irqchip_line(ic, 0);
	hc.legacy_irq8 = board_irqchip_line(ic, 8);
	hc.legacy_changed = board_irqchip_hpet_legacy;
	hc.opaque = ic;
	ret = hpet_create(p, &hc, &ic->hpet, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_irqchip_register(ic, &hpet_device_ops, ic->hpet, hc.name, err);
	if (ret < 0)
		goto err_destroy;
	ret = pit_create(p, &tc,
			 (struct irq_line){ .set = board_irqchip_line_set,
					    .sink = ic,
					    .pin = BOARD_IRQCHIP_SRC_PIT },
			 &ic->pit, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_irqchip_register(ic, &pit_device_ops, ic->pit, tc.name, err);
	if (ret < 0)
		goto err_destroy;
	*out = ic;
	return 0;

err_destroy:
	board_irqchip_destroy(ic);
	return ret;
}

void board_irqchip_destroy(struct board_irqchip *ic)
{
	if (!ic)
		return;
	for (unsigned i = 0; i < ic->nr_cpus; i++)
		platform_del_dev(ic->p, ic->lapic[i]);
	platform_del_dev(ic->p, ic->ioapic);
	platform_del_dev(ic->p, ic->pic);
	platform_del_dev(ic->p, ic->pit);
	platform_del_dev(ic->p, ic->hpet);
	hpet_destroy(ic->hpet);
	pit_destroy(ic->pit);
	pic_destroy(ic->pic);
	ioapic_destroy(ic->ioapic);
	for (unsigned i = 0; i < ic->nr_cpus; i++)
		lapic_destroy(ic->lapic[i]);
	apic_bus_destroy(ic->bus);
	free(ic);
}
