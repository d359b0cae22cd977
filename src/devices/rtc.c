// SPDX-License-Identifier: MIT
/*
 * MC146818A real-time clock (Motorola MC146818A datasheet): time, calendar
 * and alarm registers in BCD or binary (register B DM) and 12- or 24-hour
 * form, the update cycle with UIP set for 244 us before each update
 * ("Update cycle", figure 13 tBUC), the periodic interrupt at the rate of
 * register A RS3-RS0 (table 5, 32.768 kHz time base), alarm and update-ended
 * interrupts, and register C (flags, IRQF, cleared by reading). All three
 * sources drive one line (IRQ 8 on the PC), high while IRQF is set.
 *
 * Time is not stored: the clock reads virtual wall time (vclock_wall_ns)
 * plus an offset. Guest writes to the time registers (with register B SET,
 * or directly) move the offset. While SET is 1 the time registers hold what
 * the guest wrote and no updates happen; clearing SET starts the clock from
 * those values.
 *
 * Update-ended and alarm flags come from a 1 Hz timer; the periodic flag
 * comes from a timer only while PIE is set (otherwise PF is computed when
 * register C is read, so an idle guest costs no 1024 Hz wake-ups).
 *
 * Not modelled: the divider-chain control bits DV2-DV0 (stored only; the
 * clock always runs from the 32.768 kHz base), square-wave output (SQWE),
 * daylight-saving switching (DSE), NMI masking through bit 7 of the index
 * (the NMI line is not wired).
 */
#include "devices/rtc.h"

#include "devices/rtc_regs.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSEC_PER_SEC	1000000000ull
#define RTC_UIP_NS	244000ull /* UIP is set this long before each update */
#define RTC_TIMEBASE_HZ 32768ull

struct rtc {
	struct platform *p;
	char name[32];
	u16 base;
	struct irq_line irq;
	int irq_level;
	u8 index;
	u8 cmos[RTC_CMOS_SIZE]; /* time registers are meaningful here only while SET is 1 */
	u8 flags;		/* register C PF | AF | UF */
	s64 offset_ns;		/* RTC time = vclock_wall_ns + offset_ns */
	u64 pf_epoch;		/* periodic boundaries passed when PF was last brought up to date */
	struct timer update_timer, periodic_timer;
};

static bool rtc_is_time_reg(unsigned index)
{
	return index == RTC_SECONDS || index == RTC_MINUTES || index == RTC_HOURS ||
	       (index >= RTC_DAY_OF_WEEK && index <= RTC_YEAR) || index == RTC_CENTURY;
}

static u64 rtc_now_ns(const struct rtc *rtc)
{
	return vclock_wall_ns(&rtc->p->clock) + (u64)rtc->offset_ns;
}

static u8 rtc_to_reg(const struct rtc *rtc, unsigned v)
{
	if (rtc->cmos[RTC_REG_B] & RTC_B_DM)
		return (u8)v;
	return (u8)(((v / 10) << 4) | (v % 10));
}

static unsigned rtc_from_reg(const struct rtc *rtc, u8 v)
{
	if (rtc->cmos[RTC_REG_B] & RTC_B_DM)
		return v;
	return (v >> 4) * 10 + (v & 0x0f);
}

static u8 rtc_hour_to_reg(const struct rtc *rtc, unsigned hour)
{
	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_to_reg(rtc, hour);
	return rtc_to_reg(rtc, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? RTC_HOURS_PM : 0);
}

static unsigned rtc_hour_from_reg(const struct rtc *rtc, u8 v)
{
	if (rtc->cmos[RTC_REG_B] & RTC_B_24H)
		return rtc_from_reg(rtc, v);
	return rtc_from_reg(rtc, v & 0x7f) % 12 + ((v & RTC_HOURS_PM) ? 12 : 0);
}

