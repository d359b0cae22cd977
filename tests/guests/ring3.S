/* SPDX-License-Identifier: MIT */
/*
 * Privilege transitions. In 32-bit protected mode (own GDT, IDT and 32-bit TSS): IRET to
 * ring 3; a far CALL through a DPL 3 call gate to ring 0 (stack switch to SS0:ESP0, the old
 * SS:ESP and CS:EIP on the new stack) and a far RET back; the same with one parameter copied;
 * INT n through a DPL 3 interrupt gate (stack switch, IRET back); #GP(vector * 8 + 2) for INT n
 * to a DPL 0 gate; #GP(selector) for a far CALL through a DPL 0 call gate; #GP(0) for HLT, CLI
 * (IOPL 0) and IN (no I/O bitmap) at CPL 3. Then in long mode (lib/sys64.inc): IRETQ to ring 3;
 * SYSCALL (CS/SS from STAR, RCX/R11, RFLAGS masked by SFMASK) and SYSRETQ (RFLAGS restored
 * from R11); INT n from ring 3 through a DPL 3 gate (RSP0) and through an IST gate; a timer
 * interrupt (PIT through the 8259) taken in ring 3 on the RSP0 stack; #GP(0) for HLT, CLI, IN,
 * MOV to CR3 and WRMSR at CPL 3.
 * Under KVM (the PVM flavour on the test hosts) the 32-bit part, INT n and the selector checks
 * in ring 3 are skipped, and SYSCALL returns with IRETQ: PVM cannot run them. Cross-checked under QEMU TCG.
 * Prints "ring3 ok", exits 0; a failed check exits with its code (0x10 and up).
 * References: Intel SDM vol. 3A 5.8 (call gates, stack switching, 5.8.5 parameter copy), 5.9
 * (privileged instructions), 5.8.8 (SYSCALL/SYSRET), 6.12.1 (interrupt to a handler at a
 * higher privilege), 6.14.4-5 (64-bit stack switch, IST), 7.2.1 (32-bit TSS), 18.5 (IOPL and
 * the I/O permission bitmap); Intel 8259A and 82C54 datasheets.
 */
	.include "guest.inc"
	.include "sys64.inc"

	.set G32_UCODE, 0x1b
	.set G32_UDATA, 0x23
	.set G32_TSS, 0x28
	.set G32_CGATE, 0x30			/* DPL 3 -> cg0 */
	.set G32_CGATE1, 0x38			/* DPL 3, 1 parameter -> cg1 */
	.set G32_CGATE_K, 0x40			/* DPL 0 */
	.set G32_CGATE_BACK, 0x48		/* DPL 3 -> back to the kernel */
	.set VEC32_USER, 0x80			/* DPL 3 */
	.set VEC32_KERNEL, 0x81			/* DPL 0 */
	.set VEC32_FAIL, 0x82			/* DPL 3: FAIL from ring 3 */
	.set VEC_USER, 0x80
	.set VEC_USER_IST, 0x81
	.set VEC_TIMER, 0x20

/* 32-bit ring 3: fail through a DPL 3 gate */
.macro CHECK32_U a, b, code
	cmpl	\b, \a
	je	9002f
	mov	$\code, %edi
	int	$VEC32_FAIL
9002:
.endm

/* 32-bit compare of memory with an immediate */
.macro CHECK_EQL a, b, code
	cmpl	\b, \a
	je	9003f
	FAIL	\code
9003:
.endm

/* 32-bit: arm the #GP recorder: resume at label */
.macro EXPECT_GP32 label
	movl	$\label, gp32_resume
	movl	$-1, gp32_error
