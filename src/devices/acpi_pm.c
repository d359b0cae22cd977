// SPDX-License-Identifier: MIT
/*
 * ACPI fixed hardware, ACPI 6.5 specification chapter 4.8:
 *   - PM1a event block (4.8.3.1): PM1_STS, write-1-to-clear, and PM1_EN;
 *   - PM1a control block (4.8.3.2): SCI_EN, SLP_TYP and SLP_EN; a sleep
 *     request for S5 (ACPI_PM_SLP_TYP_S5) asks the VM to power off, one for
 *     S3 (ACPI_PM_SLP_TYP_S3, when the board offers it) to suspend; RTC_STS
 *     when the RTC interrupts, WAK_STS on the way back from S3;
 *   - PM timer (4.8.3.3): 3.579545 MHz, 24 bits (or 32 with TMR_VAL_EXT),
 *     derived from the virtual clock; TMR_STS sets when its top bit toggles;
 *   - GPE0 block (4.8.4.1): GPE0_STS (write-1-to-clear) and GPE0_EN.
 * The SCI line is high while SCI_EN is set and an enabled PM1 or GPE0 event
 * is pending (the SCI is level-triggered, 4.8.2.1.1).
 *
 * Not modelled: sleep states other than S3 and S5 (logged and ignored), the PM1b
 * blocks, PM2 control, bus-master status, the global lock (GBL_RLS writes are
 * accepted and ignored: there is no firmware SMI handler), wake events.
 */
#include "devices/acpi_pm.h"

#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* PM1_STS bits that can raise the SCI when their enable bit is set. */
#define ACPI_PM1_EVENTS                                                                    \
	(ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | \
	 ACPI_PM1_RTC_STS)
#define ACPI_PM1_EN_MASK                                                               \
	(ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | ACPI_PM1_SLPBTN_EN | \
	 ACPI_PM1_RTC_EN)
#define ACPI_PM1_STS_MASK (ACPI_PM1_EVENTS | ACPI_PM1_BM_STS | ACPI_PM1_WAK_STS)
#define ACPI_PM1_CNT_RW	  (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

struct acpi_pm {
	struct platform *p;
	char name[32];
	struct irq_line sci;
	int sci_level;
	bool tmr_32bit;
	bool s3;
	u16 pm1_sts, pm1_en, pm1_cnt;
	u32 gpe0_sts, gpe0_en;
	u64 tmr_epoch; /* timer value >> (width - 1) when TMR_STS was last brought up to date */
	struct timer tmr_timer;
};

static unsigned acpi_pm_tmr_bits(const struct acpi_pm *pm)
{
	return pm->tmr_32bit ? 32 : 24;
}

/* PM timer ticks since virtual time 0 (not wrapped). */
static u64 acpi_pm_ticks(const struct acpi_pm *pm)
{
	unsigned __int128 ns = vclock_now_ns(&pm->p->clock);

	return (u64)(ns * ACPI_PM_TMR_HZ / 1000000000u);
}

/* Virtual time at which the timer reaches ticks (rounded up). */
static u64 acpi_pm_ticks_to_ns(u64 ticks)
{
	unsigned __int128 t = ticks;

	return (u64)((t * 1000000000u + ACPI_PM_TMR_HZ - 1) / ACPI_PM_TMR_HZ);
}

/* Set TMR_STS if the timer's top bit toggled since the last look (4.8.3.3). */
static void acpi_pm_tmr_sync(struct acpi_pm *pm)
{
	u64 epoch = acpi_pm_ticks(pm) >> (acpi_pm_tmr_bits(pm) - 1);

	if (epoch != pm->tmr_epoch) {
		pm->pm1_sts |= ACPI_PM1_TMR_STS;
		pm->tmr_epoch = epoch;
	}
}

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
	int level = (pm->pm1_cnt & ACPI_PM1_SCI_EN) &&
		    ((pm->pm1_sts & pm->pm1_en & ACPI_PM1_EVENTS) || (pm->gpe0_sts & pm->gpe0_en));

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

/* With TMR_EN set, wake up at the next toggle of the timer's top bit to raise the SCI. */
static void acpi_pm_tmr_rearm(struct acpi_pm *pm)
{
	unsigned shift = acpi_pm_tmr_bits(pm) - 1;

	if (pm->pm1_en & ACPI_PM1_TMR_EN)
		timer_arm(&pm->tmr_timer, acpi_pm_ticks_to_ns((pm->tmr_epoch + 1) << shift));
	else
		timer_cancel(&pm->tmr_timer);
}

static void acpi_pm_tmr_fire(void *opaque)
{
	struct acpi_pm *pm = opaque;

	acpi_pm_tmr_sync(pm);
	acpi_pm_update_sci(pm);
	acpi_pm_tmr_rearm(pm);
}

static u64 acpi_pm_evt_read(void *dev, u64 off, unsigned size)
{
	struct acpi_pm *pm = dev;

	(void)size;
	acpi_pm_tmr_sync(pm);
	acpi_pm_update_sci(pm);
	switch (off) {
	case 0:
	case 1:
		return (pm->pm1_sts >> (8 * off)) & 0xff;
	default:
		return (pm->pm1_en >> (8 * (off - 2))) & 0xff;
	}
}