/* Encode the current time into the time registers of cmos[] (current B format). */
static void rtc_latch_time(struct rtc *rtc)
{
	time_t secs = (time_t)(rtc_now_ns(rtc) / NSEC_PER_SEC);
	struct tm tm;

	gmtime_r(&secs, &tm);
	rtc->cmos[RTC_SECONDS] = rtc_to_reg(rtc, (unsigned)tm.tm_sec);
	rtc->cmos[RTC_MINUTES] = rtc_to_reg(rtc, (unsigned)tm.tm_min);
	rtc->cmos[RTC_HOURS] = rtc_hour_to_reg(rtc, (unsigned)tm.tm_hour);
	rtc->cmos[RTC_DAY_OF_WEEK] = rtc_to_reg(rtc, (unsigned)tm.tm_wday + 1);
	rtc->cmos[RTC_DAY_OF_MONTH] = rtc_to_reg(rtc, (unsigned)tm.tm_mday);
	rtc->cmos[RTC_MONTH] = rtc_to_reg(rtc, (unsigned)tm.tm_mon + 1);
	rtc->cmos[RTC_YEAR] = rtc_to_reg(rtc, (unsigned)(tm.tm_year + 1900) % 100);
	rtc->cmos[RTC_CENTURY] = rtc_to_reg(rtc, (unsigned)(tm.tm_year + 1900) / 100);
}

/* Start the clock from the time registers; keep sub_ns of the current second. */
static void rtc_load_time(struct rtc *rtc, u64 sub_ns)
{
	struct tm tm = { 0 };
	time_t secs;

	tm.tm_sec = (int)rtc_from_reg(rtc, rtc->cmos[RTC_SECONDS]);
	tm.tm_min = (int)rtc_from_reg(rtc, rtc->cmos[RTC_MINUTES]);
	tm.tm_hour = (int)rtc_hour_from_reg(rtc, rtc->cmos[RTC_HOURS]);
	tm.tm_mday = (int)rtc_from_reg(rtc, rtc->cmos[RTC_DAY_OF_MONTH]);
	tm.tm_mon = (int)rtc_from_reg(rtc, rtc->cmos[RTC_MONTH]) - 1;
	tm.tm_year = (int)(rtc_from_reg(rtc, rtc->cmos[RTC_CENTURY]) * 100 +
			   rtc_from_reg(rtc, rtc->cmos[RTC_YEAR])) -
		     1900;
	secs = timegm(&tm);
	if (secs < 0) {
		log_guest("%s: time registers hold an invalid date, clock not set", rtc->name);
		return;
	}
	rtc->offset_ns = (s64)((u64)secs * NSEC_PER_SEC + sub_ns - vclock_wall_ns(&rtc->p->clock));
}

static void rtc_update_irq(struct rtc *rtc)
{
	u8 b = rtc->cmos[RTC_REG_B];
	int level = ((rtc->flags & RTC_C_PF) && (b & RTC_B_PIE)) ||
		    ((rtc->flags & RTC_C_AF) && (b & RTC_B_AIE)) ||
		    ((rtc->flags & RTC_C_UF) && (b & RTC_B_UIE));

	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		irq_line_set(&rtc->irq, level);
	}
}

/* Periodic interval in 32.768 kHz cycles for register A's rate, or 0 (table 5). */
static u64 rtc_period_cycles(const struct rtc *rtc)
{
	unsigned rs = rtc->cmos[RTC_REG_A] & RTC_A_RS_MASK;

	if (!rs)
		return 0;
	return rs <= 2 ? 1ull << (rs + 6) : 1ull << (rs - 1);
}

static u64 rtc_timebase_cycles(const struct rtc *rtc)
{
	unsigned __int128 ns = vclock_now_ns(&rtc->p->clock);

	return (u64)(ns * RTC_TIMEBASE_HZ / NSEC_PER_SEC);
}

/* Set PF if a periodic boundary passed since the last look. */
static void rtc_sync_pf(struct rtc *rtc)
{
	u64 period = rtc_period_cycles(rtc), epoch;

	if (!period)
		return;
	epoch = rtc_timebase_cycles(rtc) / period;
	if (epoch != rtc->pf_epoch) {
		rtc->flags |= RTC_C_PF;
		rtc->pf_epoch = epoch;
	}
}

/* A new rate: count periodic boundaries from now. */
static void rtc_restart_pf(struct rtc *rtc)
{
	u64 period = rtc_period_cycles(rtc);

	rtc->pf_epoch = period ? rtc_timebase_cycles(rtc) / period : 0;
}

