/* SPDX-License-Identifier: MIT */
/* Power off through ACPI: SLP_TYP(S5) | SLP_EN written to PM1a_CNT (ACPI 6.x 4.8.3.2.1). */
#include "lifecycle.inc"
/* The values the FADT and the DSDT's \_S5 package give (src/vmm/boot/acpi.c). */
#define PM1A_CNT 0x604
#ifndef SLP_TYP_S5
#error SLP_TYP_S5 comes from the build (devices/acpi_pm.h)
#endif
	LC_START
	PUTS "poweroff via ACPI\n"
	mov $PM1A_CNT, %dx
	mov $((SLP_TYP_S5 << 10) | (1 << 13)), %ax
	out %ax, %dx
	PUTS "still running after S5\n"
1:	hlt
	jmp 1b
