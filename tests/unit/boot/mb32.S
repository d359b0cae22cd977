/* SPDX-License-Identifier: MIT */
/* A minimal Multiboot v1 ELF32 kernel for test_multiboot (spec 0.6.96 section 3.1.1). */
	.section .text
	.code32
	.globl _start
	.align 4
mb_header:
	.long 0x1badb002		/* magic */
	.long 0x00000003		/* flags: page-align modules, memory information */
	.long -(0x1badb002 + 0x3)	/* checksum */
_start:
	cli
1:	hlt
	jmp 1b

	.section .data
	.long 0x11223344

	.section .bss
	.skip 16384
