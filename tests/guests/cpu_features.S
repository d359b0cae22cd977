/* SPDX-License-Identifier: MIT */
/*
 * The system features of the CPU model, in long mode at CPL 0 (and CPL 3 where a feature is
 * about it). Each check runs when CPUID says the CPU has the feature and prints "skip NAME"
 * otherwise, so the program passes on any CPU that behaves as it says (the BT engine's models,
 * KVM's host CPU):
 *  - faults push RFLAGS with RF set (#UD, #GP), an external interrupt does not (SDM vol. 3A
 *    18.3.1.1);
 *  - IA32_APIC_BASE.EN = 0 clears CPUID.1:EDX.APIC (vol. 3A 11.4.3), and it comes back;
 *  - x2APIC (vol. 3A 11.12): ID and LDR through MSRs, SELF IPI, an IPI by logical destination
 *    (the LDR of this CPU), both taken after STI;
 *  - machine check MSRs: MCG_CAP has banks, MC0_CTL takes all ones, MC0_STATUS zero; on AMD the
 *    K7 counters PerfCtr0/PerfEvtSel0 hold what is written and RDPMC reads it;
 *  - debug registers (vol. 3B 18.2, 18.3): an instruction breakpoint faults at the instruction
 *    with DR6.B0 and RF clear in the frame, and the handler's RF lets it run once; a data write
 *    breakpoint traps after the store with DR6.B1; an I/O breakpoint (CR4.DE) traps after OUT
 *    with DR6.B2; DR7.GD makes MOV DR fault with DR6.BD; single-step over MOV SS traps after
 *    the instruction that follows it, over STI right after STI;
 *  - SYSRET with TF in R11 traps at the user instruction with the user CS; SYSCALL with TF set
 *    and masked by SFMASK does not trap (the TF SYSCALL leaves decides, as KVM's unit tests
 *    expect);
 *  - RDTSCP and RDPID return IA32_TSC_AUX; FSGSBASE: WRFSBASE moves FS, RDFSBASE reads it;
 *  - XSAVE: XCR0 through XGETBV/XSETBV, XSAVE/XRSTOR of the SSE state, the AVX upper halves
 *    restored by XRSTOR and saved by XSAVE, XSAVEC's compacted header;
 *  - 1 GiB pages: an alias at 1 GiB of the first GiB;
 *  - PCID: CR4.PCIDE, CR3 with a PCID and bit 63, INVPCID of each type after a PTE change;
 *  - SMEP: a supervisor fetch from a user page is #PF (P|I); SMAP: a supervisor read of a user
 *    page is #PF (P) unless STAC, and again after CLAC once STAC's access was cached (the TLB
 *    keeps a set for AC set), writes alike (P|W); UMIP: SGDT at CPL 3 is #GP(0).
 * Under KVM (the PVM flavour on the test hosts) the checks that need ring-3 software
 * interrupts or debug exceptions PVM does not deliver are skipped by SKIP_ON_KVM.
 * Prints "cpu features ok", exits 0; a failed check exits with its code (0x10 and up).
 */
	.include "guest.inc"
	.include "sys64.inc"

	.set TF, 0x100
	.set IF, 0x200
	.set RF, 0x10000
	.set AREA, 0x400000			/* PD entry 2 -> cf_pt (4 KiB pages) */
	.set UPAGE, AREA			/* a user page (SMEP, SMAP) */
	.set TPAGE, AREA + 0x1000		/* remapped for the PCID checks */
	.set FRAME_A, 0x310000
	.set FRAME_B, 0x311000
	.set XBUF, 0x320000			/* 64-byte aligned XSAVE areas */
	.set XBUF2, 0x321000

/* STI, wait until the armed recorder saw its interrupt (or give up), CLI. */
.macro WAIT_IRQ
	sti
	mov	$1000000, %ecx
9941:	cmpq	$0, exc_armed
	je	9942f
	loop	9941b
9942:	cli
.endm

/* Skip to label unless CPUID.(leaf, 0).reg bit is set. */
.macro NEED leaf, reg, bit, label, name
	mov	$\leaf, %eax
	xor	%ecx, %ecx
	cpuid
	bt	$\bit, \reg
	jc	9940f
	PRINT	"skip \name\n"
	jmp	\label
9940:
.endm

.macro RDMSR_ECX msr
	mov	$\msr, %ecx
	rdmsr
.endm

.macro WRMSR64 msr, value
	mov	$\msr, %ecx
	movabs	$\value, %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
.endm

	.section .text.entry, "ax"
	.code16
	.globl	_start
