/* SPDX-License-Identifier: MIT */
/*
 * Page faults in long mode with 4 KiB pages: a page table of this program maps 4-6 MiB (PD
 * entry 2) onto frames at 3 MiB (the unit-test runner has 4 MiB of RAM); each check arms the recorder of lib/sys64.inc and checks vector 14, the error code
 * (P = 1, W = 2, U = 4, I = 16), CR2 and the saved RIP:
 *  - a read of a not-present page (error 0): the hook maps the page, the read is retried and
 *    sees the new page's data;
 *  - a write to a read-only supervisor page with CR0.WP = 1 (error P|W), which succeeds with
 *    CR0.WP = 0;
 *  - an instruction fetch from an XD page with EFER.NXE = 1 (error P|I), while reads from it
 *    work;
 *  - from ring 3: a read of a supervisor page (P|U), a write to it (P|W|U), a read of a
 *    not-present page (U), a write to a read-only user page (P|W|U);
 *  - accessed and dirty bits: a read sets A only, a write sets D, and the walk sets A in the
 *    page-directory entry;
 *  - INVLPG after a PTE change: the next access uses the new frame; also a CR3 reload.
 * Under KVM (the PVM flavour here) ring 3 reads its own CS, so the CS checks are skipped there.
 * Cross-checked under QEMU TCG. Prints "page faults ok", exits 0; a failed check exits with its code (0x10 and up).
 * References: Intel SDM vol. 3A 4.5 (4-level paging), 4.6 (access rights, CR0.WP, U/S, XD),
 * 4.7 (page-fault error code), 4.8 (accessed and dirty flags), 4.10.4 (INVLPG, CR3 loads).
 */
	.include "guest.inc"
	.include "sys64.inc"

	.set PG_P, 1
	.set PG_RW, 2
	.set PG_U, 4
	.set PG_A, 0x20
	.set PG_D, 0x40
	.set PF_P, 1
	.set PF_W, 2
	.set PF_U, 4
	.set PF_I, 16

	.set AREA, 0x400000			/* 4 MiB: PD entry 2 -> pf_pt */
	.set PAGE_NP, AREA			/* not present until the hook maps it */
	.set PAGE_RO, AREA + 0x1000		/* read-only, supervisor */
	.set PAGE_SUP, AREA + 0x2000		/* read-write, supervisor */
	.set PAGE_UNP, AREA + 0x3000		/* not present, ring-3 read */
	.set PAGE_NX, AREA + 0x4000		/* XD */
	.set PAGE_AD, AREA + 0x5000		/* A and D clear */
	.set PAGE_TLB, AREA + 0x6000		/* remapped between two frames */
	.set PAGE_URO, AREA + 0x7000		/* read-only, user */
	.set BACKING, 0x300000			/* AREA + n -> BACKING + n */
	.set FRAME_A, 0x310000			/* frames with known data (identity map) */
	.set FRAME_B, 0x311000
	.set FRAME_C, 0x312000
	.set XD, 0x8000000000000000

.macro PTE page, value
	movabs	$\value, %rax
	mov	%rax, pf_pt + ((\page - AREA) >> 9)
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
	SYS64_USER_PAGES
	mov	$0xc0000080, %ecx		/* EFER.NXE */
	rdmsr
	or	$0x800, %eax
	wrmsr

	/* the page table: the test pages as named */
	PTE	PAGE_RO, (PAGE_RO - AREA + BACKING | PG_P)
	PTE	PAGE_SUP, (PAGE_SUP - AREA + BACKING | PG_P | PG_RW)
	PTE	PAGE_NX, (PAGE_NX - AREA + BACKING | PG_P | PG_RW | XD)
	PTE	PAGE_AD, (PAGE_AD - AREA + BACKING | PG_P | PG_RW)
	PTE	PAGE_TLB, (FRAME_A | PG_P | PG_RW)
	PTE	PAGE_URO, (PAGE_URO - AREA + BACKING | PG_P | PG_U)
	mov	$pf_pt + (PG_P | PG_RW | PG_U), %eax
	mov	%rax, guest_pd_low + 16
	mov	%cr3, %rax
	mov	%rax, %cr3
	movl	$0xaaaa0001, FRAME_A + 0x120
	movl	$0xbbbb0002, FRAME_B + 0x120
	movl	$0xcccc0003, FRAME_C + 0x120
	movb	$0xc3, PAGE_NX			/* RET, for the fetch */
	movl	$0x5a5a5a5a, PAGE_RO + 8	/* CR0.WP is still 0 */
	mov	%cr0, %rax			/* CR0.WP */
	or	$0x10000, %eax
	mov	%rax, %cr0

	/* not present, read at CPL 0: the hook maps FRAME_C there and the read is retried */
	EXPECT_EXC
	movq	$map_np_hook, exc_hook
np_insn:
	mov	PAGE_NP + 0x120, %ebx
	CHECK_EXC $14, $0, $np_insn, 0x10
	CHECK_EQQ exc_cr2, $PAGE_NP + 0x120, 0x13
	CHECK_EQ %ebx, $0xcccc0003, 0x14
	CHECK_EQQ exc_count, $1, 0x15

	/* read-only page, CR0.WP = 1: a supervisor write faults with P|W */
	EXPECT_EXC
	movq	$ro_after, exc_resume
ro_insn:
	movl	$0x11111111, PAGE_RO + 8
	FAIL	0x16
