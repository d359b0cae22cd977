/* SPDX-License-Identifier: MIT */
/* Load an empty IDT and raise an exception: #GP -> #DF -> triple fault (SDM vol. 3A 6.15). */
#include "lifecycle.inc"
	LC_START
	PUTS "triple fault next\n"
	lidt empty_idt
	int3
	PUTS "survived a triple fault\n"
1:	hlt
	jmp 1b
empty_idt:
	.word 0
	.long 0
