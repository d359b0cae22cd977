/* SPDX-License-Identifier: MIT */
/*
 * The snapshot and migration tests' guest (snapshot.py, migrate.py), real mode at 0x7c00.
 * Prints "boot" once, then counts: IRQ0 from the PIT (channel 0, mode 2, 100 Hz) through the
 * 8259 pair to an IVT handler that counts ticks; every 5 ticks the main loop increments a
 * counter kept in RAM and in ESI, checks that both agree, and prints "c=XXXXXXXX" (the counter
 * in hex). A restored or migrated guest must go on at the next value: a lost register, a PIT
 * or PIC that stops, a counter that jumps or repeats shows on the console.
 *
 * Serial input: whenever the counter is a multiple of 16 the guest drains the UART's receive
 * FIFO (FCR: FIFOs on, so up to 16 bytes wait there) and prints "r=" and what it read, so bytes
 * sent to it in between wait in the FIFO, and a snapshot taken meanwhile must keep them.
 *
 * lc_puts (PUTS) uses SI and BX: ESI is saved around it.
 *
 * Memory: PAGES pages from 1 MiB on each hold a 32-bit word; in every count the guest adds 1
 * to the words of the next WALK pages in order (a page-walking counter, wrapping around), so
 * all pages hold N or N+1 with one edge between them (QEMU's migration-test rule). "m=ok" is
 * printed with each count while the rule holds, "m=BAD" otherwise (and the guest stops).
 */
#include "lifecycle.inc"
#include "pic_pit.inc"

	.set COUNTER, 0x500
	.set TICKS, 0x504
	.set NEXT, 0x508
	.set POS, 0x50c		/* next page to increment (0..PAGES-1) */
	.set PAGES, 256		/* 1 MiB of pages from 1 MiB on */
	.set WALK, 16		/* pages incremented per count */
	.set UART, 0x3f8

	LC_START
	/* Unreal-ish access to 1 MiB+: flat 4 GiB FS via a tiny GDT (big real mode). */
	lgdt	gdt_desc
	mov	%cr0, %eax
	or	$1, %al
	mov	%eax, %cr0
	mov	$8, %bx
	mov	%bx, %fs
	and	$0xfe, %al
	mov	%eax, %cr0
	xor	%bx, %bx
	mov	%bx, %fs
	PUTS "boot\n"
	movw	$timer_handler, 0x20 * 4
	movw	$0, 0x20 * 4 + 2
	PIC_PIT_IRQ0 11932
	mov	$0xc7, %al		/* FIFOs on, both cleared, trigger level 14 */
	mov	$UART + 2, %dx
	out	%al, %dx
	xor	%esi, %esi
	movl	$0, COUNTER
	movl	$5, NEXT
	movl	$0, POS
	sti
main_loop:
	hlt
	mov	TICKS, %eax
	cmp	NEXT, %eax
	jb	main_loop
	addl	$5, NEXT
	incl	COUNTER
	incl	%esi
	cmpl	%esi, COUNTER
	jne	fail
	call	walk_pages
	mov	$'c', %al
	call	putc
	mov	$'=', %al
	call	putc
	mov	%esi, %eax
	call	puthex
	mov	$' ', %al
	call	putc
	call	check_pages
	mov	$'\n', %al
	call	putc
	test	$15, %si
	jnz	main_loop
	call	drain_rx
	jmp	main_loop

fail:
	PUTS "FAIL: counter\n"
stop:
	cli
	hlt
	jmp	stop

/* Add 1 to the words of the next WALK pages. */
walk_pages:
	mov	$WALK, %cx
1:	mov	POS, %ebx
	shl	$12, %ebx
	add	$0x100000, %ebx
	incl	%fs:(%ebx)
	mov	POS, %eax
	inc	%eax
	cmp	$PAGES, %eax
	jb	2f
	xor	%eax, %eax
2:	mov	%eax, POS
	loop	1b
	ret

/* Every page holds v or v+1, with at most one step down (wrap edge) going around. */
check_pages:
	xor	%edi, %edi		/* steps seen */
	xor	%ecx, %ecx
1:	mov	%ecx, %ebx
	shl	$12, %ebx
	add	$0x100000, %ebx
	mov	%fs:(%ebx), %eax
	mov	%ecx, %edx
	inc	%edx
	cmp	$PAGES, %edx
	jb	2f
	xor	%edx, %edx
2:	shl	$12, %edx
	add	$0x100000, %edx
	mov	%fs:(%edx), %edx
	cmp	%eax, %edx
	je	3f
	inc	%edi
	mov	%eax, %ebx
	sub	%edx, %ebx
	cmp	$1, %ebx
	je	3f
	neg	%ebx
	cmp	$1, %ebx
	jne	4f
3:	inc	%ecx
	cmp	$PAGES, %ecx
	jb	1b
	cmp	$2, %edi
	ja	4f
	push	%esi
	PUTS "m=ok"
	pop	%esi
	ret
4:	PUTS "m=BAD\n"
	jmp	stop

/* Print "r=" and the bytes waiting in the receive FIFO, then a newline. */
drain_rx:
	mov	$'r', %al
	call	putc
	mov	$'=', %al
	call	putc
1:	mov	$UART + 5, %dx
	in	%dx, %al
	test	$1, %al
	jz	2f
	mov	$UART, %dx
	in	%dx, %al
	call	putc
	jmp	1b
2:	mov	$'\n', %al
	call	putc
	ret

putc:
	push	%dx
	push	%ax
	mov	$UART + 5, %dx
1:	in	%dx, %al
	test	$0x20, %al
	jz	1b
	pop	%ax
	mov	$UART, %dx
	out	%al, %dx
	pop	%dx
	ret

/* EAX as 8 hex digits. */
puthex:
	push	%cx
	mov	$8, %cx
1:	rol	$4, %eax
	push	%eax
	and	$15, %al
	add	$'0', %al
	cmp	$'9', %al
	jbe	2f
	add	$('a' - '9' - 1), %al
2:	call	putc
	pop	%eax
	loop	1b
	pop	%cx
	ret

timer_handler:
	push	%ax
	incl	TICKS
	mov	$0x20, %al
	out	%al, $0x20
	pop	%ax
	iret

	.p2align 3
gdt:
	.quad	0
	.quad	0x00cf92000000ffff	/* flat 4 GiB data, base 0 */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt
