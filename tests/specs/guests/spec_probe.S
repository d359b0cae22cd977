/* SPDX-License-Identifier: MIT */
/*
 * The spec-effects guest (tests/specs/effects.py): a flat real-mode program that runs at any
 * 16-byte aligned load address. It finds where it runs (call/pop), reloads CS so that its
 * offsets count from its first byte, and prints "boot at 0xNNNNN" on COM1 -- its linear load
 * address, so the test sees boot.load_address. Then it waits for a byte on COM1 (polling
 * LSR.DR): a test that wants it running sends nothing. On a byte it enters 32-bit protected
 * mode, loads an empty IDT and raises #UD: the #UD cannot be delivered (#GP), nor the #GP
 * (#DF), nor the #DF, a triple fault (Intel SDM vol. 3A 6.15, "Interrupt 8"), and
 * on_triple_fault decides whether the VM ends or boots again.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	call 1f
1:	pop %bx
	sub $1b, %bx /* the offset of _start in CS (linked at 0) */
	shr $4, %bx
	mov %cs, %ax
	add %bx, %ax
	push %ax
	push $here
	lret /* CS:IP = load address / 16 : here */
here:
	mov %cs, %ax
	mov %ax, %ds
	mov %ax, %ss
	mov $0xfff0, %sp
	mov $msg_boot, %si
	call puts
	mov %cs, %ax
	call puthex16
	mov $msg_nl, %si
	call puts
	mov $0x3fd, %dx
2:	pause
	in %dx, %al
	test $0x01, %al
	jz 2b

	/* The GDT base and the far jump target are linear: CS * 16 + offset. */
	xor %ebx, %ebx
	mov %cs, %bx
	shl $4, %ebx
	mov %ebx, %eax
	add $gdt, %eax
	mov %eax, gdt_desc + 2
	mov %ebx, %eax
	add $pm32, %eax
	mov %eax, far_ptr
	lgdt gdt_desc
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl *far_ptr

/* Print the NUL-terminated string at DS:SI on COM1, polling LSR.THRE (16550 LSR bit 5). */
puts:
	lodsb
	test %al, %al
	jz 2f
	call putc
	jmp puts
2:	ret

putc:
	mov %al, %bl
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	ret

/* Print AX as four lower-case hex digits. */
puthex16:
	mov $4, %cx
1:	rol $4, %ax
	push %ax
	and $0xf, %al
	add $'0', %al
	cmp $'9', %al
	jbe 2f
	add $('a' - '9' - 1), %al
2:	push %cx
	call putc
	pop %cx
	pop %ax
	loop 1b
	ret

	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %ss
	lidt empty_idt(%ebx)
	ud2
	/* Not reached: tell the host if it is. */
	mov $0x3f8, %dx
	mov $'!', %al
	out %al, %dx
3:	hlt
	jmp 3b

msg_boot:
	.asciz "boot at 0x"
msg_nl:
	.asciz "0\n"
	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff /* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff /* 0x10: flat data */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long 0
far_ptr:
	.long 0
	.word 0x08
empty_idt:
	.word 0
	.long 0