_start:
	REAL_MODE_START
	ENTER_PMODE32 pm32

	.code32
pm32:
	ENTER_LMODE64 lm64

	.code64
lm64:
	SYS64_SETUP
	mov	%cr4, %rax			/* OSFXSR, OSXMMEXCPT: SSE on */
	or	$0x600, %eax
	mov	%rax, %cr4
	/* U only down to the PD: the program's own 2 MiB pages stay supervisor (SMEP, SMAP). */
	orq	$4, guest_pml4
	orq	$4, guest_pdpt
	movq	$(FRAME_A | 7), cf_pt + ((UPAGE - AREA) >> 9)
	movq	$(FRAME_A | 3), cf_pt + ((TPAGE - AREA) >> 9)
	mov	$cf_pt + 7, %eax
	mov	%rax, guest_pd_low + 16
	mov	%cr3, %rax
	mov	%rax, %cr3
	movl	$0xaaaa0001, FRAME_A
	movl	$0xbbbb0002, FRAME_B
	movb	$0xc3, FRAME_A + 0x800		/* RET, for the SMEP fetch */

/* ---------------------------------------------------------------- RF */
	EXPECT_EXC
	movq	$ud_after, exc_resume
ud_insn:
	ud2
ud_after:
	CHECK_EXC $6, $0, $ud_insn, 0x10
	mov	exc_rflags, %rax
	and	$RF, %eax
	CHECK_EQ %eax, $RF, 0x13
	EXPECT_EXC
	movq	$gp_after, exc_resume
	mov	$0x12345678, %ecx		/* no such MSR */
gp_insn:
	rdmsr
gp_after:
	CHECK_EXC $13, $0, $gp_insn, 0x14
	mov	exc_rflags, %rax
	and	$RF, %eax
	CHECK_EQ %eax, $RF, 0x17

/* ------------------------------------------------ APIC base and x2APIC */
	NEED	1, %edx, 9, apic_done, "apic"
	RDMSR_ECX 0x1b
	mov	%eax, %r12d			/* IA32_APIC_BASE low half */
	and	$~0x800, %eax			/* EN = 0 */
	wrmsr
	mov	$1, %eax
	cpuid
	bt	$9, %edx
	jnc	1f
	FAIL	0x18
1:	mov	$0x1b, %ecx
	mov	%r12d, %eax
	xor	%edx, %edx
	wrmsr
	mov	$1, %eax
	cpuid
	bt	$9, %edx
	jc	1f
	FAIL	0x19
1:	NEED	1, %ecx, 21, apic_done, "x2apic"
	RDMSR_ECX 0x1b
	or	$0xc00, %eax			/* EN, EXTD: x2APIC mode */
	wrmsr
	RDMSR_ECX 0x80f				/* SVR: software enable, spurious 0xff */
	mov	$0x1ff, %eax
	xor	%edx, %edx
	wrmsr
	RDMSR_ECX 0x802				/* x2APIC ID of the BSP */
	CHECK_EQ %eax, $0, 0x1a
	RDMSR_ECX 0x80d				/* LDR: cluster 0, bit 0 */
	CHECK_EQ %eax, $1, 0x1b
	mov	%eax, %r13d
	EXPECT_EXC
	mov	$0x83f, %ecx			/* SELF IPI, vector 0x50 */
	mov	$0x50, %eax
	xor	%edx, %edx
	wrmsr
	WAIT_IRQ
	CHECK_EQQ exc_vector, $0x50, 0x1c
	mov	exc_rflags, %rax
	and	$RF, %eax
	CHECK_EQ %eax, $0, 0x1d			/* an interrupt pushes RF as it is */
	mov	$0x80b, %ecx			/* EOI */
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	EXPECT_EXC
	mov	$0x830, %ecx			/* ICR: logical, fixed, vector 0x51, to our LDR */
	mov	$0x851, %eax
	mov	%r13d, %edx
	wrmsr
	WAIT_IRQ
	CHECK_EQQ exc_vector, $0x51, 0x1e
	mov	$0x80b, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	/* Back to xAPIC mode: disable, then enable (vol. 3A 11.12.5). */
	mov	$0x1b, %ecx
	mov	%r12d, %eax
	and	$~0xc00, %eax
	xor	%edx, %edx
	wrmsr
	mov	%r12d, %eax
	wrmsr
apic_done:

