/* SPDX-License-Identifier: MIT */
/* Serial input: echo each received byte back in upper case until 'q', then exit 0 via the debug port. */
#include "lifecycle.inc"
	LC_START
	PUTS "echo ready\n"
1:	mov $0x3fd, %dx
2:	in %dx, %al
	test $0x01, %al        /* LSR.DR: a byte is waiting */
	jz 2b
	mov $0x3f8, %dx
	in %dx, %al
	cmp $'q', %al
	je 4f
	cmp $'a', %al
	jb 3f
	cmp $'z', %al
	ja 3f
	sub $0x20, %al
3:	mov %al, %bl
	mov $0x3fd, %dx
5:	in %dx, %al
	test $0x20, %al
	jz 5b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	jmp 1b
4:	PUTS "\nbye\n"
	mov $0xf4, %dx
	xor %al, %al
	out %al, %dx
6:	hlt
	jmp 6b
