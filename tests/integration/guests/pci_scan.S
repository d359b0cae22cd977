/* SPDX-License-Identifier: MIT */
/*
 * List the functions on PCI bus 0 through configuration mechanism #1 (PCI Local Bus 3.0,
 * 3.2.2.3.2): for each device 0..31, function 0, print "pci DD VVVV:DDDD CCCCCC" (slot,
 * vendor:device, class code), then exit 0 through the debug port.
 */
#include "lifecycle.inc"
	LC_START
	xor %cx, %cx                  /* device number */
1:	mov %cx, %ax
	call cfg_read                 /* dword 0: device << 16 | vendor */
	cmp $0xffffffff, %eax
	je 2f
	push %eax
	PUTS "pci "
	mov %cx, %ax
	call put_hex8
	PUTS " "
	pop %eax
	push %eax
	call put_hex16                /* vendor */
	PUTS ":"
	pop %eax
	shr $16, %eax
	call put_hex16                /* device */
	PUTS " "
	mov %cx, %ax
	or $0x0800, %ax               /* register 8: class code in bits 31:8 */
	call cfg_read
	shr $8, %eax
	push %eax
	shr $16, %eax
	call put_hex8
	pop %eax
	call put_hex16
	PUTS "\n"
2:	inc %cx
	cmp $32, %cx
	jb 1b
	PUTS "pci scan done\n"
	mov $0xf4, %dx
	xor %al, %al
	out %al, %dx
3:	hlt
	jmp 3b

/* EAX = config dword of bus 0, device AL, register AH (dword aligned). Clobbers DX. */
cfg_read:
	push %ebx
	movzx %al, %ebx
	shl $11, %ebx
	movzx %ah, %eax
	or %eax, %ebx
	or $0x80000000, %ebx
	mov %ebx, %eax
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0xcfc, %dx
	inl %dx, %eax
	pop %ebx
	ret

/* Print AL / AX as hex digits. */
put_hex8:
	push %ax
	shr $4, %al
	call put_nibble
	pop %ax
	jmp put_nibble
put_hex16:
	push %ax
	mov %ah, %al
	call put_hex8
	pop %ax
	jmp put_hex8
put_nibble:
	push %ax
	push %bx
	push %dx
	and $0x0f, %al
	add $'0', %al
	cmp $'9', %al
	jbe 4f
	add $('a' - '9' - 1), %al
4:	mov %al, %bl
	mov $0x3fd, %dx
5:	in %dx, %al
	test $0x20, %al
	jz 5b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	pop %dx
	pop %bx
	pop %ax
	ret
