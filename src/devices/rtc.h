/* SPDX-License-Identifier: MIT */
/*
 * MC146818A CMOS real-time clock at ports 0x70/0x71 (see rtc.c), with the
 * PC's 128-byte CMOS memory the board fills with memory sizes for firmware.
 */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"
#include "vmm/platform.h"

#define RTC_DEFAULT_BASE 0x70

struct rtc_config {
	const char *name; /* "rtc" */
	u16 base;	  /* index port; data at base + 1 */
	s64 offset_ns;	  /* RTC time = virtual wall time + offset (e.g. a local-time offset) */
};

struct rtc;

/* Create the RTC raising irq (IRQ 8) and claiming ports base..base+1. -ENOMEM, -EBUSY. */
MUST_CHECK int rtc_create(struct platform *p, const struct rtc_config *cfg, struct irq_line irq,
			  struct rtc **out, struct err *err);
/*
 * The chip's RESET pin: clears PIE, AIE, UIE, SQWE and the flags of register
 * C; time and CMOS memory are battery-backed and survive. Device lock held.
 */
void rtc_reset(struct rtc *rtc);
void rtc_destroy(struct rtc *rtc);

/* Set one CMOS memory byte (index 0x0e..0x7f). -EINVAL for a clock register or out of range. */
int rtc_set_cmos(struct rtc *rtc, unsigned index, u8 val);

/*
 * Fill the PC memory-size bytes as SeaBIOS reads them: base memory (640 KiB),
 * extended memory above 1 MiB in KiB (0x17/0x18 and 0x30/0x31, capped at
 * 65535), RAM above 16 MiB in 64 KiB units (0x34/0x35), RAM above 4 GiB in
 * 64 KiB units (0x5b-0x5d), and nr_cpus - 1 (0x5f). Main thread.
 */
void rtc_set_pc_memory(struct rtc *rtc, u64 below_4g_bytes, u64 above_4g_bytes, unsigned nr_cpus);

extern const struct device_ops rtc_device_ops;

#endif