.endm

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
pm32:
	call	is_kvm32
	je	pm32_skip
	lgdtl	gdt32_desc
	/* TSS descriptor: base, limit 103, type 9 */
	mov	$tss32, %eax
	mov	%eax, %edx
	shl	$16, %edx
	or	$0x67, %edx
	mov	%edx, gdt32 + G32_TSS
	mov	%eax, %edx
	shr	$16, %edx
	and	$0xff, %edx
	or	$0x8900, %edx
	mov	%eax, %ecx
	and	$0xff000000, %ecx
	or	%ecx, %edx
	mov	%edx, gdt32 + G32_TSS + 4
	/* call gates (selector 0x08) and IDT gates */
	mov	$G32_CGATE, %ebx
	mov	$cg0, %eax
	mov	$0xec00, %edx
	call	set_gate32
	mov	$G32_CGATE1, %ebx
	mov	$cg1, %eax
	mov	$0xec01, %edx
	call	set_gate32
	mov	$G32_CGATE_K, %ebx
	mov	$cg0, %eax
	mov	$0x8c00, %edx
	call	set_gate32
	mov	$G32_CGATE_BACK, %ebx
	mov	$cg_back, %eax
	mov	$0xec00, %edx
	call	set_gate32
	mov	$(idt32 - gdt32 + 13 * 8), %ebx
	mov	$gp32, %eax
	mov	$0x8e00, %edx
	call	set_gate32
	mov	$(idt32 - gdt32 + VEC32_USER * 8), %ebx
	mov	$int32_user, %eax
	mov	$0xee00, %edx
	call	set_gate32
	mov	$(idt32 - gdt32 + VEC32_KERNEL * 8), %ebx
	mov	$int32_user, %eax
	mov	$0x8e00, %edx
	call	set_gate32
	mov	$(idt32 - gdt32 + VEC32_FAIL * 8), %ebx
	mov	$fail32, %eax
	mov	$0xee00, %edx
	call	set_gate32
	mov	$G32_TSS, %ax
	ltr	%ax
	lidtl	idt32_desc
	mov	%esp, kesp32
	pushl	$G32_UDATA
	pushl	$user32_stack_top
	pushl	$2
	pushl	$G32_UCODE
	pushl	$user32
	iretl

user32:
	mov	$G32_UDATA, %ax			/* IRET to ring 3 nulled DS and ES (DPL 0) */
	mov	%ax, %ds
	mov	%ax, %es
	mov	%cs, %eax
	CHECK32_U %eax, $G32_UCODE, 0x10
	mov	%ss, %eax
	CHECK32_U %eax, $G32_UDATA, 0x11
	/* call gate, no parameters */
	lcall	$G32_CGATE, $0
cg0_ret:
	CHECK32_U cg_hits, $1, 0x12
	mov	%ss, %eax
	CHECK32_U %eax, $G32_UDATA, 0x13
	CHECK32_U %esp, $user32_stack_top, 0x14
	/* call gate with one parameter; RET 4 drops it from the ring-3 stack */
	pushl	$0x1234abcd
	lcall	$G32_CGATE1, $0
	CHECK32_U cg_hits, $2, 0x15
	CHECK32_U %esp, $user32_stack_top, 0x16
	/* INT n through a DPL 3 gate */
	int	$VEC32_USER
int32_ret:
	CHECK32_U int_hits, $1, 0x17
	/* INT n through a DPL 0 gate: #GP(vector * 8 + 2) */
	EXPECT_GP32 gp32_a
gp32_a_insn:
	int	$VEC32_KERNEL
gp32_a:
	CHECK32_U gp32_error, $(VEC32_KERNEL * 8 + 2), 0x18
	CHECK32_U gp32_eip, $gp32_a_insn, 0x19
	/* a DPL 0 call gate: #GP(selector) */
	EXPECT_GP32 gp32_b
gp32_b_insn:
	lcall	$G32_CGATE_K, $0
gp32_b:
	CHECK32_U gp32_error, $G32_CGATE_K, 0x1a
	CHECK32_U gp32_eip, $gp32_b_insn, 0x1b
	/* HLT, CLI, IN at CPL 3, IOPL 0: #GP(0) */
	EXPECT_GP32 gp32_c
gp32_c_insn:
	hlt
gp32_c:
	CHECK32_U gp32_error, $0, 0x1c
	CHECK32_U gp32_eip, $gp32_c_insn, 0x1d
	EXPECT_GP32 gp32_d
gp32_d_insn:
	cli
gp32_d:
	CHECK32_U gp32_error, $0, 0x1e
	CHECK32_U gp32_eip, $gp32_d_insn, 0x1f
	EXPECT_GP32 gp32_e
