/* SPDX-License-Identifier: MIT */
/*
 * The control API tests' guest: prints "boot" at each boot, then a '.' after every 2^18 turns
 * of a busy loop (so a paused VM is seen to stop), and "nmi" from its NMI handler (IVT vector 2,
 * real mode: SDM vol. 3A 20.1.4).
 */
#include "lifecycle.inc"
	LC_START
	movw $nmi, 8
	movw $0, 10
	PUTS "boot\n"
1:	mov $0x40000, %ecx
2:	dec %ecx
	jnz 2b
	mov $0x3fd, %dx
3:	in %dx, %al
	test $0x20, %al
	jz 3b
	mov $0x3f8, %dx
	mov $'.', %al
	out %al, %dx
	jmp 1b
nmi:
	push %ax
	push %bx
	push %dx
	push %si
	PUTS "nmi\n"
	pop %si
	pop %dx
	pop %bx
	pop %ax
	iret