/* ----------------------------------------- machine check and counters */
	NEED	1, %edx, 14, mca_done, "mca"
	SKIP_ON_KVM mca_done, "skip mca (the VMM does not set KVM's up)\n"
	RDMSR_ECX 0x179				/* MCG_CAP: banks in 7:0 */
	test	%al, %al
	jnz	1f
	FAIL	0x20
1:	mov	$0x400, %ecx			/* MC0_CTL: all ones */
	mov	$-1, %eax
	mov	$-1, %edx
	wrmsr
	mov	$0x401, %ecx			/* MC0_STATUS: zero */
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
mca_done:
	xor	%eax, %eax
	cpuid
	cmp	$0x68747541, %ebx		/* "Auth": AMD */
	jne	perf_done
	SKIP_ON_KVM perf_done, "skip k7 counters (KVM's PMU)\n"
	WRMSR64	0xc0010000, 0x30076		/* PerfEvtSel0: OS, USR, event 76h, not enabled */
	WRMSR64	0xc0010004, 0x123456789a	/* PerfCtr0 */
	RDMSR_ECX 0xc0010000
	CHECK_EQ %eax, $0x30076, 0x21
	RDMSR_ECX 0xc0010004
	CHECK_EQ %eax, $0x3456789a, 0x22
	CHECK_EQ %edx, $0x12, 0x23
	xor	%ecx, %ecx
	rdpmc
	CHECK_EQ %eax, $0x3456789a, 0x24
perf_done:

/* --------------------------------------------------- debug registers */
	SKIP_ON_KVM dbg_done, "skip debug registers (PVM)\n"
	/* Instruction breakpoint: a fault, RF clear in the frame; the hook sets it. */
	mov	$bp_insn, %rax
	mov	%rax, %dr0
	mov	$0x401, %eax			/* L0, execute, 1 byte */
	mov	%rax, %dr7
	xor	%eax, %eax
	mov	%rax, %dr6
	movq	$0, exc_count
	EXPECT_EXC
	movq	$set_rf_hook, exc_hook
bp_insn:
	mov	$0x77, %ebx
	CHECK_EQ %ebx, $0x77, 0x25
	CHECK_EXC $1, $0, $bp_insn, 0x26
	CHECK_EQQ exc_count, $1, 0x29
	mov	exc_rflags, %rax
	and	$RF, %eax
	CHECK_EQ %eax, $0, 0x2a
	mov	%dr6, %rax
	and	$0xf, %eax
	CHECK_EQ %eax, $1, 0x2b
	/* Data write breakpoint: a trap after the store. */
	mov	$watch, %rax
	mov	%rax, %dr1
	mov	$0xd00404, %eax			/* L1, write, 4 bytes (and L0 off) */
	mov	%rax, %dr7
	xor	%eax, %eax
	mov	%rax, %dr6
	EXPECT_EXC
	movl	$5, watch
data_after:
	CHECK_EXC $1, $0, $data_after, 0x2c
	mov	%dr6, %rax
	and	$0xf, %eax
	CHECK_EQ %eax, $2, 0x2f
	mov	watch, %eax			/* a read is no write */
	/* I/O breakpoint on port 0x80 (CR4.DE). */
	mov	%cr4, %rax
	or	$8, %eax
	mov	%rax, %cr4
	mov	$0x80, %eax
	mov	%rax, %dr2
	mov	$0x2000410, %eax		/* L2, I/O, 1 byte */
	mov	%rax, %dr7
	xor	%eax, %eax
	mov	%rax, %dr6
	EXPECT_EXC
	out	%al, $0x80
io_after:
	CHECK_EXC $1, $0, $io_after, 0x30
	mov	%dr6, %rax
	and	$0xf, %eax
	CHECK_EQ %eax, $4, 0x33
	xor	%eax, %eax
	mov	%rax, %dr7
	mov	%cr4, %rax
	and	$~8, %eax
	mov	%rax, %cr4
	/* DR7.GD: MOV DR faults with DR6.BD, GD is cleared, the retry reads DR0. */
	mov	$0x2400, %eax
	mov	%rax, %dr7
	EXPECT_EXC
gd_insn:
	mov	%dr0, %rax
	CHECK_EXC $1, $0, $gd_insn, 0x34
	mov	%dr6, %rax
	bt	$13, %rax
	jc	1f
	FAIL	0x37
1:	mov	%dr7, %rax
	bt	$13, %rax
	jnc	1f
	FAIL	0x38
	/* Single step over MOV SS: the trap waits for the next instruction. */