ro_after:
	CHECK_EXC $14, $(PF_P | PF_W), $ro_insn, 0x17
	CHECK_EQQ exc_cr2, $PAGE_RO + 8, 0x1a
	CHECK_EQQ PAGE_RO + 8, $0x5a5a5a5a, 0x1b
	/* ... and succeeds with CR0.WP = 0 */
	mov	%cr0, %rax
	and	$~0x10000, %eax
	mov	%rax, %cr0
	movl	$0x22222222, PAGE_RO + 8
	mov	%cr0, %rax
	or	$0x10000, %eax
	mov	%rax, %cr0
	CHECK_EQQ PAGE_RO + 8, $0x22222222, 0x1c

	/* XD: reads work, a fetch faults with P|I, CR2 = RIP = the target */
	CHECK_EQQ PAGE_NX, $0xc3, 0x1d
	EXPECT_EXC
	movq	$nx_after, exc_resume
	mov	$PAGE_NX, %eax
	call	*%rax
	FAIL	0x1e
nx_after:
	CHECK_EXC $14, $(PF_P | PF_I), $PAGE_NX, 0x1f
	CHECK_EQQ exc_cr2, $PAGE_NX, 0x22
	add	$8, %rsp			/* the CALL's return address */

	/* A/D: clear them in the PTE and the PDE, flush, then read, then write */
	andq	$~PG_A, guest_pd_low + 16
	mov	%cr3, %rax
	mov	%rax, %cr3
	mov	pf_pt + ((PAGE_AD - AREA) >> 9), %rax
	and	$(PG_A | PG_D), %eax
	CHECK_EQ %eax, $0, 0x23
	mov	PAGE_AD, %ebx
	mov	pf_pt + ((PAGE_AD - AREA) >> 9), %rax
	and	$(PG_A | PG_D), %eax
	CHECK_EQ %eax, $PG_A, 0x24
	mov	guest_pd_low + 16, %rax
	and	$PG_A, %eax
	CHECK_EQ %eax, $PG_A, 0x25
	movl	$1, PAGE_AD
	mov	pf_pt + ((PAGE_AD - AREA) >> 9), %rax
	and	$(PG_A | PG_D), %eax
	CHECK_EQ %eax, $(PG_A | PG_D), 0x26

	/* INVLPG: PAGE_TLB -> FRAME_A, read, PTE -> FRAME_B, INVLPG, read */
	mov	PAGE_TLB + 0x120, %ebx
	CHECK_EQ %ebx, $0xaaaa0001, 0x27
	PTE	PAGE_TLB, (FRAME_B | PG_P | PG_RW)
	invlpg	PAGE_TLB
	mov	PAGE_TLB + 0x120, %ebx
	CHECK_EQ %ebx, $0xbbbb0002, 0x28
	/* a CR3 reload flushes it too: -> FRAME_C */
	PTE	PAGE_TLB, (FRAME_C | PG_P | PG_RW)
	mov	%cr3, %rax
	mov	%rax, %cr3
	mov	PAGE_TLB + 0x120, %ebx
	CHECK_EQ %ebx, $0xcccc0003, 0x29
	/* a write through the new mapping lands in FRAME_C */
	movl	$0x12345678, PAGE_TLB + 0x124
	CHECK_EQQ FRAME_C + 0x124, $0x12345678, 0x2a

	/* ring 3 */
	ENTER_USER user_code
	CHECK_EQQ user_done, $1, 0x2b
	PRINT	"page faults ok\n"
	EXIT	0

	.code64
user_code:
	call	sys_is_kvm			/* PVM shows its own user CS */
	je	1f
	mov	%cs, %ax
	CHECK_EQ_U %ax, $SEL_UCODE64, 0x30
1:
	/* a user read of a supervisor page: P|U */
	EXPECT_EXC
	movq	$u1_after, exc_resume
u1_insn:
	mov	PAGE_SUP, %eax
	USER_FAIL 0x31
u1_after:
	CHECK_EXC_U $14, $(PF_P | PF_U), $u1_insn, 0x32
	CHECK_EQQ_U exc_cr2, $PAGE_SUP, 0x35
	call	sys_is_kvm
	je	1f
	CHECK_EQQ_U exc_cs, $SEL_UCODE64, 0x36
1:
	/* a user write to it: P|W|U */
	EXPECT_EXC
	movq	$u2_after, exc_resume
u2_insn:
	movl	$0, PAGE_SUP + 0x10
	USER_FAIL 0x37
u2_after:
	CHECK_EXC_U $14, $(PF_P | PF_W | PF_U), $u2_insn, 0x38
	CHECK_EQQ_U exc_cr2, $PAGE_SUP + 0x10, 0x3b
	/* a user read of a not-present page: U */
	EXPECT_EXC
	movq	$u3_after, exc_resume
u3_insn:
	mov	PAGE_UNP + 0x800, %eax
	USER_FAIL 0x3c
u3_after:
	CHECK_EXC_U $14, $PF_U, $u3_insn, 0x3d
	CHECK_EQQ_U exc_cr2, $PAGE_UNP + 0x800, 0x40
	/* a user read of a read-only user page works, a write faults with P|W|U */
	mov	PAGE_URO, %eax
	EXPECT_EXC
	movq	$u4_after, exc_resume
u4_insn:
	movb	$1, PAGE_URO + 3
	USER_FAIL 0x41
u4_after:
	CHECK_EXC_U $14, $(PF_P | PF_W | PF_U), $u4_insn, 0x42
	CHECK_EQQ_U exc_cr2, $PAGE_URO + 3, 0x45
	movq	$1, user_done
	RETURN_KERNEL

	/* exc_hook for the not-present read: map FRAME_C at PAGE_NP */
map_np_hook:
	movabs	$(FRAME_C | PG_P | PG_RW), %rax
	mov	%rax, pf_pt + ((PAGE_NP - AREA) >> 9)
	ret

	.section .data
	.p2align 3
user_done:	.quad	0
	.p2align 12
pf_pt:
	.fill	512, 8, 0

	GUEST_TABLES
	SYS64_TABLES
