/* SPDX-License-Identifier: MIT */
/*
 * A minimal virtio-blk driver (virtio 1.2 sections 3.1.1, 4.1.3-4.1.4, 2.7 split queues, 5.2):
 * finds the device at 00:02.0, places BAR4 and enables it, walks the vendor capabilities for
 * the common and notify structures, negotiates VERSION_1, sets up queue 0 by hand, writes
 * sector 0 with the pattern 0x00,0x01,...,0xff,0x00,... and reads sector 1 back (the host put
 * "HOST SECTOR ONE" there), printing what it read. Exit status 0, or the failing step's code.
 * 32-bit protected mode, flat, so the BAR above 1 MiB is reachable.
 * Interrupts: MSI-X (PCI 3.0 6.8.2) is enabled with queue 0 on table entry 1, a fixed
 * message for vector 0x41 to local APIC 0 (Intel SDM vol. 3A 11.11). With IF=0 the vector
 * stays pending, so after the write the guest polls the local APIC's IRR (SDM 11.8.4) for
 * it and prints "msi-x vector 0x41 pending" -- under KVM that message came through an irqfd.
 * Then MSI-X is turned off and sector 1 is read twice with INTx: IOAPIC pin 18 (slot 2's INTA,
 * the DSDT's _PRT) level-triggered to vector 0x42 (IOAPIC redirection entry, 82093AA 3.2.4).
 * After each read the guest waits for 0x42 in IRR and takes it (STI; HLT) in a handler that
 * reads the ISR status byte (deasserting the line), counts, EOIs and resumes at a set
 * address without IRET (which the PVM-flavoured KVM of the CI host cannot emulate here).
 * Interrupts whose ISR read shows the queue bit count as real, the others as spurious.
 * A line left high would come back again and again: at most one spurious interrupt per
 * round is accepted (a host whose irqchip acknowledges level interrupts early -- the CI
 * host's does -- makes the resample re-raise the line once before the ISR read lowers it).
 * The guest prints "intx interrupts: N".
 */
#include "lifecycle.inc"
	.set BAR_ADDR, 0xfe000000
	.set DESC, 0x10000
	.set AVAIL, 0x11000
	.set USED, 0x12000
	.set HDR, 0x13000
	.set DATA, 0x14000
	.set STATUS, 0x15000
	.set QSIZE, 8
	.set MSIX_ADDR, 0xfe100000    /* BAR1: the MSI-X table */
	.set LAPIC, 0xfee00000
	.set VECTOR, 0x41
	.set INTX_VECTOR, 0x42
	.set INTX_GSI, 18             /* 16 + slot 2 % 4 */
	.set IOAPIC, 0xfec00000
	.set IDT, 0x16000
	.macro PUTS32 str
	.section .rodata
9002:	.asciz "\str"
	.text
	push %esi
	mov $9002b, %esi
	call puts32
	pop %esi
	.endm
	LC_START
	PUTS "virtio-blk driver\n"
	lgdt gdt_desc
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $0x08, $pm32
	.code32
pm32:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $0x7000, %esp
	/* 00:02.0 must be virtio-blk (1af4:1042). */
	mov $0x00, %ebx
	call cfg_read
	cmp $0x10421af4, %eax
	mov $1, %al
	jne fail
	/* BAR4 (64-bit memory) at BAR_ADDR, then memory space + bus master. */
	mov $0x20, %ebx
	mov $BAR_ADDR, %eax
	call cfg_write
	mov $0x24, %ebx
	xor %eax, %eax
	call cfg_write
	mov $0x14, %ebx               /* BAR1 (32-bit memory): MSI-X table and PBA */
	mov $MSIX_ADDR, %eax
	call cfg_write
	mov $0x04, %ebx
	call cfg_read
	or $0x6, %eax
	call cfg_write
	/* Walk the capability list (pointer at 0x34). */
	mov $0x34, %ebx
	call cfg_read
	movzbl %al, %ebx
