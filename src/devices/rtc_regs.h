/* SPDX-License-Identifier: MIT */
/*
 * MC146818A real-time clock register names (Motorola MC146818A datasheet,
 * "Address map" figure 3 and "Registers" section) plus the PC's CMOS layout
 * (the memory-size bytes SeaBIOS reads: src/fw/paravirt.c of SeaBIOS and the
 * IBM AT BIOS technical reference).
 */
#ifndef DEVICES_RTC_REGS_H
#define DEVICES_RTC_REGS_H

#define RTC_SECONDS	  0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES	  0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS	  0x04
#define RTC_HOURS_ALARM	  0x05
#define RTC_DAY_OF_WEEK	  0x06 /* 1 = Sunday */
#define RTC_DAY_OF_MONTH  0x07
#define RTC_MONTH	  0x08
#define RTC_YEAR	  0x09
#define RTC_REG_A	  0x0a
#define RTC_REG_B	  0x0b
#define RTC_REG_C	  0x0c
#define RTC_REG_D	  0x0d
#define RTC_NVRAM_START	  0x0e
#define RTC_CENTURY	  0x32 /* PC convention (ACPI FADT CENTURY) */
#define RTC_CMOS_SIZE	  128

#define RTC_ALARM_DONT_CARE 0xc0 /* alarm byte with both top bits set matches any value */
#define RTC_HOURS_PM	    0x80 /* 12-hour mode */

/* Register A */
#define RTC_A_UIP     0x80
#define RTC_A_DV_MASK 0x70
#define RTC_A_RS_MASK 0x0f
#define RTC_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */

/* Register B */
#define RTC_B_SET     0x80
#define RTC_B_PIE     0x40
#define RTC_B_AIE     0x20
#define RTC_B_UIE     0x10
#define RTC_B_SQWE    0x08
#define RTC_B_DM      0x04 /* 1: binary, 0: BCD */
#define RTC_B_24H     0x02
#define RTC_B_DSE     0x01
#define RTC_B_DEFAULT RTC_B_24H

/* Register C (read-only, cleared by reading) */
#define RTC_C_IRQF 0x80
#define RTC_C_PF   0x40
#define RTC_C_AF   0x20
#define RTC_C_UF   0x10

/* Register D */
#define RTC_D_VRT 0x80

/* PC CMOS memory-size bytes */
#define RTC_CMOS_BASE_MEM_LO 0x15 /* base memory in KiB (640) */
#define RTC_CMOS_BASE_MEM_HI 0x16
#define RTC_CMOS_EXT_MEM_LO  0x17 /* KiB above 1 MiB, at most 65535 */
#define RTC_CMOS_EXT_MEM_HI  0x18
#define RTC_CMOS_EXT_MEM2_LO 0x30 /* the same again */
#define RTC_CMOS_EXT_MEM2_HI 0x31
#define RTC_CMOS_MEM_16M_LO  0x34 /* RAM above 16 MiB (below 4 GiB) in 64 KiB units */
#define RTC_CMOS_MEM_16M_HI  0x35
#define RTC_CMOS_MEM_4G_LO   0x5b /* RAM above 4 GiB in 64 KiB units, 3 bytes */
#define RTC_CMOS_MEM_4G_MID  0x5c
#define RTC_CMOS_MEM_4G_HI   0x5d
#define RTC_CMOS_NR_CPUS_M1  0x5f /* number of CPUs - 1 */

#endif