gp32_e_insn:
	in	$0x61, %al
gp32_e:
	CHECK32_U gp32_error, $0, 0x20
	CHECK32_U gp32_eip, $gp32_e_insn, 0x21
	CHECK32_U gp32_hits, $5, 0x22
	lcall	$G32_CGATE_BACK, $0

cg0:	/* ring 0 through a call gate: EIP, CS, ESP, SS of ring 3 on the TSS stack */
	mov	%cs, %ax
	CHECK_EQ %ax, $SEL_CODE32, 0x28
	CHECK_EQ %esp, $(tss32_stack_top - 16), 0x29
	CHECK_EQL (%esp), $cg0_ret, 0x2a
	CHECK_EQL 4(%esp), $G32_UCODE, 0x2b
	CHECK_EQL 8(%esp), $user32_stack_top, 0x2c
	CHECK_EQL 12(%esp), $G32_UDATA, 0x2d
	incl	cg_hits
	lret

cg1:	/* EIP, CS, the parameter, ESP, SS */
	CHECK_EQ %esp, $(tss32_stack_top - 20), 0x2e
	CHECK_EQL 8(%esp), $0x1234abcd, 0x2f
	CHECK_EQL 12(%esp), $(user32_stack_top - 4), 0x30
	incl	cg_hits
	lret	$4

int32_user:	/* EIP, CS, EFLAGS, ESP, SS */
	CHECK_EQ %esp, $(tss32_stack_top - 20), 0x31
	CHECK_EQL (%esp), $int32_ret, 0x32
	CHECK_EQL 4(%esp), $G32_UCODE, 0x33
	incl	int_hits
	iretl

gp32:	/* error code, EIP, CS, EFLAGS, ESP, SS */
	CHECK_EQL 8(%esp), $G32_UCODE, 0x34
	push	%eax
	mov	4(%esp), %eax
	mov	%eax, gp32_error
	mov	8(%esp), %eax
	mov	%eax, gp32_eip
	mov	gp32_resume, %eax
	mov	%eax, 8(%esp)
	incl	gp32_hits
	pop	%eax
	add	$4, %esp
	iretl

fail32:
	PRINT	"FAIL (32-bit ring 3)\n"
	mov	%edi, %eax
	out	%al, $DEBUG_EXIT_PORT
	hlt

cg_back:	/* back to ring 0 for good */
	mov	kesp32, %esp
	mov	$SEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	CHECK_EQL cg_hits, $2, 0x35
	CHECK_EQL gp32_hits, $5, 0x36
	PRINT	"32-bit ring 3 ok\n"
	jmp	pm32_done

pm32_skip:
	PRINT	"32-bit checks skipped under KVM\n"
pm32_done:
	lgdtl	guest_gdt_desc
	ljmpl	$SEL_CODE32, $1f
1:	mov	$SEL_DATA, %ax
	mov	%ax, %ss
	ENTER_LMODE64 lm64

	.code32
	/* set_gate32(EBX = offset in gdt32 (IDT entries too), EAX = target, EDX = attr word) */
set_gate32:
	mov	%ax, gdt32(%ebx)
	movw	$SEL_CODE32, gdt32 + 2(%ebx)
	mov	%dx, gdt32 + 4(%ebx)
	shr	$16, %eax
	mov	%ax, gdt32 + 6(%ebx)
	ret

is_kvm32:	/* ZF = 1 under KVM */
	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	cmp	$0x4b4d564b, %ebx
	jne	1f
	cmp	$0x564b4d56, %ecx
	jne	1f
	cmp	$0x4d, %edx
1:	ret

	.code64
