/* SPDX-License-Identifier: MIT */
/*
 * A Multiboot v1 kernel (Multiboot 0.6.96 sections 3.1-3.3): checks the loader's magic in EAX,
 * prints the command line and every module's string and contents from the information
 * structure at EBX, prints the memory sizes, then exits through the debug port with 0 (or a
 * code saying which check failed). 32-bit protected mode, paging off, as the spec requires.
 */
	.set MB_MAGIC, 0x1badb002
	.set MB_FLAGS, 0x3            /* page-align modules, want memory info */
	.code32
	.section .multiboot, "a"
	.align 4
	.long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	mov $0x90000, %esp
	cmp $0x2badb002, %eax
	jne fail_magic
	mov %ebx, %ebp                /* the multiboot information structure */
	testl $(1 << 2), (%ebp)       /* flags.cmdline */
	jz fail_cmdline
	mov $s_cmdline, %esi
	call puts
	mov 16(%ebp), %esi
	call puts
	call newline
	testl $(1 << 0), (%ebp)       /* flags.mem */
	jz fail_mem
	mov $s_mem, %esi
	call puts
	mov 8(%ebp), %eax             /* mem_upper in KiB */
	call putdec
	call newline
	testl $(1 << 3), (%ebp)       /* flags.mods */
	jz fail_mods
	mov 20(%ebp), %ecx            /* mods_count */
	mov 24(%ebp), %edi            /* mods_addr */
	mov $s_mods, %esi
	call puts
	mov %ecx, %eax
	call putdec
	call newline
	test %ecx, %ecx
	jz done
1:	testl $0xfff, (%edi)          /* page aligned as flags bit 0 asked */
	jnz fail_align
	mov $s_mod, %esi
	call puts
	mov 8(%edi), %esi             /* the module's string */
	call puts
	mov $s_colon, %esi
	call puts
	mov (%edi), %esi              /* start .. end: print the bytes */
	mov 4(%edi), %edx
2:	cmp %edx, %esi
	jae 3f
	lodsb
	call putc
	jmp 2b
3:	add $16, %edi
	dec %ecx
	jnz 1b
done:
	mov $s_ok, %esi
	call puts
	xor %al, %al
	jmp exit
fail_magic:	mov $1, %al
	jmp exit
fail_cmdline:	mov $2, %al
	jmp exit
fail_mem:	mov $3, %al
	jmp exit
fail_mods:	mov $4, %al
	jmp exit
fail_align:	mov $5, %al
exit:
	mov $0xf4, %dx
	out %al, %dx
4:	hlt
	jmp 4b

/* putc: AL to COM1, waiting for LSR.THRE. Preserves all but flags. */
putc:
	push %edx
	push %eax
	mov $0x3fd, %dx
5:	in %dx, %al
	test $0x20, %al
	jz 5b
	pop %eax
	mov $0x3f8, %dx
	out %al, %dx
	pop %edx
	ret
/* puts: the NUL-terminated string at ESI. */
puts:
	push %eax
6:	lodsb
	test %al, %al
	jz 7f
	call putc
	jmp 6b
7:	pop %eax
	ret
newline:
	push %eax
	mov $'\n', %al
	call putc
	pop %eax
	ret
/* putdec: EAX in decimal. */
putdec:
	push %eax
	push %ebx
	push %ecx
	push %edx
	mov $10, %ebx
	xor %ecx, %ecx
8:	xor %edx, %edx
	div %ebx
	push %edx
	inc %ecx
	test %eax, %eax
	jnz 8b
9:	pop %eax
	add $'0', %al
	call putc
	loop 9b
	pop %edx
	pop %ecx
	pop %ebx
	pop %eax
	ret

	.section .rodata
s_cmdline:	.asciz "cmdline: "
s_mem:		.asciz "mem_upper KiB: "
s_mods:		.asciz "modules: "
s_mod:		.asciz "module "
s_colon:	.asciz " = "
s_ok:		.asciz "multiboot ok\n"