1:	xor	%eax, %eax
	mov	%rax, %dr6
	mov	%ss, %ax
	EXPECT_EXC
	movq	$clear_tf_hook, exc_hook
	pushfq
	orq	$TF, (%rsp)
	popfq
	mov	%ax, %ss
	nop
ss_after:
	CHECK_EXC $1, $0, $ss_after, 0x39
	mov	%dr6, %rax
	bt	$14, %rax			/* BS */
	jc	1f
	FAIL	0x3c
	/* ... and over STI it does not. */
1:	EXPECT_EXC
	movq	$clear_tf_hook, exc_hook
	pushfq
	orq	$TF, (%rsp)
	popfq
	sti
sti_after:
	nop
	cli
	CHECK_EXC $1, $0, $sti_after, 0x3d
dbg_done:

/* ---------------------------------------------- SYSCALL/SYSRET and TF */
	SKIP_ON_KVM sysret_done, "skip sysret tf (PVM)\n"
	RDMSR_ECX 0xc0000080			/* EFER.SCE */
	or	$1, %eax
	wrmsr
	WRMSR64	0xc0000081, 0x0028001800000000	/* STAR: SYSRET base 0x28, SYSCALL CS 0x18 */
	mov	$0xc0000082, %ecx		/* LSTAR */
	mov	$sc_target, %eax
	xor	%edx, %edx
	wrmsr
	WRMSR64	0xc0000084, 0x4700		/* SFMASK: TF, IF, DF, NT */
	orq	$4, guest_pd_low		/* the user instruction's page */
	mov	%cr3, %rax
	mov	%rax, %cr3
	/* SYSCALL with TF set (by POPF, for the next instruction): masked, no trap. */
	pushfq
	orq	$TF, (%rsp)
	popfq
	syscall
sc_return:
	/* SYSRET with TF in R11: the trap comes at the user instruction, with the user CS. */
	movq	$sysret_cont, sys_kcont
	mov	%rsp, sys_krsp
	EXPECT_EXC
	movq	$sys_to_kernel_hook, exc_hook
	mov	$user_insn, %ecx
	mov	$(TF | 2), %r11d
	sysretq
sysret_cont:
	CHECK_EXC $1, $0, $user_insn, 0x3e
	CHECK_EQQ exc_cs, $SEL_UCODE64, 0x41
	andq	$~4, guest_pd_low
	mov	%cr3, %rax
	mov	%rax, %cr3
sysret_done:

/* --------------------------------------------------- RDTSCP, RDPID */
	NEED	0x80000001, %edx, 27, rdtscp_done, "rdtscp"
	mov	$0xc0000103, %ecx		/* IA32_TSC_AUX */
	mov	$0x1234, %eax
	xor	%edx, %edx
	wrmsr
	xor	%ecx, %ecx
	rdtscp
	CHECK_EQ %ecx, $0x1234, 0x42
	NEED	7, %ecx, 22, rdtscp_done, "rdpid"
	xor	%eax, %eax
	rdpid	%rax
	CHECK_EQ %eax, $0x1234, 0x43
rdtscp_done:

/* ---------------------------------------------------------- FSGSBASE */
	NEED	7, %ebx, 0, fsgs_done, "fsgsbase"
	mov	%cr4, %rax
	or	$0x10000, %eax
	mov	%rax, %cr4
	mov	$FRAME_B, %eax
	wrfsbase %rax
	rdfsbase %rcx
	CHECK_EQ %rcx, %rax, 0x44
	mov	%fs:0, %ebx
	CHECK_EQ %ebx, $0xbbbb0002, 0x45
	xor	%eax, %eax
	wrfsbase %rax
fsgs_done:

/* ------------------------------------------------------------- XSAVE */
	NEED	1, %ecx, 26, xsave_done, "xsave"
	mov	%ecx, %r12d			/* AVX in bit 28 */
	SKIP_ON_KVM xsave_done, "skip xsave (PVM reports it in CPUID, runs no XGETBV)\n"
	mov	%cr4, %rax
	or	$0x40000, %eax			/* OSXSAVE */
	mov	%rax, %cr4
	xor	%ecx, %ecx
	xgetbv
	CHECK_EQ %eax, $1, 0x46			/* x87 only after reset */
	mov	$3, %eax
	bt	$28, %r12d
	jnc	1f
	mov	$7, %eax