lm64:
	SYS64_SETUP
	SYS64_USER_PAGES
	SYS64_GATE $VEC_USER, $int_user, $GATE_INTR_U
	SYS64_GATE $VEC_USER_IST, $int_user_ist, $(GATE_INTR_U | 2)
	SYS64_GATE $VEC_TIMER, $timer, $GATE_INTR
	/* SYSCALL: EFER.SCE, STAR, LSTAR, SFMASK = DF */
	mov	$0xc0000080, %ecx
	rdmsr
	or	$1, %eax
	wrmsr
	mov	$0xc0000081, %ecx
	xor	%eax, %eax
	mov	$(SYS_STAR_SYSRET_BASE << 16 | SEL_CODE64), %edx
	wrmsr
	mov	$0xc0000082, %ecx
	mov	$syscall_entry, %eax
	xor	%edx, %edx
	wrmsr
	mov	$0xc0000084, %ecx
	mov	$0x400, %eax
	wrmsr

	movq	$0, int_hits			/* the 32-bit part counted its INT n */
	ENTER_USER user64
	CHECK_EQQ syscall_hits, $1, 0x40
	CHECK_EQQ user_done, $1, 0x41

	/* a timer interrupt in ring 3: PIC remapped to 0x20, PIT at ~1 kHz, ring 3 with IF = 1 */
	call	pic_pit_init
	ENTER_USER user_timer, 0x202
	CHECK_EQQ user_done, $2, 0x42
	mov	$0xff, %al
	out	%al, $0x21			/* mask the PIT again */
	call	sys_is_kvm
	je	1f
	CHECK_EQQ timer_cs, $SEL_UCODE64, 0x43
1:	CHECK_EQQ timer_rsp, $(sys_rsp0_top - 40), 0x44
	PRINT	"ring3 ok\n"
	EXIT	0

user64:
	call	sys_is_kvm
	je	1f
	mov	%cs, %ax
	CHECK_EQ_U %ax, $SEL_UCODE64, 0x50
	mov	%ss, %ax
	CHECK_EQ_U %ax, $SEL_UDATA, 0x51
1:	/* SYSCALL with DF set; SFMASK clears it in ring 0, SYSRET restores it */
	std
	mov	$0x77, %eax
	syscall
sysret_label:
	pushf
	pop	%rbx
	cld
	CHECK_EQ_U %eax, $0x99, 0x52
	and	$0x400, %ebx
	CHECK_EQ_U %ebx, $0x400, 0x53
	call	sys_is_kvm
	je	1f
	mov	%cs, %ax
	CHECK_EQ_U %ax, $SEL_UCODE64, 0x54
	mov	%ss, %ax
	CHECK_EQ_U %ax, $SEL_UDATA, 0x55
	/* INT n: RSP0, then IST2 */
	int	$VEC_USER
int_ret:
	CHECK_EQQ_U int_hits, $1, 0x56
	int	$VEC_USER_IST
	CHECK_EQQ_U int_hits, $2, 0x57
1:	/* privileged instructions at CPL 3: #GP(0) */
	EXPECT_EXC
	movq	$p1_after, exc_resume
p1_insn:
	hlt
p1_after:
	CHECK_EXC_U $13, $0, $p1_insn, 0x58
	EXPECT_EXC
	movq	$p2_after, exc_resume
p2_insn:
	cli
p2_after:
	CHECK_EXC_U $13, $0, $p2_insn, 0x5b
	EXPECT_EXC
	movq	$p3_after, exc_resume
p3_insn:
	in	$0x61, %al
p3_after:
	CHECK_EXC_U $13, $0, $p3_insn, 0x5e
	EXPECT_EXC
	movq	$p4_after, exc_resume
	xor	%eax, %eax
p4_insn:
	mov	%rax, %cr3
p4_after:
	CHECK_EXC_U $13, $0, $p4_insn, 0x61
	EXPECT_EXC
	movq	$p5_after, exc_resume
	mov	$0xc0000080, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
p5_insn:
	wrmsr
p5_after:
	CHECK_EXC_U $13, $0, $p5_insn, 0x64
	movq	$1, user_done
	RETURN_KERNEL

user_timer:
	mov	$100000000, %ecx		/* bounded wait */
1:	cmpq	$0, timer_hits
	jne	2f
	dec	%ecx
	jnz	1b
	USER_FAIL 0x67
2:	movq	$2, user_done
	RETURN_KERNEL

syscall_entry:
	cmp	$sysret_label, %rcx
	jne	9f
	test	$0x400, %r11d
	jz	9f
	pushf
	pop	%rdx
	test	$0x400, %edx
	jnz	9f
	cmp	$0x77, %eax
	jne	9f
	call	sys_is_kvm
	je	1f
	mov	%cs, %dx
	cmp	$SEL_CODE64, %dx
	jne	9f
	mov	%ss, %dx
	cmp	$SEL_KDATA_SYSCALL, %dx
	jne	9f
