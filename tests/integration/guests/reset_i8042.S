/* SPDX-License-Identifier: MIT */
/* Reset by pulsing the CPU reset line through the keyboard controller (command 0xFE). */
#include "lifecycle.inc"
	LC_START
	PUTS "boot\n"
	mov $0xfe, %al
	out %al, $0x64
	PUTS "still running after reset\n"
1:	hlt
	jmp 1b
