/* SPDX-License-Identifier: MIT */
/*
 * The hypercall interfaces (docs/hypercall.md) from a guest, in long mode. One program, three
 * specs: backdoor.json (the VMware backdoor and CPUID identity), backdoor_kvm.json (the same
 * backdoor, KVM's own CPUID: the run under KVM), backdoor_off.json (no backdoor).
 *
 * With the backdoor (GETVERSION answers the magic):
 *  - GETVERSION (EAX 6, EBX magic, ECX 2); a wrong magic and an unknown command answer
 *    EAX 0xffffffff and leave EBX alone; GETMEMSIZE (16 MiB); GET_UUID (the spec's UUID);
 *    GETHZ (TSC Hz in EDX:EAX... EBX:EAX, APIC bus 1 GHz in ECX), GETMHZ agrees with it;
 *    GETTIME, GETTIMEFULL (same second, magic in EAX); GETSCREENSIZE (0, no display);
 *  - CPUID 4000_0000h: when it says "VMwareVMware", its max leaf is 4000_0010h and that leaf
 *    gives GETHZ's rate in kHz and a 1 GHz bus;
 *  - the message channel: open RPCI with a cookie; "info-get guestinfo.demo" sent 4 bytes
 *    at a time answers "1 hello"; when SENDSIZE offers high bandwidth, "info-set
 *    guestinfo.answer 42" goes by REP OUTSB and its answer comes by REP INSB; info-get reads
 *    it back ("1 42"); a wrong cookie, a message of VMPORT_MSG_MAX + 1 bytes, a payload
 *    nobody announced, an unknown protocol and a closed channel all answer status 0; the
 *    channel still works after each; a TCLO channel's first poll gets "reset" and the answer
 *    "OK ATR test" is followed by "Capabilities_Register";
 *  - ring 3: GETVERSION works (the ports are open at any CPL), except under KVM, where that
 *    depends on the host's kvm.enable_vmware_backdoor (skipped, said so);
 *  - VMCALL and VMMCALL: -1000 (-KVM_ENOSYS) for an unknown number, 0 for
 *    KVM_HC_VAPIC_POLL_IRQ (1), -1 (-KVM_EPERM) from ring 3.
 * Without it: GETVERSION reads all ones, and an IN on the backdoor port at CPL 3 (IOPL 0, no
 * I/O bitmap) is #GP(0).
 * Prints "backdoor ok" or "backdoor off ok", exits 0; a failed check exits with its code.
 * References: open-vm-tools lib/include/backdoor_def.h, guest_msg_def.h, lib/message; Linux
 * arch/x86/kernel/cpu/vmware.c; Documentation/virt/kvm/x86/hypercalls.rst.
 */
	.include "guest.inc"
	.include "sys64.inc"

	.set BD_MAGIC, 0x564d5868
	.set BD_PORT, 0x5658
	.set BD_HB_PORT, 0x5659
	.set BD_MSG, 30
	.set ST_SUCCESS, 1
	.set ST_DORECV, 2
	.set ST_HB, 0x80
	.set RPCI, 0x49435052
	.set TCLO, 0x4f4c4354
	.set COOKIE, 0x80000000

/* A low-bandwidth call: EAX magic, EBX arg, ECX cmd, DX port (EDX high half kept). */
.macro BD cmd, arg
	mov	$BD_MAGIC, %eax
	mov	\arg, %ebx
	mov	\cmd, %ecx
	mov	$BD_PORT, %dx
	in	%dx, %eax
.endm

/* A message call on the current channel: type, EBX arg; status in EAX (ECX[31:16]). */
.macro MSG type, arg
	mov	\type, %r8d
	mov	\arg, %r9d
	call	bd_msg
.endm

/* The buffer at sym holds the string text (len bytes at least), else FAIL code. */
.macro CHECK_BUF sym, text, code
	.pushsection .rodata
9930:	.ascii "\text"
9931:
	.popsection
	mov	$9930b, %rsi
	mov	$\sym, %rdi
	mov	$(9931b - 9930b), %ecx
	repe cmpsb
	je	9932f
	FAIL	\code
9932:
.endm

/* Send the string text as one message, 4 bytes at a time; SENDSIZE's status in r12d. */
.macro SEND_LB text
	.pushsection .rodata
9933:	.ascii "\text"
9934:
	.popsection
	mov	$9933b, %rsi
	mov	$(9934b - 9933b), %ecx
	call	bd_send_lb
