/* SPDX-License-Identifier: MIT */
/* A Multiboot v1 kernel in an ELF64 file with 32-bit physical addresses, for test_multiboot. */
	.section .text
	.code32
	.globl _start
	.align 4
mb_header:
	.long 0x1badb002
	.long 0x00000000
	.long -(0x1badb002)
_start:
	cli
1:	hlt
	jmp 1b

	.section .bss
	.skip 4096