static void acpi_pm_evt_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct acpi_pm *pm = dev;
	u16 v = (u16)((val & 0xff) << (8 * (off & 1)));
	u16 byte_mask = (u16)(0xff << (8 * (off & 1)));

	(void)size;
	acpi_pm_tmr_sync(pm);
	if (off < 2) {
		pm->pm1_sts &= ~(v & ACPI_PM1_STS_MASK); /* write 1 to clear */
	} else {
		pm->pm1_en = (pm->pm1_en & ~byte_mask) | (v & ACPI_PM1_EN_MASK);
		acpi_pm_tmr_rearm(pm);
	}
	acpi_pm_update_sci(pm);
}

static u64 acpi_pm_cnt_read(void *dev, u64 off, unsigned size)
{
	struct acpi_pm *pm = dev;

	(void)size;
	return (pm->pm1_cnt >> (8 * off)) & 0xff; /* SLP_EN and GBL_RLS are write-only: 0 */
}

static void acpi_pm_sleep(struct acpi_pm *pm, unsigned typ)
{
	if (typ == ACPI_PM_SLP_TYP_S5) {
		log_info("%s: guest entered S5: powering off", pm->name);
		platform_request(pm->p, PLATFORM_REQ_POWEROFF, 0);
		return;
	}
	if (typ == ACPI_PM_SLP_TYP_S3 && pm->s3) {
		log_info("%s: guest entered S3: suspending", pm->name);
		platform_request(pm->p, PLATFORM_REQ_SUSPEND, 0);
		return;
	}
	log_unimp("%s: sleep type %u requested: only %s, ignored", pm->name, typ,
		  pm->s3 ? "S3 (1) and S5 (0) are supported" : "S5 (0) is supported");
}

static void acpi_pm_cnt_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct acpi_pm *pm = dev;
	u16 v = (u16)((val & 0xff) << (8 * off));
	u16 byte_mask = (u16)(0xff << (8 * off));

	(void)size;
	pm->pm1_cnt = (pm->pm1_cnt & ~byte_mask) | (v & ACPI_PM1_CNT_RW);
	acpi_pm_update_sci(pm);
	if (v & ACPI_PM1_SLP_EN)
		acpi_pm_sleep(pm, (pm->pm1_cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
}

static u64 acpi_pm_tmr_read(void *dev, u64 off, unsigned size)
{
	struct acpi_pm *pm = dev;
	u64 ticks = acpi_pm_ticks(pm);

	(void)off;
	(void)size;
	return pm->tmr_32bit ? (u32)ticks : ticks & 0xffffff;
}

static void acpi_pm_tmr_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct acpi_pm *pm = dev;

	(void)off;
	(void)size;
	log_guest("%s: write %#llx to the read-only PM timer ignored", pm->name,
		  (unsigned long long)val);
}

static u64 acpi_pm_gpe_read(void *dev, u64 off, unsigned size)
{
	struct acpi_pm *pm = dev;

	(void)size;
	if (off < 4)
		return (pm->gpe0_sts >> (8 * off)) & 0xff;
	return (pm->gpe0_en >> (8 * (off - 4))) & 0xff;
}

static void acpi_pm_gpe_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct acpi_pm *pm = dev;
	unsigned shift = 8 * (off & 3);

	(void)size;
	if (off < 4) {
		pm->gpe0_sts &= ~((u32)(val & 0xff) << shift);
	} else {
		pm->gpe0_en &= ~(0xffu << shift);
		pm->gpe0_en |= (u32)(val & 0xff) << shift;
	}
	acpi_pm_update_sci(pm);
}

static const struct io_ops acpi_pm_evt_io = {
	.read = acpi_pm_evt_read, .write = acpi_pm_evt_write, .min_size = 1, .max_size = 1
};
static const struct io_ops acpi_pm_cnt_io = {
	.read = acpi_pm_cnt_read, .write = acpi_pm_cnt_write, .min_size = 1, .max_size = 1
};
/* 4-byte only, so a narrower read still samples the counter once. */
static const struct io_ops acpi_pm_tmr_io = {
	.read = acpi_pm_tmr_read, .write = acpi_pm_tmr_write, .min_size = 4, .max_size = 4
};
static const struct io_ops acpi_pm_gpe_io = {
	.read = acpi_pm_gpe_read, .write = acpi_pm_gpe_write, .min_size = 1, .max_size = 1
};

static const struct acpi_pm_block {
	u16 port, len;
	const struct io_ops *ops;
} acpi_pm_blocks[] = {
	{ ACPI_PM_PM1A_EVT, ACPI_PM_PM1_EVT_LEN, &acpi_pm_evt_io },
	{ ACPI_PM_PM1A_CNT, ACPI_PM_PM1_CNT_LEN, &acpi_pm_cnt_io },
	{ ACPI_PM_TMR, ACPI_PM_TMR_LEN, &acpi_pm_tmr_io },
	{ ACPI_PM_GPE0, ACPI_PM_GPE0_LEN, &acpi_pm_gpe_io },
};