1:	incq	syscall_hits
	mov	$0x99, %eax
	call	sys_is_kvm			/* PVM raises #GP(0) on SYSRETQ: IRETQ instead */
	je	2f
	sysretq
2:	mov	%rsp, %rdx
	pushq	$SEL_UDATA
	push	%rdx
	push	%r11
	pushq	$SEL_UCODE64
	push	%rcx
	iretq
9:	FAIL	0x68

int_user:	/* RIP, CS, RFLAGS, RSP, SS on the RSP0 stack */
	CHECK_EQ %rsp, $(sys_rsp0_top - 40), 0x69
	CHECK_EQQ (%rsp), $int_ret, 0x6a
	CHECK_EQQ 8(%rsp), $SEL_UCODE64, 0x6b
	CHECK_EQQ 24(%rsp), $sys_user_stack_top, 0x6c
	CHECK_EQQ 32(%rsp), $SEL_UDATA, 0x6d
	incq	int_hits
	iretq

int_user_ist:
	CHECK_EQ %rsp, $(sys_ist2_top - 40), 0x6e
	incq	int_hits
	iretq

timer:
	push	%rax
	mov	16(%rsp), %rax
	mov	%rax, timer_cs
	lea	8(%rsp), %rax
	mov	%rax, timer_rsp
	incq	timer_hits
	mov	$0x20, %al			/* non-specific EOI */
	out	%al, $0x20
	pop	%rax
	iretq

pic_pit_init:
	mov	$0x11, %al			/* ICW1-4: vectors 0x20/0x28, cascade on IRQ2 */
	out	%al, $0x20
	out	%al, $0xa0
	mov	$VEC_TIMER, %al
	out	%al, $0x21
	mov	$VEC_TIMER + 8, %al
	out	%al, $0xa1
	mov	$0x04, %al
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xfe, %al			/* only IRQ0 */
	out	%al, $0x21
	mov	$0xff, %al
	out	%al, $0xa1
	mov	$0x34, %al			/* PIT channel 0, mode 2, divisor 1193 */
	out	%al, $0x43
	mov	$(1193 & 0xff), %al
	out	%al, $0x40
	mov	$(1193 >> 8), %al
	out	%al, $0x40
	ret

	.section .data
	.p2align 3
syscall_hits:	.quad	0
int_hits:	.quad	0
user_done:	.quad	0
timer_hits:	.quad	0
timer_cs:	.quad	0
timer_rsp:	.quad	0
cg_hits:	.long	0
gp32_hits:	.long	0
gp32_error:	.long	0
gp32_eip:	.long	0
gp32_resume:	.long	0
kesp32:		.long	0
	.p2align 3
gdt32:
	.quad	0
	.quad	0x00cf9a000000ffff		/* 0x08 code32 */
	.quad	0x00cf92000000ffff		/* 0x10 data */
	.quad	0x00cffa000000ffff		/* 0x18 user code32 */
	.quad	0x00cff2000000ffff		/* 0x20 user data */
	.quad	0				/* 0x28 TSS */
	.quad	0, 0, 0, 0			/* 0x30-0x48 call gates */
gdt32_end:
idt32:
	.fill	(VEC32_FAIL + 1), 8, 0
idt32_end:
	.p2align 3
	.word	0
gdt32_desc:
	.word	gdt32_end - gdt32 - 1
	.long	gdt32
	.word	0
idt32_desc:
	.word	idt32_end - idt32 - 1
	.long	idt32
	.p2align 4
tss32:
	.long	0
	.long	tss32_stack_top			/* ESP0 */
	.long	SEL_DATA			/* SS0 */
	.fill	22, 4, 0
	.word	0, 104				/* I/O map base past the limit */
	.section .bss
	.p2align 12
	.fill	512, 8, 0
tss32_stack_top:
	.fill	512, 8, 0
user32_stack_top:
	.section .data

	GUEST_TABLES
	SYS64_TABLES
