/* SPDX-License-Identifier: MIT */
/*
 * The display tests' two-vCPU guest: the BSP finds the stdvga function (1234:1111), puts its
 * framebuffer BAR at 0xE0000000 with memory decoding on, enters 32-bit protected mode (flat
 * segments), starts the AP with INIT and a start-up IPI (Intel SDM vol. 3A 8.4.4, 10.6.1) into
 * a real-mode loop that keeps storing to RAM, and, once the AP runs, moves the BAR between
 * 0xE0000000 and 0xD0000000 MOVES times while the AP keeps running: after each move a dword
 * stored at the new place reads back, and the old place reads all ones (no device there).
 * Then it checks that the AP ran during the moves, writes a line into the text screen at
 * 0xB8000 (row 2), prints "ready" (or "stale N" / "ap idle" on COM1 at the first failure) and
 * waits.
 */
#include "lifecycle.inc"
	.set MOVES, 200
	.set TRAMP, 0x9000		/* the AP's start-up page (vector 0x09) */
	.set AP_COUNT, 0x600		/* the AP's counter */
	LC_START
	LC_FIND_STDVGA
	or $0x80000010, %ebx		/* BAR0's configuration address */
	mov %ebx, %eax
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0xe0000000, %eax
	mov $0xcfc, %dx
	outl %eax, %dx
	lea -0x0c(%ebx), %eax		/* command: I/O and memory */
	mov $0xcf8, %dx
	outl %eax, %dx
	mov $0x0003, %ax
	mov $0xcfc, %dx
	outw %ax, %dx
	mov %ebx, bar0cfg
	xor %ax, %ax			/* the AP's code to its start-up page */
	mov %ax, %es
	mov $ap_start, %si
	mov $TRAMP, %di
	mov $(ap_end - ap_start), %cx
	rep movsb
	movl $0, AP_COUNT
	lgdt gdtr
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmp $0x08, $pm32

ap_start:				/* real mode, CS = TRAMP >> 4, IP = 0 */
	cli
	xor %ax, %ax
	mov %ax, %ds
1:	incl AP_COUNT
	jmp 1b
ap_end:

	.code32
/* The NUL-terminated string at ESI to COM1 (protected mode). */
puts32:	lodsb
	test %al, %al
	jz 2f
	mov %al, %bl
	mov $0x3fd, %dx
1:	in %dx, %al
	test $0x20, %al
	jz 1b
	mov $0x3f8, %dx
	mov %bl, %al
	out %al, %dx
	jmp puts32
2:	ret

pm32:	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %esp
	mov $0xfee00000, %ebx		/* the local APIC */
	movl $0x000001ff, 0xf0(%ebx)	/* SVR: software-enable it */
	movl $0x01000000, 0x310(%ebx)	/* destination: APIC id 1 */
	movl $0x00004500, 0x300(%ebx)	/* INIT */
	movl $0x01000000, 0x310(%ebx)
	movl $(0x00004600 | (TRAMP >> 12)), 0x300(%ebx) /* start-up */
1:	pause				/* until the AP runs */
	cmpl $0, AP_COUNT
	je 1b
	mov AP_COUNT, %eax
	mov %eax, ap_seen
	mov $0xe0000000, %edi		/* where the BAR is */
	mov $0xd0000000, %ebp		/* where it goes */
	xor %ecx, %ecx			/* moves made */
3:	xchg %edi, %ebp
	mov bar0cfg, %eax
	mov $0xcf8, %dx
	outl %eax, %dx
	mov %edi, %eax
	mov $0xcfc, %dx
	outl %eax, %dx			/* the BAR moves: the AP keeps running */
	lea 0x5a000000(%ecx), %eax
	mov %eax, (%edi)
	cmp (%edi), %eax		/* the framebuffer, at its new place */
	jne 4f
	cmpl $0xffffffff, (%ebp)	/* nothing at the old one */
	jne 4f
	inc %ecx
	cmp $MOVES, %ecx
	jne 3b
	mov AP_COUNT, %eax
	cmp ap_seen, %eax
	je 5f
	mov $0xb8000 + 2 * 160, %edi	/* the text line, white on blue */
	mov $text, %esi
	mov $0x1f, %ah
6:	lodsb
	test %al, %al
	jz 7f
	stosw
	jmp 6b
7:	mov $ready, %esi
	call puts32
	jmp 8f
4:	mov $stale, %esi
	call puts32
	jmp 8f
5:	mov $apidle, %esi
	call puts32
8:	hlt
	jmp 8b

	.section .rodata
	.balign 8
gdt:	.quad 0
	.quad 0x00cf9a000000ffff		/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff		/* 0x10: flat data */
gdtr:	.word 23
	.long gdt
text:	.asciz "VMM-VGA-SMP ok"
ready:	.asciz "ready\n"
stale:	.asciz "stale\n"
apidle:	.asciz "ap idle\n"
	.data
bar0cfg: .long 0
ap_seen: .long 0