static void rtc_arm_periodic(struct rtc *rtc)
{
	u64 period = rtc_period_cycles(rtc);
	unsigned __int128 next;

	if (!period || !(rtc->cmos[RTC_REG_B] & RTC_B_PIE)) {
		timer_cancel(&rtc->periodic_timer);
		return;
	}
	next = (unsigned __int128)(rtc->pf_epoch + 1) * period * NSEC_PER_SEC;
	timer_arm(&rtc->periodic_timer, (u64)((next + RTC_TIMEBASE_HZ - 1) / RTC_TIMEBASE_HZ));
}

static void rtc_periodic_fire(void *opaque)
{
	struct rtc *rtc = opaque;

	rtc_sync_pf(rtc);
	rtc_update_irq(rtc);
	rtc_arm_periodic(rtc);
}

/* Arm the update timer for the next second boundary of RTC time. */
static void rtc_arm_update(struct rtc *rtc)
{
	u64 now = vclock_now_ns(&rtc->p->clock);
	u64 to_next = NSEC_PER_SEC - rtc_now_ns(rtc) % NSEC_PER_SEC;

	timer_arm(&rtc->update_timer, now + to_next);
}

static bool rtc_alarm_matches(const struct rtc *rtc)
{
	static const u8 pairs[3][2] = { { RTC_SECONDS, RTC_SECONDS_ALARM },
					{ RTC_MINUTES, RTC_MINUTES_ALARM },
					{ RTC_HOURS, RTC_HOURS_ALARM } };

	for (unsigned i = 0; i < 3; i++) {
		u8 alarm = rtc->cmos[pairs[i][1]];

		if ((alarm & RTC_ALARM_DONT_CARE) != RTC_ALARM_DONT_CARE &&
		    alarm != rtc->cmos[pairs[i][0]])
			return false;
	}
	return true;
}

/* The update cycle: registers advance, UF is set, AF if the alarm matches. */
static void rtc_update_fire(void *opaque)
{
	struct rtc *rtc = opaque;

	if (!(rtc->cmos[RTC_REG_B] & RTC_B_SET)) {
		rtc_latch_time(rtc);
		rtc->flags |= RTC_C_UF;
		if (rtc_alarm_matches(rtc))
			rtc->flags |= RTC_C_AF;
		rtc_update_irq(rtc);
	}
	rtc_arm_update(rtc);
}

static u8 rtc_read_reg_a(struct rtc *rtc)
{
	u8 val = rtc->cmos[RTC_REG_A] & ~RTC_A_UIP;

	if (!(rtc->cmos[RTC_REG_B] & RTC_B_SET) &&
	    rtc_now_ns(rtc) % NSEC_PER_SEC >= NSEC_PER_SEC - RTC_UIP_NS)
		val |= RTC_A_UIP;
	return val;
}

static u8 rtc_read_reg_c(struct rtc *rtc)
{
	u8 val;

	rtc_sync_pf(rtc);
	val = rtc->flags;
	if (rtc->irq_level)
		val |= RTC_C_IRQF;
	rtc->flags = 0;
	rtc_update_irq(rtc);
	return val;
}

static u8 rtc_read_index(struct rtc *rtc, unsigned index)
{
	if (rtc_is_time_reg(index) && !(rtc->cmos[RTC_REG_B] & RTC_B_SET))
		rtc_latch_time(rtc);
	switch (index) {
	case RTC_REG_A:
		return rtc_read_reg_a(rtc);
	case RTC_REG_C:
		return rtc_read_reg_c(rtc);
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->cmos[index];
	}
}

static void rtc_write_reg_b(struct rtc *rtc, u8 val)
{
	u8 old = rtc->cmos[RTC_REG_B];

	if (val & RTC_B_SET)
		val &= ~RTC_B_UIE; /* SET clears UIE (datasheet, register B bit 4) */
	if ((val & RTC_B_SET) && !(old & RTC_B_SET))
		rtc_latch_time(rtc); /* freeze the registers in the old format */
	rtc->cmos[RTC_REG_B] = val;
	if (!(val & RTC_B_SET) && (old & RTC_B_SET)) {
		rtc_load_time(rtc, 0);
		rtc_arm_update(rtc);
	}
	if ((val ^ old) & RTC_B_PIE) {
		rtc_sync_pf(rtc);
		rtc_arm_periodic(rtc);
	}
}