caps:
	test %ebx, %ebx
	jz caps_done
	call cfg_read                 /* vndr, next, len, cfg_type */
	mov %eax, %ecx
	cmp $0x11, %cl                /* MSI-X */
	jne 2f
	mov %ebx, msix_cap
	jmp next_cap
2:	cmp $0x09, %cl                /* vendor-specific */
	jne next_cap
	push %ebx
	add $8, %ebx
	call cfg_read                 /* offset within the BAR */
	pop %ebx
	mov %ecx, %edx
	shr $24, %edx                 /* cfg_type */
	cmp $1, %dl
	jne 1f
	add $BAR_ADDR, %eax
	mov %eax, common
	jmp next_cap
1:	cmp $3, %dl
	jne 1f
	add $BAR_ADDR, %eax
	mov %eax, isr_addr
	jmp next_cap
1:	cmp $2, %dl
	jne next_cap
	add $BAR_ADDR, %eax
	mov %eax, notify_base
	push %ebx
	add $16, %ebx
	call cfg_read
	mov %eax, notify_mult
	pop %ebx
next_cap:
	movzbl %ch, %ebx
	jmp caps
caps_done:
	mov common, %esi
	test %esi, %esi
	mov $2, %al
	jz fail
	/* Reset, ACKNOWLEDGE | DRIVER, features: VERSION_1 (bit 32) only. */
	movb $0, 0x14(%esi)
	movb $1, 0x14(%esi)
	movb $3, 0x14(%esi)
	movl $1, 0x00(%esi)           /* device_feature_select = 1 */
	mov 0x04(%esi), %eax
	test $1, %eax                 /* VERSION_1 offered? */
	mov $3, %al
	jz fail
	movl $1, 0x08(%esi)
	movl $1, 0x0c(%esi)
	movl $0, 0x08(%esi)
	movl $0, 0x0c(%esi)
	movb $0xb, 0x14(%esi)         /* FEATURES_OK */
	testb $0x8, 0x14(%esi)
	mov $4, %al
	jz fail
	/* Queue 0: QSIZE entries at DESC/AVAIL/USED. */
	movw $0, 0x16(%esi)
	movw $QSIZE, 0x18(%esi)
	movl $DESC, 0x20(%esi)
	movl $0, 0x24(%esi)
	movl $AVAIL, 0x28(%esi)
	movl $0, 0x2c(%esi)
	movl $USED, 0x30(%esi)
	movl $0, 0x34(%esi)
	/* MSI-X: table entry 1 -> vector VECTOR on APIC 0, queue 0 on it, enable. */
	mov msix_cap, %ebx
	test %ebx, %ebx
	mov $7, %al
	jz fail
	movl $LAPIC, MSIX_ADDR + 16
	movl $0, MSIX_ADDR + 20
	movl $VECTOR, MSIX_ADDR + 24
	movl $0, MSIX_ADDR + 28       /* unmasked */
	call cfg_read
	or $0x80000000, %eax          /* message control bit 15: MSI-X enable */
	call cfg_write
	movw $1, 0x1a(%esi)           /* queue_msix_vector */
	cmpw $1, 0x1a(%esi)
	mov $8, %al
	jne fail
	movl $0x1ff, LAPIC + 0xf0     /* spurious vector register: APIC software-enabled */
	movw $1, 0x1c(%esi)
	movzwl 0x1e(%esi), %eax       /* queue_notify_off */
	imul notify_mult, %eax
	add notify_base, %eax
	mov %eax, notify_addr
	movb $0xf, 0x14(%esi)         /* DRIVER_OK */
	/* Write: sector 0 <- pattern. */
	mov $DATA, %edi
	xor %ecx, %ecx
