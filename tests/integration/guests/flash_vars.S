/* SPDX-License-Identifier: MIT */
/*
 * A 64 KiB firmware image that writes its variable store (boot.firmware_vars: a 64 KiB flash
 * bank right below the image, at 0xFFFE0000), for snapshot.py's firmware-vars case. The
 * loader maps the image to end at 4 GiB and copies it below 1 MiB (0xF0000-0xFFFFF); the CPU
 * starts at its last 16 bytes, where a far jump enters the low copy at F000:0000.
 *
 * Real mode with a 4 GiB FS limit ("unreal mode": FS loaded in protected mode, then back)
 * reaches the flash. Each round waits for a byte on COM1, reports the store's byte ROUND
 * ("vars[N]=empty" for the erased 0xFF, else the byte), programs it with 'A' + ROUND (Intel
 * command set: 0x40 then the data, poll the status register's ready bit 7, 0xFF back to read
 * array mode) and says "programmed N". The first round needs no byte: it runs at once.
 */
	.code16
	.text
	.globl _start
_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	xor %ax, %ax
	mov %ax, %ss
	mov $0x7000, %sp
	lgdtl gdt_desc
	mov %cr0, %eax
	or $1, %al
	mov %eax, %cr0
	mov $8, %bx
	mov %bx, %fs
	and $0xfe, %al
	mov %eax, %cr0
	xor %ax, %ax
	mov %ax, %fs			/* base 0, the 4 GiB limit stays cached */
	xor %cx, %cx			/* round */
	jmp 2f
1:	mov $0x3fd, %dx			/* wait for a byte on COM1 */
	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
2:	mov $0xfffe0000, %edi
	movzwl %cx, %eax
	add %eax, %edi
	mov $msg_vars, %si
	call puts
	mov %cl, %al
	add $'0', %al
	call putc
	mov $msg_eq, %si
	call puts
	addr32 movb %fs:(%edi), %al
	cmp $0xff, %al
	jne 3f
	mov $msg_empty, %si
	call puts
	jmp 4f
3:	call putc
4:	mov $'\n', %al
	call putc
	addr32 movb $0x40, %fs:(%edi)	/* program setup */
	mov %cl, %al
	add $'A', %al
	addr32 movb %al, %fs:(%edi)
5:	addr32 movb %fs:(%edi), %al	/* status until ready */
	test $0x80, %al
	jz 5b
	addr32 movb $0xff, %fs:(%edi)	/* read array */
	mov $msg_prog, %si
	call puts
	mov %cl, %al
	add $'0', %al
	call putc
	mov $'\n', %al
	call putc
	inc %cx
	cmp $8, %cx
	jb 1b
6:	hlt
	jmp 6b

/* putc: AL to COM1. puts: the string at DS:SI. */
putc:
	push %dx
	push %ax
	mov $0x3fd, %dx
7:	in %dx, %al
	test $0x20, %al
	jz 7b
	pop %ax
	mov $0x3f8, %dx
	out %al, %dx
	pop %dx
	ret
puts:
	lodsb
	test %al, %al
	jz 8f
	call putc
	jmp puts
8:	ret

msg_vars:
	.asciz "vars["
msg_eq:
	.asciz "]="
msg_empty:
	.asciz "empty"
msg_prog:
	.asciz "programmed "

	.balign 8
gdt:
	.quad 0
	.quad 0x00cf92000000ffff	/* data: base 0, limit 4 GiB, writable */
gdt_desc:
	.word gdt_desc - gdt - 1
	.long 0xf0000 + gdt

	.org 0xfff0
	ljmp $0xf000, $_start
	.org 0x10000
