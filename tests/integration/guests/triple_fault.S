/* SPDX-License-Identifier: MIT */
/*
 * Enter 32-bit protected mode, load an empty IDT and raise an exception: the #UD cannot be
 * delivered (#GP), nor can the #GP (#DF), nor the #DF: a triple fault (SDM vol. 3A 6.15,
 * "Interrupt 8"). Protected mode, because real-mode interrupt delivery through the IVT does
 * not check the IDTR limit on every implementation; a fault rather than INT3, because the
 * PVM flavour of KVM cannot emulate a software interrupt through a broken IDT (it reports an
 * internal error instead).
 */
#include "lifecycle.inc"
	LC_START
	PUTS "triple fault next\n"
	lgdt gdt_desc
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $pm32
	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %ss
	lidt empty_idt
	ud2
	/* Not reached: tell the host if it is. */
	mov $0x3f8, %dx
	mov $'!', %al
	out %al, %dx
1:	hlt
	jmp 1b
	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff /* 0x10: flat data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
empty_idt:
	.word 0
	.long 0