1:	mov	%eax, %r13d
	xor	%edx, %edx
	xor	%ecx, %ecx
	xsetbv
	xgetbv
	CHECK_EQ %eax, %r13d, 0x47
	movabs	$0x1122334455667788, %rax
	movq	%rax, %xmm3
	mov	$-1, %eax
	mov	$-1, %edx
	movq	$0, XBUF + 512			/* XSTATE_BV */
	xsave	XBUF
	mov	XBUF + 160 + 3 * 16, %rbx
	movabs	$0x1122334455667788, %rax
	CHECK_EQ %rbx, %rax, 0x48
	mov	XBUF + 512, %rbx
	and	$2, %ebx
	CHECK_EQ %ebx, $2, 0x49			/* SSE in use */
	pxor	%xmm3, %xmm3
	mov	$-1, %eax
	mov	$-1, %edx
	xrstor	XBUF
	movq	%xmm3, %rbx
	movabs	$0x1122334455667788, %rax
	CHECK_EQ %rbx, %rax, 0x4a
	bt	$28, %r12d
	jnc	xsave_compact
	/* The AVX upper halves: loaded by XRSTOR, saved by XSAVE. */
	movabs	$0xa5a5a5a5deadbeef, %rax
	mov	%rax, XBUF + 576 + 5 * 16 + 8	/* YMM5 bits 255:192 */
	orq	$4, XBUF + 512
	mov	$-1, %eax
	mov	$-1, %edx
	xrstor	XBUF
	xsave	XBUF2
	mov	XBUF2 + 576 + 5 * 16 + 8, %rbx
	movabs	$0xa5a5a5a5deadbeef, %rax
	CHECK_EQ %rbx, %rax, 0x4b
xsave_compact:
	mov	$0xd, %eax
	mov	$1, %ecx
	cpuid
	bt	$1, %eax			/* XSAVEC */
	jnc	xsave_done
	mov	$-1, %eax
	mov	$-1, %edx
	xsavec	XBUF2
	mov	XBUF2 + 520, %rbx		/* XCOMP_BV: compacted, the RFBM */
	mov	%r13d, %eax
	bts	$63, %rax
	CHECK_EQ %rbx, %rax, 0x4c
xsave_done:

/* ------------------------------------------------------ 1 GiB pages */
	NEED	0x80000001, %edx, 26, gb_done, "pdpe1gb"
	movq	$0x87, guest_pdpt + 8		/* 1-2 GiB -> 0-1 GiB, P RW U PS */
	mov	%cr3, %rax
	mov	%rax, %cr3
	mov	$0x40000000 + FRAME_A, %eax
	mov	(%rax), %ebx
	CHECK_EQ %ebx, $0xaaaa0001, 0x4d
	movq	$0, guest_pdpt + 8
	mov	%cr3, %rax
	mov	%rax, %cr3
gb_done:

/* ------------------------------------------------------ PCID, INVPCID */
	NEED	1, %ecx, 17, pcid_done, "pcid"
	mov	%cr4, %rax
	or	$0x20000, %eax			/* PCIDE */
	mov	%rax, %cr4
	mov	%cr3, %rax
	or	$1, %eax			/* PCID 1 */
	bts	$63, %rax			/* keep its translations */
	mov	%rax, %cr3
	mov	%cr3, %rbx
	bt	$63, %rbx
	jnc	1f
	FAIL	0x4e				/* bit 63 is not stored */
1:	and	$0xfff, %ebx
	CHECK_EQ %ebx, $1, 0x4f
	mov	TPAGE, %eax
	CHECK_EQ %eax, $0xaaaa0001, 0x50
	NEED	7, %ebx, 10, pcid_off, "invpcid"
	movq	$(FRAME_B | 3), cf_pt + ((TPAGE - AREA) >> 9)
	movq	$1, invpcid_desc		/* PCID 1 */
	movq	$TPAGE, invpcid_desc + 8
	xor	%eax, %eax			/* type 0: one address */
	invpcid	invpcid_desc, %rax
	mov	TPAGE, %eax
	CHECK_EQ %eax, $0xbbbb0002, 0x51
	movq	$(FRAME_A | 3), cf_pt + ((TPAGE - AREA) >> 9)
	mov	$1, %eax			/* type 1: the PCID */
	invpcid	invpcid_desc, %rax
	mov	TPAGE, %eax
	CHECK_EQ %eax, $0xaaaa0001, 0x52
	movq	$(FRAME_B | 3), cf_pt + ((TPAGE - AREA) >> 9)
	mov	$2, %eax			/* type 2: everything */
	invpcid	invpcid_desc, %rax
	mov	TPAGE, %eax
	CHECK_EQ %eax, $0xbbbb0002, 0x53
	movq	$(FRAME_A | 3), cf_pt + ((TPAGE - AREA) >> 9)
	mov	$3, %eax			/* type 3: all but global */
	invpcid	invpcid_desc, %rax
	mov	TPAGE, %eax
	CHECK_EQ %eax, $0xaaaa0001, 0x54