.endm

	.code16
	.globl _start
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
	BD	$10, $~BD_MAGIC
	cmp	$BD_MAGIC, %ebx
	jne	no_backdoor

	/* ---- commands ---- */
	CHECK_EQ %eax, $6, 0x10
	CHECK_EQ %ecx, $2, 0x11
	mov	$0x12345678, %eax		/* wrong magic: a plain port read */
	mov	$0xaabbccdd, %ebx
	mov	$10, %ecx
	mov	$BD_PORT, %dx
	in	%dx, %eax
	CHECK_EQ %eax, $0xffffffff, 0x12
	CHECK_EQ %ebx, $0xaabbccdd, 0x13
	BD	$99, $0x11223344		/* unknown command */
	CHECK_EQ %eax, $0xffffffff, 0x14
	CHECK_EQ %ebx, $0x11223344, 0x15
	BD	$20, $0				/* GETMEMSIZE */
	CHECK_EQ %eax, $16, 0x16
	BD	$19, $0				/* GET_UUID 564d0f6c-3a4e-4b12-8f00-2d0c7a1e9b55 */
	CHECK_EQ %eax, $0x6c0f4d56, 0x17
	CHECK_EQ %ebx, $0x124b4e3a, 0x18
	CHECK_EQ %ecx, $0x0c2d008f, 0x19
	CHECK_EQ %edx, $0x559b1e7a, 0x1a
	BD	$45, $0xffffffff		/* GETHZ */
	CHECK_EQ %ebx, $0, 0x1b			/* below 4 GHz */
	cmp	$0, %eax
	jne	1f
	FAIL	0x1c
1:	mov	%eax, tsc_hz
	CHECK_EQ %ecx, $1000000000, 0x1d
	BD	$1, $~BD_MAGIC			/* GETMHZ = round(Hz / 1e6) */
	mov	%eax, %r10d
	mov	tsc_hz, %eax
	add	$500000, %eax
	xor	%edx, %edx
	mov	$1000000, %ecx
	div	%ecx
	CHECK_EQ %r10d, %eax, 0x1e
	BD	$23, $0				/* GETTIME */
	cmp	$1600000000, %eax
	ja	1f
	FAIL	0x1f
1:	mov	%eax, %r10d
	CHECK_EQ %ecx, $1000000, 0x20
	BD	$46, $0				/* GETTIMEFULL */
	CHECK_EQ %eax, $BD_MAGIC, 0x21
	CHECK_EQ %esi, $0, 0x22
	sub	%r10d, %edx
	cmp	$2, %edx
	jbe	1f
	FAIL	0x23
1:	cmp	$1000000, %ebx
	jb	1f
	FAIL	0x24
1:	BD	$15, $0				/* GETSCREENSIZE: no display */
	CHECK_EQ %eax, $0, 0x25

	/* ---- CPUID identity ---- */
	mov	$0x40000000, %eax
	xor	%ecx, %ecx
	cpuid
	cmp	$0x61774d56, %ebx		/* "VMwa" */
	jne	1f
	CHECK_EQ %ecx, $0x4d566572, 0x26	/* "reVM" */
	CHECK_EQ %edx, $0x65726177, 0x27	/* "ware" */
	CHECK_EQ %eax, $0x40000010, 0x28
	mov	$0x40000010, %eax
	cpuid
	CHECK_EQ %ebx, $1000000, 0x29
	imul	$1000, %eax, %eax
	CHECK_EQ %eax, tsc_hz, 0x2a
	PRINT	"cpuid says VMware\n"
1:
	/* ---- the RPCI channel ---- */
	movl	$0, chan_id
	movl	$0, cookie_hi
	movl	$0, cookie_lo
	MSG	$0, $(RPCI | COOKIE)
	CHECK_EQ %eax, $ST_SUCCESS, 0x30
	shr	$16, %edx
	mov	%edx, chan_id
	mov	%esi, cookie_hi
	mov	%edi, cookie_lo
	SEND_LB	"info-get guestinfo.demo"
	mov	%r12d, %eax
	and	$ST_SUCCESS, %eax
	CHECK_EQ %eax, $ST_SUCCESS, 0x31
	call	bd_recv_lb
	CHECK_EQ %eax, $7, 0x32
	CHECK_BUF rbuf, "1 hello", 0x33
	test	$ST_HB, %r12d
	jz	2f
	/* high bandwidth: send by REP OUTSB */
	MSG	$1, $(hb_msg_end - hb_msg)	/* SENDSIZE */
	test	$ST_HB, %eax
	jnz	1f
	FAIL	0x34
