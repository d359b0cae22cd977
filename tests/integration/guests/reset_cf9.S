/* SPDX-License-Identifier: MIT */
/* Hard reset through the reset control register 0xCF9 (value 0x06, as the FADT says). */
#include "lifecycle.inc"
	LC_START
	PUTS "boot\n"
	mov $0xcf9, %dx
	mov $0x06, %al
	out %al, %dx
	PUTS "still running after reset\n"
1:	hlt
	jmp 1b