pcid_off:
	mov	%cr3, %rax
	and	$~0xfff, %rax
	mov	%rax, %cr3
	mov	%cr4, %rax
	and	$~0x20000, %eax
	mov	%rax, %cr4
pcid_done:

/* -------------------------------------------------------- SMEP, SMAP */
	NEED	7, %ebx, 7, smep_done, "smep"
	mov	%cr4, %rax
	bts	$20, %rax
	mov	%rax, %cr4
	EXPECT_EXC
	movq	$smep_after, exc_resume
	mov	$UPAGE + 0x800, %eax
	call	*%rax
smep_after:
	add	$8, %rsp			/* the CALL completed: its return address */
	CHECK_EXC $14, $0x11, $UPAGE + 0x800, 0x55
	mov	%cr4, %rax
	btr	$20, %rax
	mov	%rax, %cr4
smep_done:
	NEED	7, %ebx, 20, smap_done, "smap"
	SKIP_ON_KVM smap_done, "skip smap (PVM runs no STAC)\n"
	mov	%cr4, %rax
	bts	$21, %rax
	mov	%rax, %cr4
	EXPECT_EXC
	movq	$smap_after, exc_resume
smap_insn:
	mov	UPAGE, %ebx
smap_after:
	CHECK_EXC $14, $1, $smap_insn, 0x58
	stac
	mov	UPAGE, %ebx
	clac
	CHECK_EQ %ebx, $0xaaaa0001, 0x5b
	/* What STAC allowed stays allowed for AC set only: the same read after CLAC faults
	 * again, a write with AC set lands, and after CLAC the same write faults (P|W). */
	EXPECT_EXC
	movq	$smap_after2, exc_resume
smap_insn2:
	mov	UPAGE, %ebx
smap_after2:
	CHECK_EXC $14, $1, $smap_insn2, 0x60
	stac
	movl	$0x5a5a, UPAGE + 4
	mov	UPAGE + 4, %ebx
	clac
	CHECK_EQ %ebx, $0x5a5a, 0x63
	EXPECT_EXC
	movq	$smap_after3, exc_resume
smap_insn3:
	movl	$1, UPAGE + 4
smap_after3:
	CHECK_EXC $14, $3, $smap_insn3, 0x64
	stac
	mov	UPAGE + 4, %ebx
	clac
	CHECK_EQ %ebx, $0x5a5a, 0x67
	mov	%cr4, %rax
	btr	$21, %rax
	mov	%rax, %cr4
smap_done:

/* -------------------------------------------------------------- UMIP */
	NEED	7, %ecx, 2, umip_done, "umip"
	SKIP_ON_KVM umip_done, "skip umip (PVM)\n"
	SYS64_USER_PAGES
	mov	%cr4, %rax
	bts	$11, %rax
	mov	%rax, %cr4
	ENTER_USER umip_user
	CHECK_EXC $13, $0, $umip_insn, 0x5c
	mov	%cr4, %rax
	btr	$11, %rax
	mov	%rax, %cr4
umip_done:

	PRINT	"cpu features ok\n"
	EXIT	0

	/* exc_hook: set RF in the frame (an instruction breakpoint's handler does). */
set_rf_hook:
	orq	$RF, 16(%rdi)
	ret

clear_tf_hook:
	andq	$~TF, 16(%rdi)
	ret

	/* SYSCALL target at CPL 0, TF masked: back to the caller with TF off. */
sc_target:
	pushfq
	pop	%rax
	test	$TF, %eax
	jz	1f
	FAIL	0x5f
1:	mov	%rcx, %rax
	jmp	*%rax

	/* The UMIP probe at CPL 3: SGDT faults, the kernel's #GP handler returns to the kernel. */
umip_user:
	movq	$sys_to_kernel_hook, exc_hook
	EXPECT_EXC
umip_insn:
	sgdt	sys_user_stack_top - 16
	USER_FAIL 0x5d

	/* The SYSRET target: never runs its first instruction (the #DB comes first). */
	.p2align 4
user_insn:
	nop
	USER_FAIL 0x5e

	GUEST_TABLES
	SYS64_TABLES

	.section .data
	.p2align 3
watch:	.quad	0
invpcid_desc:
	.quad	0, 0
	.p2align 12
cf_pt:	.fill	512, 8, 0