1:	mov	$BD_MAGIC, %eax
	mov	$(ST_SUCCESS << 16), %ebx
	mov	$(hb_msg_end - hb_msg), %ecx
	mov	chan_id, %edx
	shl	$16, %edx
	or	$BD_HB_PORT, %edx
	mov	$hb_msg, %rsi
	mov	cookie_lo, %edi
	mov	cookie_hi, %ebp
	cld
	rep outsb
	shr	$16, %ebx
	CHECK_EQ %ebx, $ST_SUCCESS, 0x35
	MSG	$3, $0				/* RECVSIZE */
	and	$ST_DORECV, %eax
	CHECK_EQ %eax, $ST_DORECV, 0x36
	CHECK_EQ %ebx, $2, 0x37
	mov	$BD_MAGIC, %eax			/* receive by REP INSB */
	mov	$(ST_SUCCESS << 16), %ebx
	mov	$2, %ecx
	mov	chan_id, %edx
	shl	$16, %edx
	or	$BD_HB_PORT, %edx
	mov	cookie_hi, %esi
	mov	cookie_lo, %ebp
	mov	$rbuf, %rdi
	movl	$0, rbuf
	rep insb
	shr	$16, %ebx
	CHECK_EQ %ebx, $ST_SUCCESS, 0x38
	CHECK_BUF rbuf, "1 ", 0x39
	MSG	$5, $ST_SUCCESS			/* RECVSTATUS */
	CHECK_EQ %eax, $ST_SUCCESS, 0x3a
	SEND_LB	"info-get guestinfo.answer"
	call	bd_recv_lb
	CHECK_EQ %eax, $4, 0x3b
	CHECK_BUF rbuf, "1 42", 0x3c
	PRINT	"high bandwidth ok\n"
2:	/* edge cases: each answers status 0 and changes nothing */
	xorl	$1, cookie_lo
	MSG	$1, $4
	CHECK_EQ %eax, $0, 0x40			/* wrong cookie */
	xorl	$1, cookie_lo
	MSG	$1, $8193
	CHECK_EQ %eax, $0, 0x41			/* oversized */
	MSG	$2, $0x41414141
	CHECK_EQ %eax, $0, 0x42			/* payload nobody announced */
	MSG	$4, $ST_SUCCESS
	CHECK_EQ %eax, $0, 0x43			/* nothing to receive */
	SEND_LB	"log backdoor test"
	call	bd_recv_lb
	CHECK_EQ %eax, $2, 0x44
	SEND_LB	"no.such.command x"
	call	bd_recv_lb
	CHECK_BUF rbuf, "0 Unknown command", 0x45
	MSG	$6, $0				/* CLOSE */
	CHECK_EQ %eax, $ST_SUCCESS, 0x46
	MSG	$1, $4
	CHECK_EQ %eax, $0, 0x47			/* closed channel */
	MSG	$0, $0x12345678
	CHECK_EQ %eax, $0, 0x48			/* unknown protocol */

	/* ---- a TCLO channel: the host's first request is "reset" ---- */
	movl	$0, cookie_hi
	movl	$0, cookie_lo
	MSG	$0, $TCLO			/* no cookie */
	CHECK_EQ %eax, $ST_SUCCESS, 0x50
	shr	$16, %edx
	mov	%edx, chan_id
	MSG	$1, $0				/* the first poll: an empty message */
	and	$ST_SUCCESS, %eax
	CHECK_EQ %eax, $ST_SUCCESS, 0x51
	call	bd_recv_lb
	CHECK_EQ %eax, $5, 0x52
	CHECK_BUF rbuf, "reset", 0x53
	SEND_LB	"OK ATR test"
	call	bd_recv_lb
	CHECK_EQ %eax, $21, 0x54
	CHECK_BUF rbuf, "Capabilities_Register", 0x55
	MSG	$6, $0
	CHECK_EQ %eax, $ST_SUCCESS, 0x56

	/* ---- VMCALL / VMMCALL (KVM answers them in the kernel; kvm_pvm never returns) ---- */
	SKIP_ON_KVM 3f, "VMCALL under KVM: answered by the kernel, not run here\n"
	mov	$0x1234, %eax
	vmcall
	CHECK_EQQ %rax, $-1000, 0x60
	mov	$0x1234, %eax
	vmmcall
	CHECK_EQQ %rax, $-1000, 0x61
	mov	$1, %eax
	vmcall
	CHECK_EQQ %rax, $0, 0x62
