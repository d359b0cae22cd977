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
#include "virtio_blk.inc"
	.set LAPIC, 0xfee00000
	.set VECTOR, 0x41
	.set INTX_VECTOR, 0x42
	.set INTX_GSI, 18             /* 16 + slot 2 % 4 */
	.set IOAPIC, 0xfec00000
	.set IDT, 0x16000
	LC_START
	PUTS "virtio-blk driver\n"
	VBLK_ENTER_PM32
	call vblk_setup
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
	call vblk_start
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
	jmp fail

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

	.p2align 2
intx_count:	.long 0
intx_spurious:	.long 0
resume:		.long 0
resume_sp:	.long 0
digit:		.byte 0, 0
	.p2align 2
idt_desc:	.word 256 * 8 - 1
		.long IDT

	VBLK_ROUTINES
