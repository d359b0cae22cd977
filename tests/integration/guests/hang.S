/* SPDX-License-Identifier: MIT */
/* Print a marker, then halt with interrupts off forever: only the host can end this VM. */
#include "lifecycle.inc"
	LC_START
	PUTS "ready\n"
1:	cli
	hlt
	jmp 1b