static void rtc_write_index(struct rtc *rtc, unsigned index, u8 val)
{
	switch (index) {
	case RTC_REG_A:
		rtc_sync_pf(rtc);
		rtc->cmos[RTC_REG_A] = val & ~RTC_A_UIP;
		rtc_restart_pf(rtc);
		rtc_arm_periodic(rtc);
		break;
	case RTC_REG_B:
		rtc_write_reg_b(rtc, val);
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		log_guest("%s: write %#x to read-only register %#x ignored", rtc->name, val, index);
		break;
	default:
		if (rtc_is_time_reg(index) && !(rtc->cmos[RTC_REG_B] & RTC_B_SET)) {
			/* Running clock: change one field, keep the fraction of the second. */
			u64 sub_ns = rtc_now_ns(rtc) % NSEC_PER_SEC;

			rtc_latch_time(rtc);
			rtc->cmos[index] = val;
			rtc_load_time(rtc, sub_ns);
			rtc_arm_update(rtc);
		} else {
			rtc->cmos[index] = val;
		}
		break;
	}
	rtc_update_irq(rtc);
}

static u64 rtc_read(void *dev, u64 off, unsigned size)
{
	struct rtc *rtc = dev;

	(void)size;
	if (off == 0)
		return 0xff; /* the index register is write-only */
	return rtc_read_index(rtc, rtc->index);
}

static void rtc_write(void *dev, u64 off, unsigned size, u64 val)
{
	struct rtc *rtc = dev;

	(void)size;
	if (off == 0)
		rtc->index = val & 0x7f; /* bit 7 masks NMI on the PC: not wired */
	else
		rtc_write_index(rtc, rtc->index, (u8)val);
}

static const struct io_ops rtc_io = {
	.read = rtc_read,
	.write = rtc_write,
	.min_size = 1,
	.max_size = 1,
};

void rtc_reset(struct rtc *rtc)
{
	rtc->cmos[RTC_REG_B] &= ~(RTC_B_PIE | RTC_B_AIE | RTC_B_UIE | RTC_B_SQWE);
	rtc->flags = 0;
	/* The time registers show the current second after a reset, whether the device ran (they
	 * held the second of its last update cycle) or was just made (the second it was made). */
	if (!(rtc->cmos[RTC_REG_B] & RTC_B_SET))
		rtc_latch_time(rtc);
	rtc_restart_pf(rtc); /* boundaries before the reset must not set PF after it */
	rtc_arm_periodic(rtc);
	rtc_update_irq(rtc);
}

int rtc_set_cmos(struct rtc *rtc, unsigned index, u8 val)
{
	if (index < RTC_NVRAM_START || index >= RTC_CMOS_SIZE || index == RTC_CENTURY)
		return -EINVAL;
	rtc->cmos[index] = val;
	return 0;
}

void rtc_set_pc_memory(struct rtc *rtc, u64 below_4g_bytes, u64 above_4g_bytes, unsigned nr_cpus)
{
	const u64 mib = 1024 * 1024;
	u64 ext_kib = below_4g_bytes > mib ? (below_4g_bytes - mib) / 1024 : 0;
	u64 above_16m = below_4g_bytes > 16 * mib ? (below_4g_bytes - 16 * mib) >> 16 : 0;
	u64 high = above_4g_bytes >> 16;

	ext_kib = MIN(ext_kib, 0xffff);
	above_16m = MIN(above_16m, 0xffff);
	high = MIN(high, 0xffffff);
	rtc->cmos[RTC_CMOS_BASE_MEM_LO] = 640 & 0xff;
	rtc->cmos[RTC_CMOS_BASE_MEM_HI] = 640 >> 8;
	rtc->cmos[RTC_CMOS_EXT_MEM_LO] = (u8)ext_kib;
	rtc->cmos[RTC_CMOS_EXT_MEM_HI] = (u8)(ext_kib >> 8);
	rtc->cmos[RTC_CMOS_EXT_MEM2_LO] = (u8)ext_kib;
	rtc->cmos[RTC_CMOS_EXT_MEM2_HI] = (u8)(ext_kib >> 8);
	rtc->cmos[RTC_CMOS_MEM_16M_LO] = (u8)above_16m;
	rtc->cmos[RTC_CMOS_MEM_16M_HI] = (u8)(above_16m >> 8);
	rtc->cmos[RTC_CMOS_MEM_4G_LO] = (u8)high;
	rtc->cmos[RTC_CMOS_MEM_4G_MID] = (u8)(high >> 8);
	rtc->cmos[RTC_CMOS_MEM_4G_HI] = (u8)(high >> 16);
	rtc->cmos[RTC_CMOS_NR_CPUS_M1] = (u8)(nr_cpus ? nr_cpus - 1 : 0);
}

