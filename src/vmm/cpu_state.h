/* SPDX-License-Identifier: MIT */
/*
 * The architectural state of one x86 vCPU, shared by every accelerator
 * (KVM and BT), so a snapshot taken under one engine restores under the
 * other. Layout follows the Intel SDM vol. 3A chapter 2 (system registers)
 * and 3.4 (segment registers with their hidden descriptor caches).
 *
 * It holds everything either engine needs to resume a vCPU exactly at an
 * instruction boundary: registers, the FXSAVE image and XCR0, debug
 * registers, the MSRs the CPU model implements, the TSC, IA32_APIC_BASE and
 * the event state (interrupt shadow, NMI blocking and a latched NMI, HLT, the
 * wait-for-SIPI state of SDM vol. 3A 9.4, and an exception or interrupt KVM
 * had in delivery, api.rst 4.31 KVM_GET_VCPU_EVENTS).
 *
 * Not here: device state (local APIC registers live with the APIC model),
 * XSAVE components beyond x87, SSE and AVX (the CPU models advertise no
 * other), the INTR pin (the interrupt controllers drive it again when their
 * state is loaded).
 */
#ifndef VMM_CPU_STATE_H
#define VMM_CPU_STATE_H

#include "vmm/base/types.h"

enum cpu_reg {
	CPU_RAX,
	CPU_RCX,
	CPU_RDX,
	CPU_RBX,
	CPU_RSP,
	CPU_RBP,
	CPU_RSI,
	CPU_RDI,
	CPU_R8,
	CPU_R9,
	CPU_R10,
	CPU_R11,
	CPU_R12,
	CPU_R13,
	CPU_R14,
	CPU_R15,
	CPU_NR_GPRS,
};

enum cpu_seg {
	CPU_ES,
	CPU_CS,
	CPU_SS,
	CPU_DS,
	CPU_FS,
	CPU_GS,
	CPU_NR_SEGS,
};

/* A segment register with its hidden part, in the "unpacked" form KVM uses. */
struct cpu_segment {
	u64 base;
	u32 limit; /* byte granular, already scaled by G */
	u16 selector;
	u8 type; /* descriptor type field (4 bits) */
	u8 s : 1, dpl : 2, present : 1, avl : 1, l : 1, db : 1, g : 1;
	u8 unusable;
};

struct cpu_dtable {
	u64 base;
	u16 limit;
};

/* The 512-byte FXSAVE image (SDM vol. 1 table 10-2), x87 + SSE state. */
struct cpu_fxsave {
	u16 fcw, fsw;
	u8 ftw; /* abridged tag word */
	u8 reserved1;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 st[8][16];	/* ST0..ST7 as 80-bit values padded to 16 bytes */
	u8 xmm[16][16]; /* XMM0..XMM15 */
	u8 reserved2[96];
};

struct cpu_msr {
	u32 index;
	u64 value;
};

#define CPU_MAX_MSRS 128

/* struct cpu_state flags */
#define CPU_STATE_F_TSC 0x1u /* vcpu_set writes tsc (a state restore); unset: the TSC runs on */

/* An exception or interrupt in delivery (KVM re-injects it at the next entry). */
struct cpu_event {
	bool pending;  /* exception raised, not yet delivered (KVM's exception.pending) */
	bool injected; /* delivery started (KVM's exception/interrupt.injected) */
	u8 vector;
	bool has_error; /* exception: with an error code */
	bool soft;	/* interrupt: INT n (software) */
	u32 error;
	u64 payload; /* exception: the CR2 (#PF) or DR6 (#DB) it carries, if any */
	bool has_payload;
};

struct cpu_state {
	u64 gpr[CPU_NR_GPRS];
	u64 rip, rflags;
	struct cpu_segment seg[CPU_NR_SEGS];
	struct cpu_segment tr, ldtr;
	struct cpu_dtable gdtr, idtr;
	u64 cr0, cr2, cr3, cr4, cr8;
	u64 efer;
	u64 apic_base;
	u64 dr[8]; /* DR0-DR3, DR6 at [6], DR7 at [7] */
	struct cpu_fxsave fx;
	u8 ymmh[16][16]; /* bits 255:128 of YMM0-15 (XSAVE component 2, SDM vol. 1 13.5.3) */
	u64 xcr0;	 /* XCR0 (0 from an accelerator that does not keep it: treated as 1) */
	unsigned nr_msrs;
	struct cpu_msr msrs[CPU_MAX_MSRS]; /* other MSRs the CPU model implements */
	/* Event state: an interrupt shadow after STI/MOV SS, NMI masking, halted. */
	bool interrupt_shadow, nmi_masked, halted;
	bool nmi_pending; /* an NMI latched and not yet taken */
	/*
	 * INIT received: the vCPU waits for a STARTUP IPI (SDM vol. 3A 9.4.4); sipi_pending: one
	 * arrived with sipi_vector and the vCPU starts at vector << 12. Under BT the VMM's vCPU
	 * loop keeps this (vcpu.c); the engine only stores it.
	 */
	bool wait_sipi, sipi_pending;
	u8 sipi_vector;
	u32 flags; /* CPU_STATE_F_* */
	u64 tsc;   /* IA32_TSC when the state was read */
	struct cpu_event exception, interrupt;
};

struct state_desc;
/* The cpu_state record ("cpu", one per vCPU), in vmm/state.h terms (src/vmm/cpu_state.c). */
extern const struct state_desc cpu_state_desc;

#endif