void acpi_pm_reset(struct acpi_pm *pm)
{
	pm->pm1_sts = 0;
	pm->pm1_en = 0;
	pm->pm1_cnt = ACPI_PM1_SCI_EN;
	pm->gpe0_sts = 0;
	pm->gpe0_en = 0;
	pm->tmr_epoch = acpi_pm_ticks(pm) >> (acpi_pm_tmr_bits(pm) - 1);
	timer_cancel(&pm->tmr_timer);
	acpi_pm_update_sci(pm);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pm->pm1_sts |= ACPI_PM1_PWRBTN_STS;
	acpi_pm_update_sci(pm);
}

void acpi_pm_gpe_set(struct acpi_pm *pm, unsigned bit)
{
	if (bit >= 32)
		return;
	pm->gpe0_sts |= 1u << bit;
	acpi_pm_update_sci(pm);
}

void acpi_pm_rtc_event(struct acpi_pm *pm)
{
	pm->pm1_sts |= ACPI_PM1_RTC_STS;
	acpi_pm_update_sci(pm);
}

bool acpi_pm_wake_event(const struct acpi_pm *pm)
{
	return (pm->pm1_sts & pm->pm1_en & ACPI_PM1_RTC_STS) || (pm->pm1_sts & ACPI_PM1_PWRBTN_STS);
}

void acpi_pm_woke(struct acpi_pm *pm)
{
	pm->pm1_sts |= ACPI_PM1_WAK_STS;
	acpi_pm_update_sci(pm);
}

static void acpi_pm_unmap(struct acpi_pm *pm, unsigned nr)
{
	for (unsigned i = 0; i < nr; i++)
		bus_unmap(&pm->p->pio, acpi_pm_blocks[i].port);
}

int acpi_pm_create(struct platform *p, const struct acpi_pm_config *cfg, struct irq_line sci,
		   struct acpi_pm **out, struct err *err)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	unsigned i;
	int ret;

	if (!pm)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	pm->p = p;
	snprintf(pm->name, sizeof(pm->name), "%s", cfg->name);
	pm->sci = sci;
	pm->tmr_32bit = cfg->tmr_32bit;
	pm->s3 = cfg->s3;
	timer_init(&pm->tmr_timer, &p->clock, acpi_pm_tmr_fire, pm);
	acpi_pm_reset(pm);
	for (i = 0; i < ARRAY_SIZE(acpi_pm_blocks); i++) {
		const struct acpi_pm_block *b = &acpi_pm_blocks[i];

		ret = bus_map_dev(&p->pio, b->port, b->len, b->ops, pm, pm->name, err);
		if (ret < 0)
			goto err_unmap;
	}
	*out = pm;
	return 0;

err_unmap:
	acpi_pm_unmap(pm, i);
	free(pm);
	return ret;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	timer_cancel(&pm->tmr_timer);
	acpi_pm_unmap(pm, ARRAY_SIZE(acpi_pm_blocks));
	free(pm);
}

static void acpi_pm_ops_reset(void *dev)
{
	acpi_pm_reset(dev);
}

static void acpi_pm_ops_destroy(void *dev)
{
	acpi_pm_destroy(dev);
}

static int acpi_pm_post_load(void *obj, u32 version, struct err *err)
{
	struct acpi_pm *pm = obj;

	(void)version, (void)err;
	if (pm->sci_level)
		irq_line_set(&pm->sci, 1);
	return 0;
}

static const struct state_field acpi_pm_fields[] = {
	STATE_HOST(struct acpi_pm, p, "the platform"),
	STATE_HOST(struct acpi_pm, name, "the board's name"),
	STATE_HOST(struct acpi_pm, sci, "the line the board wired"),
	STATE_INT(struct acpi_pm, sci_level, STATE_MAX(1)),
	STATE_BOOL(struct acpi_pm, tmr_32bit, STATE_CHECKED),
	STATE_HOST(struct acpi_pm, s3, "the board's choice (S3 not offered to UEFI firmware)"),
	STATE_U16(struct acpi_pm, pm1_sts),
	STATE_U16(struct acpi_pm, pm1_en),
	STATE_U16(struct acpi_pm, pm1_cnt),
	STATE_U32(struct acpi_pm, gpe0_sts),
	STATE_U32(struct acpi_pm, gpe0_en),
	STATE_U64(struct acpi_pm, tmr_epoch),
	STATE_TIMER(struct acpi_pm, tmr_timer),
	STATE_END,
};

static const struct state_desc acpi_pm_state = {
	.name = "acpi-pm",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct acpi_pm),
	.fields = acpi_pm_fields,
	.post_load = acpi_pm_post_load,
};

const struct device_ops acpi_pm_device_ops = {
	.type = "acpi-pm",
	.reset = acpi_pm_ops_reset,
	.state = &acpi_pm_state,
	.destroy = acpi_pm_ops_destroy,
};