2:	mov %cl, (%edi,%ecx)
	inc %ecx
	cmp $512, %ecx
	jb 2b
	mov $1, %eax                  /* VIRTIO_BLK_T_OUT */
	xor %edx, %edx                /* sector 0 */
	mov $0, %ecx                  /* data descriptor flags: device reads it */
	call request
	mov $5, %al
	jne fail
	PUTS32 "wrote sector 0\n"
	/* The completion's MSI-X message: VECTOR pending in IRR (bit 1 of IRR word 2). */
	mov $10000000, %ecx
3:	testl $(1 << (VECTOR % 32)), LAPIC + 0x200 + (VECTOR / 32) * 0x10
	jnz 4f
	loop 3b
	mov $9, %al
	jmp fail
4:	PUTS32 "msi-x vector 0x41 pending\n"
	/* INTx from here: MSI-X off, IOAPIC pin, IDT, interrupts on. */
	mov msix_cap, %ebx
	call cfg_read
	and $0x7fffffff, %eax
	call cfg_write
	movl $(0x10 + 2 * INTX_GSI), IOAPIC
	movl $(INTX_VECTOR | 1 << 15), IOAPIC + 0x10 /* fixed, level, active high */
	movl $(0x11 + 2 * INTX_GSI), IOAPIC
	movl $0, IOAPIC + 0x10        /* destination APIC 0 */
	mov $eoi_handler, %eax
	mov $VECTOR, %ebx
	call set_gate
	mov $intx_handler, %eax
	mov $INTX_VECTOR, %ebx
	call set_gate
	lidt idt_desc
	mov $1f, %eax                 /* take the MSI-X vector left pending */
	call take_interrupt
1:	/* Read: sector 1 -> DATA, twice, each taking its INTx interrupt. */
	mov $0, %eax                  /* VIRTIO_BLK_T_IN */
	mov $1, %edx
	mov $2, %ecx                  /* VIRTQ_DESC_F_WRITE */
	call request
	mov $6, %al
	jne fail
	call intx_round
	mov $0, %eax
	mov $1, %edx
	mov $2, %ecx
	call request
	mov $6, %al
	jne fail
	call intx_round
	PUTS32 "intx interrupts: "
	mov intx_count, %eax
	add $'0', %al
	mov %al, digit
	mov $digit, %esi
	call puts32
	PUTS32 "\n"
	movb $0, DATA + 15
	PUTS32 "read sector 1: "
	mov $DATA, %esi
	call puts32
	PUTS32 "\n"
	xor %al, %al
fail:
	mov $0xf4, %dx
	out %al, %dx
3:	hlt
	jmp 3b

/*
 * One request of type EAX on sector EDX with the 512-byte buffer DATA (descriptor flags ECX
 * for it), through descriptors 0-2 and the next available slot. ZF set when status is OK.
 */
request:
	mov %eax, HDR
	movl $0, HDR + 4
	mov %edx, HDR + 8
	movl $0, HDR + 12
	movb $0xff, STATUS
	/* desc 0: header (device reads), next 1 */
	movl $HDR, DESC + 0
	movl $0, DESC + 4
	movl $16, DESC + 8
	movw $1, DESC + 12            /* NEXT */
	movw $1, DESC + 14
	/* desc 1: data, next 2 */
	movl $DATA, DESC + 16
	movl $0, DESC + 20
	movl $512, DESC + 24
	or $1, %ecx
	mov %cx, DESC + 28
	movw $2, DESC + 30
	/* desc 2: status (device writes) */
	movl $STATUS, DESC + 32
	movl $0, DESC + 36
	movl $1, DESC + 40
	movw $2, DESC + 44
	movw $0, DESC + 46
	/* avail ring: flags, idx, ring[] */
	movzwl AVAIL + 2, %eax
	mov %eax, %ebx
	and $(QSIZE - 1), %ebx
	movw $0, AVAIL + 4(,%ebx,2)
	inc %eax
	mfence
	mov %ax, AVAIL + 2
	mfence
	mov notify_addr, %edi
	movw $0, (%edi)               /* notify queue 0 */
