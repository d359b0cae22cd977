/* SPDX-License-Identifier: MIT */
/*
 * The CPU-model probe of tests/specs/cpu_effects.py: a flat real-mode program (linked at 0,
 * loaded at 0x7c00 with CS:IP = 0:7C00 through the spec's load address) that prints the CPUID
 * words a model is made of on COM1 and writes exit status 0 to port 0xf4:
 *   "cpuid VENDORSTRING SIGNATURE W0 W1 ... W8\n"
 * with the words in the order of enum cpu_fword (vmm/base/cpu_model.h): leaf 1 EDX, ECX,
 * leaf 7.0 EBX, ECX, EDX, 8000_0001h EDX, ECX, 0Dh.1 EAX, 8000_0007h EDX, in hex.
 * CPUID runs in real mode (Intel SDM vol. 2A: "The CPUID instruction can be used in any mode").
 */
	.code16
	.text
	.globl _start
_start:
	cli
	xor	%ax, %ax
	mov	%ax, %ss
	mov	$0x7c00, %sp
	mov	$0x7c0, %ax
	mov	%ax, %ds
	mov	$msg, %si
	call	puts
	xor	%eax, %eax
	cpuid
	mov	%eax, max_leaf
	mov	%ebx, vendor
	mov	%edx, vendor + 4
	mov	%ecx, vendor + 8
	mov	$vendor, %si
	call	puts
	mov	$1, %eax
	cpuid
	mov	%edx, w + 0
	mov	%ecx, w + 4
	push	%eax
	call	putsp
	pop	%eax
	call	puthex32			/* EAX: the signature */
	xor	%esi, %esi
	mov	$7, %eax			/* leaf 7 only within the basic leaves */
	cmp	max_leaf, %eax
	ja	1f
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, w + 8
	mov	%ecx, w + 12
	mov	%edx, w + 16
1:	mov	$0x80000001, %eax
	cpuid
	mov	%edx, w + 20
	mov	%ecx, w + 24
	mov	$0xd, %eax
	cmp	max_leaf, %eax
	ja	1f
	mov	$1, %ecx
	cpuid
	mov	%eax, w + 28
1:	mov	$0x80000007, %eax
	cpuid
	mov	%edx, w + 32
	mov	$w, %bx
	mov	$9, %cx
2:	push	%cx
	call	putsp
	mov	(%bx), %eax
	call	puthex32
	add	$4, %bx
	pop	%cx
	loop	2b
	mov	$nl, %si
	call	puts
	xor	%al, %al
	out	%al, $0xf4
3:	hlt
	jmp	3b

/* Print the NUL-terminated string at DS:SI on COM1 (the VMM's 16550 takes THR writes at once). */
puts:
	mov	$0x3f8, %dx
1:	lodsb
	test	%al, %al
	jz	2f
	out	%al, %dx
	jmp	1b
2:	ret

putsp:
	mov	$sp, %si
	jmp	puts

/* Print EAX as eight hex digits. */
puthex32:
	mov	$8, %cx
1:	rol	$4, %eax
	push	%eax
	and	$0xf, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	2f
	add	$('a' - '9' - 1), %al
2:	mov	$0x3f8, %dx
	out	%al, %dx
	pop	%eax
	loop	1b
	ret

msg:	.asciz	"cpuid "
sp:	.asciz	" "
nl:	.asciz	"\n"
	.p2align 2
max_leaf:
	.long	0
vendor:	.fill	12, 1, 0
	.byte	0
	.p2align 2
w:	.fill	9, 4, 0