3:
	/* ---- ring 3 ---- */
	ENTER_USER user_on
	CHECK_EQQ user_done, $1, 0x68
	cmpq	$0, user_skipped
	je	1f
	PRINT	"ring 3 backdoor under KVM: depends on kvm.enable_vmware_backdoor, skipped\n"
1:	PRINT	"backdoor ok\n"
	EXIT	0

user_on:
	call	sys_is_kvm
	jne	1f
	movq	$1, user_skipped		/* no port output at CPL 3: the kernel says it */
	jmp	2f
1:	mov	$0x1234, %eax
	vmcall
	CHECK_EQQ_U %rax, $-1, 0x69		/* -KVM_EPERM */
	BD	$10, $~BD_MAGIC
	CHECK_EQ_U %ebx, $BD_MAGIC, 0x6a
	CHECK_EQ_U %eax, $6, 0x6b
2:	movq	$1, user_done
	RETURN_KERNEL

no_backdoor:
	CHECK_EQ %eax, $0xffffffff, 0x70
	ENTER_USER user_off
	CHECK_EQQ user_done, $1, 0x71
	PRINT	"backdoor off ok\n"
	EXIT	0

user_off:
	EXPECT_EXC
	movq	$off_after, exc_resume
	mov	$BD_MAGIC, %eax
	mov	$BD_PORT, %dx
off_insn:
	in	%dx, %eax
off_after:
	CHECK_EXC_U $13, $0, $off_insn, 0x72
	movq	$1, user_done
	RETURN_KERNEL

/* bd_msg: r8d type, r9d EBX; the channel and cookie from memory. Status in EAX. */
bd_msg:
	mov	$BD_MAGIC, %eax
	mov	%r9d, %ebx
	mov	%r8d, %ecx
	shl	$16, %ecx
	or	$BD_MSG, %ecx
	mov	chan_id, %edx
	shl	$16, %edx
	or	$BD_PORT, %edx
	mov	cookie_hi, %esi
	mov	cookie_lo, %edi
	in	%dx, %eax
	mov	%ecx, %eax
	shr	$16, %eax
	ret

/* bd_send_lb: RSI text, ECX length: SENDSIZE (status in r12d), then SENDPAYLOADs. */
bd_send_lb:
	mov	%rsi, %r13
	mov	%ecx, %r14d
	MSG	$1, %r14d
	mov	%eax, %r12d
	test	$ST_SUCCESS, %eax
	jnz	1f
	FAIL	0x7a
1:	test	%r14d, %r14d
	jz	2f
	MSG	$2, (%r13)
	CHECK_EQ %eax, $ST_SUCCESS, 0x7b
	add	$4, %r13
	sub	$4, %r14d
	ja	1b
2:	ret

/* bd_recv_lb: RECVSIZE, RECVPAYLOADs into rbuf, RECVSTATUS; the length in EAX. */
bd_recv_lb:
	MSG	$3, $0
	mov	%eax, %r8d
	and	$(ST_SUCCESS | ST_DORECV), %r8d
	CHECK_EQ %r8d, $(ST_SUCCESS | ST_DORECV), 0x7c
	shr	$16, %edx
	CHECK_EQ %edx, $1, 0x7d			/* "SENDSIZE" */
	mov	%ebx, %r14d
	mov	%ebx, %r15d
	mov	$rbuf, %r13
	movq	$0, rbuf
	movq	$0, rbuf + 8
1:	test	%r14d, %r14d
	jz	2f
	MSG	$4, $ST_SUCCESS
	CHECK_EQ %eax, $ST_SUCCESS, 0x7e
	mov	%ebx, (%r13)
	add	$4, %r13
	sub	$4, %r14d
	ja	1b
2:	MSG	$5, $ST_SUCCESS
	CHECK_EQ %eax, $ST_SUCCESS, 0x7f
	mov	%r15d, %eax
	ret

	.pushsection .rodata
hb_msg:	.ascii	"info-set guestinfo.answer 42"
hb_msg_end:
	.popsection

	.section .data
	.p2align 3
user_done:	.quad	0
user_skipped:	.quad	0
tsc_hz:		.long	0
chan_id:	.long	0
cookie_hi:	.long	0
cookie_lo:	.long	0
	.p2align 4
rbuf:	.fill	64, 1, 0

	SYS64_TABLES
	GUEST_TABLES