4:	cmp USED + 2, %ax             /* wait for the used index to catch up */
	jne 4b
	cmpb $0, STATUS
	ret

/* IDT gate EBX -> handler EAX: 32-bit interrupt gate, code selector 0x08. */
set_gate:
	push %edx
	mov %eax, %edx
	and $0xffff, %edx
	or $0x00080000, %edx
	mov %edx, IDT(,%ebx,8)
	and $0xffff0000, %eax
	or $0x8e00, %eax
	mov %eax, IDT + 4(,%ebx,8)
	pop %edx
	ret

/* Wait for INTX_VECTOR in IRR, take it, then check it does not keep coming back. */
intx_round:
	mov $10000000, %ecx
1:	testl $(1 << (INTX_VECTOR % 32)), LAPIC + 0x200 + (INTX_VECTOR / 32) * 0x10
	jnz 2f
	loop 1b
	mov $10, %al
	jmp fail
2:	mov $3, %edi                  /* the interrupt and at most one spurious repeat */
3:	dec %edi
	mov $11, %al                  /* the line stayed high after the EOIs */
	jz fail
	mov $4f, %eax
	call take_interrupt
4:	mov $200000, %ecx
5:	testl $(1 << (INTX_VECTOR % 32)), LAPIC + 0x200 + (INTX_VECTOR / 32) * 0x10
	jnz 3b
	loop 5b
	ret

/* Accept one pending interrupt: its handler resumes at EAX with IF clear, stack as here. */
take_interrupt:
	mov %eax, resume
	mov %esp, resume_sp
	sti
	hlt
	mov $12, %al                  /* woke without taking an interrupt */
	jmp fail

/* INTx: read the ISR status byte (which lowers the line), count, EOI, resume. */
intx_handler:
	mov isr_addr, %eax
	movb (%eax), %al
	test $1, %al                  /* queue interrupt */
	jz 1f
	incl intx_count
	jmp eoi_handler
1:	incl intx_spurious
	/* fall through */
/* The MSI-X vector left pending in IRR: EOI and resume. */
eoi_handler:
	movl $0, LAPIC + 0xb0
	mov resume_sp, %esp
	add $4, %esp                  /* take_interrupt's return address */
	jmp *resume

/* Configuration space of 00:02.0, register EBX: EAX = read; cfg_write writes EAX. */
cfg_read:
	push %edx
	push %eax
	mov %ebx, %eax
	or $0x80001000, %eax          /* device 2 */
	mov $0xcf8, %dx
	out %eax, %dx
	pop %eax
	mov $0xcfc, %dx
	in %dx, %eax
	pop %edx
	ret
cfg_write:
	push %edx
	push %eax
	mov %ebx, %eax
	or $0x80001000, %eax
	mov $0xcf8, %dx
	out %eax, %dx
	pop %eax
	mov $0xcfc, %dx
	out %eax, %dx
	pop %edx
	ret

puts32:
	push %eax
	push %edx
5:	lodsb
	test %al, %al
	jz 7f
	mov %al, %ah
	mov $0x3fd, %dx
6:	in %dx, %al
	test $0x20, %al
	jz 6b
	mov $0x3f8, %dx
	mov %ah, %al
	out %al, %dx
	jmp 5b
7:	pop %edx
	pop %eax
	ret

	.p2align 3
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdt_desc:
	.word gdt_desc - gdt - 1
	.long gdt
	.p2align 2
common:		.long 0
msix_cap:	.long 0
isr_addr:	.long 0
intx_count:	.long 0
intx_spurious:	.long 0
resume:		.long 0
resume_sp:	.long 0
digit:		.byte 0, 0
	.p2align 2
idt_desc:	.word 256 * 8 - 1
		.long IDT
notify_base:	.long 0
notify_mult:	.long 0
notify_addr:	.long 0