int rtc_create(struct platform *p, const struct rtc_config *cfg, struct irq_line irq,
	       struct rtc **out, struct err *err)
{
	struct rtc *rtc = calloc(1, sizeof(*rtc));
	int ret;

	if (!rtc)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	rtc->p = p;
	snprintf(rtc->name, sizeof(rtc->name), "%s", cfg->name);
	rtc->base = cfg->base;
	rtc->irq = irq;
	rtc->offset_ns = cfg->offset_ns;
	rtc->cmos[RTC_REG_A] = RTC_A_DEFAULT;
	rtc->cmos[RTC_REG_B] = RTC_B_DEFAULT;
	timer_init(&rtc->update_timer, &p->clock, rtc_update_fire, rtc);
	timer_init(&rtc->periodic_timer, &p->clock, rtc_periodic_fire, rtc);
	rtc_restart_pf(rtc);
	rtc_latch_time(rtc);
	rtc_arm_update(rtc);
	ret = bus_map_dev(&p->pio, cfg->base, 2, &rtc_io, rtc, rtc->name, err);
	if (ret < 0)
		goto err_free;
	*out = rtc;
	return 0;

err_free:
	timer_cancel(&rtc->update_timer);
	free(rtc);
	return ret;
}

void rtc_destroy(struct rtc *rtc)
{
	if (!rtc)
		return;
	timer_cancel(&rtc->update_timer);
	timer_cancel(&rtc->periodic_timer);
	bus_unmap(&rtc->p->pio, rtc->base);
	free(rtc);
}

static void rtc_ops_reset(void *dev)
{
	rtc_reset(dev);
}

static void rtc_ops_destroy(void *dev)
{
	rtc_destroy(dev);
}

static int rtc_post_load(void *obj, u32 version, struct err *err)
{
	struct rtc *rtc = obj;

	(void)version, (void)err;
	if (rtc->irq_level)
		irq_line_set(&rtc->irq, 1);
	return 0;
}

/* Time is the saved offset from virtual wall time; the update and periodic timers carry on. */
static const struct state_field rtc_fields[] = {
	STATE_HOST(struct rtc, p, "the platform"),
	STATE_HOST(struct rtc, name, "the board's name"),
	STATE_U16(struct rtc, base, STATE_CHECKED),
	STATE_HOST(struct rtc, irq, "the line the board wired"),
	STATE_INT(struct rtc, irq_level, STATE_MAX(1)),
	STATE_U8(struct rtc, index, STATE_MAX(0x7f)),
	STATE_ARRAY(struct rtc, cmos, U8),
	STATE_U8(struct rtc, flags),
	STATE_S64(struct rtc, offset_ns),
	STATE_U64(struct rtc, pf_epoch),
	STATE_TIMER(struct rtc, update_timer),
	STATE_TIMER(struct rtc, periodic_timer),
	STATE_END,
};

static const struct state_desc rtc_state = {
	.name = "rtc",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct rtc),
	.fields = rtc_fields,
	.post_load = rtc_post_load,
};

const struct device_ops rtc_device_ops = {
	.type = "rtc",
	.reset = rtc_ops_reset,
	.state = &rtc_state,
	.destroy = rtc_ops_destroy,
};
