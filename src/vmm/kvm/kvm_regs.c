/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, register state: struct cpu_state (vmm/cpu_state.h) to and
 * from KVM_GET/SET_MP_STATE, REGS, SREGS, FPU or XSAVE, XCRS, DEBUGREGS, MSRS
 * and VCPU_EVENTS (api.rst 4.11-4.14, 4.18-4.20, 4.31-4.32, 4.38-4.39, 4.42-4.43,
 * 4.33 and 4.34). FPU layout: the FXSAVE image, Intel SDM vol. 1 table 10-2;
 * x87 reset values per SDM vol. 1 8.1.5 and 11.6.4 (FCW 0x37f, MXCSR 0x1f80).
 *
 * Order (Firecracker's, for the reasons its vcpu.rs gives): the MP state is
 * read first (reading it can change the local APIC's) and set first; the
 * vCPU events are read and set last (setting the registers clears pending
 * exceptions); SREGS goes before REGS on a set because KVM checks RIP and
 * RFLAGS against the mode CR0/EFER/CS give; the TSC with the MSRs.
 *
 * MSRs carried in st->msrs: SYSENTER_CS/ESP/EIP, MISC_ENABLE, PAT, STAR,
 * LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE and TSC_AUX, each only if KVM lists
 * it in KVM_GET_MSR_INDEX_LIST; and the MTRRs (MTRRdefType, the 11 fixed-range
 * ones, 8 variable pairs), which KVM emulates for every vCPU without listing
 * them. EFER and APIC_BASE travel in the sregs, the TSC in st->tsc (written
 * back only with CPU_STATE_F_TSC).
 *
 * Not carried: XSAVE state beyond FXSAVE (the CPUID model hides XSAVE, so
 * XCR0 is x87 only), the in-kernel LAPIC/IOAPIC/PIC/PIT state (KVM_GET_LAPIC &
 * co), SMM.
 */
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_IA32_PAT		0x00000277
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103
#define MISC_ENABLE_FAST_STRING (1ull << 0)

static const u32 kvm_regs_msrs[] = {
	MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP,
	MSR_IA32_MISC_ENABLE,
	MSR_IA32_PAT,
	MSR_STAR,
	MSR_LSTAR,
	MSR_CSTAR,
	MSR_SFMASK,
	MSR_KERNEL_GS_BASE,
	MSR_TSC_AUX,
};

/* The MTRRs (SDM vol. 3A 12.11): MTRRdefType, the fixed-range ones and eight variable pairs.
 * KVM handles them (kvm_mtrr_get/set_msr) but does not list them in KVM_GET_MSR_INDEX_LIST. */
static bool kvm_regs_is_mtrr(u32 index)
{
	return index == 0x2ff || index == 0x250 || index == 0x258 || index == 0x259 ||
	       (index >= 0x268 && index <= 0x26f) || (index >= 0x200 && index <= 0x20f);
}

static bool kvm_regs_carried(const struct accel_vm *vm, u32 index)
{
	return kvm_regs_is_mtrr(index) || kvm_msr_supported(vm, index);
}

struct kvm_msr_buf {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[CPU_MAX_MSRS];
};

/* MXCSR_MASK of the host's FXSAVE image (SDM vol. 1 11.6.6); KVM's struct kvm_fpu lacks it. */
static u32 kvm_regs_mxcsr_mask(void)
{
	static u32 mask;
	u8 area[512] __attribute__((aligned(16)));

	if (!mask) {
		memset(area, 0, sizeof(area));
		__asm__ volatile("fxsave %0" : "=m"(area));
		memcpy(&mask, area + 28, 4);
		if (!mask)
			mask = 0xffbf; /* SDM: zero means the default mask */
	}
	return mask;
}

static int kvm_regs_ioctl(struct accel_vcpu *v, unsigned long req, void *arg, const char *what)
{
	if (ioctl(v->fd, req, arg) < 0) {
		int e = errno;

		log_err("%s: %s: %s", v->name, what, strerror(e));
		return -e;
	}
	return 0;
}

static void kvm_seg_from(struct cpu_segment *d, const struct kvm_segment *s)
{
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type;
	d->s = s->s & 1;
	d->dpl = s->dpl & 3;
	d->present = s->present & 1;
	d->avl = s->avl & 1;
	d->l = s->l & 1;
	d->db = s->db & 1;
	d->g = s->g & 1;
	d->unusable = s->unusable;
}

static void kvm_seg_to(struct kvm_segment *d, const struct cpu_segment *s)
{
	memset(d, 0, sizeof(*d));
	d->base = s->base;
	d->limit = s->limit;
	d->selector = s->selector;
	d->type = s->type;
	d->s = s->s;
	d->dpl = s->dpl;
	d->present = s->present;
	d->avl = s->avl;
	d->l = s->l;
	d->db = s->db;
	d->g = s->g;
	d->unusable = s->unusable;
}

static struct kvm_segment *kvm_sregs_seg(struct kvm_sregs *s, int i)
{
	struct kvm_segment *tab[CPU_NR_SEGS] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };

	return tab[i];
}

static void kvm_gprs_from(struct cpu_state *st, const struct kvm_regs *r)
{
	st->gpr[CPU_RAX] = r->rax;
	st->gpr[CPU_RCX] = r->rcx;
	st->gpr[CPU_RDX] = r->rdx;
	st->gpr[CPU_RBX] = r->rbx;
	st->gpr[CPU_RSP] = r->rsp;
	st->gpr[CPU_RBP] = r->rbp;
	st->gpr[CPU_RSI] = r->rsi;
	st->gpr[CPU_RDI] = r->rdi;
	st->gpr[CPU_R8] = r->r8;
	st->gpr[CPU_R9] = r->r9;
	st->gpr[CPU_R10] = r->r10;
	st->gpr[CPU_R11] = r->r11;
	st->gpr[CPU_R12] = r->r12;
	st->gpr[CPU_R13] = r->r13;
	st->gpr[CPU_R14] = r->r14;
	st->gpr[CPU_R15] = r->r15;
	st->rip = r->rip;
	st->rflags = r->rflags;
}

static void kvm_gprs_to(struct kvm_regs *r, const struct cpu_state *st)
{
	r->rax = st->gpr[CPU_RAX];
	r->rcx = st->gpr[CPU_RCX];
	r->rdx = st->gpr[CPU_RDX];
	r->rbx = st->gpr[CPU_RBX];
	r->rsp = st->gpr[CPU_RSP];
	r->rbp = st->gpr[CPU_RBP];
	r->rsi = st->gpr[CPU_RSI];
	r->rdi = st->gpr[CPU_RDI];
	r->r8 = st->gpr[CPU_R8];
	r->r9 = st->gpr[CPU_R9];
	r->r10 = st->gpr[CPU_R10];
	r->r11 = st->gpr[CPU_R11];
	r->r12 = st->gpr[CPU_R12];
	r->r13 = st->gpr[CPU_R13];
	r->r14 = st->gpr[CPU_R14];
	r->r15 = st->gpr[CPU_R15];
	r->rip = st->rip;
	r->rflags = st->rflags | 0x2; /* bit 1 is reserved as one (SDM vol. 1 3.4.3) */
}

static void kvm_sregs_from(struct cpu_state *st, const struct kvm_sregs *s)
{
	for (int i = 0; i < CPU_NR_SEGS; i++)
		kvm_seg_from(&st->seg[i], kvm_sregs_seg((struct kvm_sregs *)s, i));
	kvm_seg_from(&st->tr, &s->tr);
	kvm_seg_from(&st->ldtr, &s->ldt);
	st->gdtr.base = s->gdt.base;
	st->gdtr.limit = s->gdt.limit;
	st->idtr.base = s->idt.base;
	st->idtr.limit = s->idt.limit;
	st->cr0 = s->cr0;
	st->cr2 = s->cr2;
	st->cr3 = s->cr3;
	st->cr4 = s->cr4;
	st->cr8 = s->cr8;
	st->efer = s->efer;
	st->apic_base = s->apic_base;
}

static void kvm_sregs_to(struct kvm_sregs *s, const struct cpu_state *st)
{
	for (int i = 0; i < CPU_NR_SEGS; i++)
		kvm_seg_to(kvm_sregs_seg(s, i), &st->seg[i]);
	kvm_seg_to(&s->tr, &st->tr);
	kvm_seg_to(&s->ldt, &st->ldtr);
	s->gdt.base = st->gdtr.base;
	s->gdt.limit = st->gdtr.limit;
	s->idt.base = st->idtr.base;
	s->idt.limit = st->idtr.limit;
	s->cr0 = st->cr0;
	s->cr2 = st->cr2;
	s->cr3 = st->cr3;
	s->cr4 = st->cr4;
	s->cr8 = st->cr8;
	s->efer = st->efer;
	/* 0 means "not given" (a boot loader building a fresh state): keep KVM's. */
	if (st->apic_base)
		s->apic_base = st->apic_base;
}

static void kvm_fpu_from(struct cpu_fxsave *fx, const struct kvm_fpu *f)
{
	memset(fx, 0, sizeof(*fx));
	fx->fcw = f->fcw;
	fx->fsw = f->fsw;
	fx->ftw = f->ftwx;
	fx->fop = f->last_opcode;
	fx->fip = f->last_ip;
	fx->fdp = f->last_dp;
	fx->mxcsr = f->mxcsr;
	fx->mxcsr_mask = kvm_regs_mxcsr_mask();
	memcpy(fx->st, f->fpr, sizeof(fx->st));
	memcpy(fx->xmm, f->xmm, sizeof(fx->xmm));
}

static void kvm_fpu_to(struct kvm_fpu *f, const struct cpu_fxsave *fx)
{
	memset(f, 0, sizeof(*f));
	f->fcw = fx->fcw;
	f->fsw = fx->fsw;
	f->ftwx = fx->ftw;
	f->last_opcode = fx->fop;
	f->last_ip = fx->fip;
	f->last_dp = fx->fdp;
	f->mxcsr = fx->mxcsr;
	memcpy(f->fpr, fx->st, sizeof(f->fpr));
	memcpy(f->xmm, fx->xmm, sizeof(f->xmm));
}

/*
 * The legacy area of the XSAVE image is the FXSAVE image (SDM vol. 1 13.4.1); XSTATE_BV at
 * byte 512 says which components are not in their init state (13.4.2). KVM_SET_FPU writes
 * the legacy area without touching XSTATE_BV, so on kernels that keep guest state in
 * XSAVE form MXCSR and the registers can read back as their init values; going through
 * KVM_GET/SET_XSAVE with the x87 and SSE bits set avoids that.
 */
#define XSAVE_LEGACY_BYTES 512
#define XSAVE_XSTATE_BV	   512
#define XSTATE_X87_SSE	   0x3ull

static int kvm_fpu_get(struct accel_vcpu *v, struct cpu_fxsave *fx)
{
	struct kvm_fpu fpu;
	struct kvm_xsave *xs;
	int ret;

	if (!v->vm->xsave_bytes) {
		ret = kvm_regs_ioctl(v, KVM_GET_FPU, &fpu, "KVM_GET_FPU");
		if (ret == 0)
			kvm_fpu_from(fx, &fpu);
		return ret;
	}
	xs = calloc(1, v->vm->xsave_bytes);
	if (!xs)
		return -ENOMEM;
	ret = kvm_regs_ioctl(v, v->vm->xsave_bytes > sizeof(*xs) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
			     xs, "KVM_GET_XSAVE");
	if (ret == 0) {
		memcpy(fx, xs->region, XSAVE_LEGACY_BYTES);
		if (!fx->mxcsr_mask)
			fx->mxcsr_mask = kvm_regs_mxcsr_mask();
	}
	free(xs);
	return ret;
}

static int kvm_fpu_set(struct accel_vcpu *v, const struct cpu_fxsave *fx)
{
	struct kvm_fpu fpu;
	struct kvm_xsave *xs;
	u64 bv;
	int ret;

	if (!v->vm->xsave_bytes) {
		kvm_fpu_to(&fpu, fx);
		return kvm_regs_ioctl(v, KVM_SET_FPU, &fpu, "KVM_SET_FPU");
	}
	xs = calloc(1, v->vm->xsave_bytes);
	if (!xs)
		return -ENOMEM;
	ret = kvm_regs_ioctl(v, v->vm->xsave_bytes > sizeof(*xs) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
			     xs, "KVM_GET_XSAVE");
	if (ret == 0) {
		u32 mask;

		memcpy(&mask, (u8 *)xs->region + 28, 4); /* keep the CPU's MXCSR_MASK */
		memcpy(xs->region, fx, XSAVE_LEGACY_BYTES);
		memcpy((u8 *)xs->region + 28, &mask, 4);
		memset((u8 *)xs->region + 464, 0, 48); /* reserved/available bytes of FXSAVE */
		memcpy(&bv, (u8 *)xs->region + XSAVE_XSTATE_BV, 8);
		bv |= XSTATE_X87_SSE;
		memcpy((u8 *)xs->region + XSAVE_XSTATE_BV, &bv, 8);
		ret = kvm_regs_ioctl(v, KVM_SET_XSAVE, xs, "KVM_SET_XSAVE");
	}
	free(xs);
	return ret;
}

static int kvm_msrs_get(struct accel_vcpu *v, struct cpu_state *st)
{
	struct kvm_msr_buf m;
	int got;

	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < ARRAY_SIZE(kvm_regs_msrs); i++)
		if (kvm_msr_supported(v->vm, kvm_regs_msrs[i]))
			m.e[m.hdr.nmsrs++].index = kvm_regs_msrs[i];
	for (u32 i = 0x200; i <= 0x2ff; i++) /* last: KVM stops at a failure */
		if (kvm_regs_is_mtrr(i))
			m.e[m.hdr.nmsrs++].index = i;
	got = ioctl(v->fd, KVM_GET_MSRS, &m);
	if (got < 0)
		return -errno;
	st->nr_msrs = 0;
	for (int i = 0; i < got; i++) {
		st->msrs[st->nr_msrs].index = m.e[i].index;
		st->msrs[st->nr_msrs].value = m.e[i].data;
		st->nr_msrs++;
	}
	return 0;
}

static int kvm_msrs_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	struct kvm_msr_buf m;
	int done;

	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < st->nr_msrs && i < CPU_MAX_MSRS; i++) {
		if (!kvm_regs_carried(v->vm, st->msrs[i].index)) {
			log_warn("%s: MSR %#x not supported by KVM, not restored", v->name,
				 st->msrs[i].index);
			continue;
		}
		m.e[m.hdr.nmsrs].index = st->msrs[i].index;
		m.e[m.hdr.nmsrs].data = st->msrs[i].value;
		m.hdr.nmsrs++;
	}
	if (m.hdr.nmsrs == 0)
		return 0;
	done = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (done < 0)
		return -errno;
	if ((u32)done != m.hdr.nmsrs) {
		log_err("%s: KVM_SET_MSRS refused MSR %#x = %#llx", v->name, m.e[done].index,
			(unsigned long long)m.e[done].data);
		return -EINVAL;
	}
	return 0;
}

/* Read one MSR (the TSC; kvm_internal.h). */
int kvm_msr_get1(struct accel_vcpu *v, u32 index, u64 *val)
{
	struct kvm_msr_buf m = { .hdr.nmsrs = 1 };

	m.e[0].index = index;
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EIO;
	*val = m.e[0].data;
	return 0;
}

int kvm_msr_set1(struct accel_vcpu *v, u32 index, u64 val)
{
	struct kvm_msr_buf m = { .hdr.nmsrs = 1 };

	m.e[0].index = index;
	m.e[0].data = val;
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1) {
		log_err("%s: KVM_SET_MSRS refused MSR %#x = %#llx", v->name, index,
			(unsigned long long)val);
		return -EINVAL;
	}
	return 0;
}

static int kvm_mp_get(struct accel_vcpu *v, struct cpu_state *st)
{
	struct kvm_mp_state mp;
	int ret = kvm_regs_ioctl(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");

	if (ret < 0)
		return ret;
	st->halted = mp.mp_state == KVM_MP_STATE_HALTED;
	st->wait_sipi = mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ||
			mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED;
	st->sipi_pending = mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED;
	return 0;
}

/* An application processor waiting for SIPI goes back to waiting, one running keeps running. */
static int kvm_mp_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	struct kvm_mp_state mp;

	if (st->wait_sipi)
		mp.mp_state =
			st->sipi_pending ? KVM_MP_STATE_SIPI_RECEIVED : KVM_MP_STATE_INIT_RECEIVED;
	else
		mp.mp_state = st->halted ? KVM_MP_STATE_HALTED : KVM_MP_STATE_RUNNABLE;
	return kvm_regs_ioctl(v, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE");
}

static int kvm_events_get(struct accel_vcpu *v, struct cpu_state *st)
{
	struct kvm_vcpu_events ev;
	int ret;

	ret = kvm_regs_ioctl(v, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
	if (ret < 0)
		return ret;
	st->interrupt_shadow = ev.interrupt.shadow != 0;
	st->nmi_masked = ev.nmi.masked != 0;
	/* An NMI whose delivery had started is delivered again from the start. */
	st->nmi_pending = ev.nmi.pending || ev.nmi.injected;
	st->exception = (struct cpu_event){
		.pending = ev.exception.pending,
		.injected = ev.exception.injected,
		.vector = ev.exception.nr,
		.has_error = ev.exception.has_error_code,
		.error = ev.exception.error_code,
		.has_payload = ev.exception_has_payload,
		.payload = ev.exception_payload,
	};
	st->interrupt = (struct cpu_event){
		.injected = ev.interrupt.injected,
		.vector = ev.interrupt.nr,
		.soft = ev.interrupt.soft,
	};
	st->sipi_vector = (u8)ev.sipi_vector;
	return 0;
}

static int kvm_events_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	struct kvm_vcpu_events ev;
	int ret;

	ret = kvm_regs_ioctl(v, KVM_GET_VCPU_EVENTS, &ev, "KVM_GET_VCPU_EVENTS");
	if (ret < 0)
		return ret;
	ev.exception.injected = st->exception.injected || st->exception.pending;
	ev.exception.pending = 0; /* reported as injected without KVM_CAP_EXCEPTION_PAYLOAD */
	ev.exception.nr = st->exception.vector;
	ev.exception.has_error_code = st->exception.has_error;
	ev.exception.error_code = st->exception.error;
	ev.exception_has_payload = 0;
	ev.interrupt.injected = st->interrupt.injected;
	ev.interrupt.nr = st->interrupt.vector;
	ev.interrupt.soft = st->interrupt.soft;
	ev.interrupt.shadow = st->interrupt_shadow ? KVM_X86_SHADOW_INT_STI : 0;
	ev.nmi.injected = 0;
	ev.nmi.pending = st->nmi_pending;
	ev.nmi.masked = st->nmi_masked;
	ev.sipi_vector = st->sipi_vector;
	ev.flags = KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_NMI_PENDING |
		   KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	return kvm_regs_ioctl(v, KVM_SET_VCPU_EVENTS, &ev, "KVM_SET_VCPU_EVENTS");
}

/* XCR0 through KVM_GET/SET_XCRS where KVM has them; x87 only otherwise. */
static int kvm_xcr0_get(struct accel_vcpu *v, u64 *xcr0)
{
	struct kvm_xcrs xcrs;
	int ret;

	*xcr0 = 1;
	if (!kvm_ioctl_check(v->vm->kvm_fd, KVM_CAP_XCRS))
		return 0;
	ret = kvm_regs_ioctl(v, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS");
	for (u32 i = 0; ret == 0 && i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++)
		if (xcrs.xcrs[i].xcr == 0)
			*xcr0 = xcrs.xcrs[i].value;
	return ret;
}

static int kvm_xcr0_set(struct accel_vcpu *v, u64 xcr0)
{
	struct kvm_xcrs xcrs;

	if (!xcr0)
		xcr0 = 1;
	if (!kvm_ioctl_check(v->vm->kvm_fd, KVM_CAP_XCRS)) {
		if (xcr0 == 1)
			return 0;
		log_err("%s: XCR0 %#llx: this KVM cannot set XCRs", v->name,
			(unsigned long long)xcr0);
		return -EINVAL;
	}
	memset(&xcrs, 0, sizeof(xcrs));
	xcrs.nr_xcrs = 1;
	xcrs.xcrs[0].xcr = 0;
	xcrs.xcrs[0].value = xcr0;
	return kvm_regs_ioctl(v, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS");
}

/* Paused vCPU (its own thread, or any thread while it is not in KVM_RUN). */
int kvm_regs_get(struct accel_vcpu *v, struct cpu_state *st)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dbg;
	int ret;

	memset(st, 0, sizeof(*st));
	ret = kvm_mp_get(v, st);
	if (ret < 0)
		return ret;
	ret = kvm_regs_ioctl(v, KVM_GET_REGS, &regs, "KVM_GET_REGS");
	if (ret < 0)
		return ret;
	kvm_gprs_from(st, &regs);
	ret = kvm_regs_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	if (ret < 0)
		return ret;
	kvm_sregs_from(st, &sregs);
	ret = kvm_fpu_get(v, &st->fx);
	if (ret < 0)
		return ret;
	ret = kvm_xcr0_get(v, &st->xcr0);
	if (ret < 0)
		return ret;
	ret = kvm_regs_ioctl(v, KVM_GET_DEBUGREGS, &dbg, "KVM_GET_DEBUGREGS");
	if (ret < 0)
		return ret;
	memcpy(st->dr, dbg.db, sizeof(dbg.db));
	st->dr[6] = dbg.dr6;
	st->dr[7] = dbg.dr7;
	ret = kvm_msrs_get(v, st);
	if (ret == 0)
		ret = kvm_msr_get1(v, MSR_IA32_TSC, &st->tsc);
	if (ret < 0) {
		log_err("%s: KVM_GET_MSRS: %s", v->name, strerror(-ret));
		return ret;
	}
	return kvm_events_get(v, st);
}

/* Paused vCPU. A partial failure leaves the vCPU with part of the new state. */
int kvm_regs_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_debugregs dbg;
	int ret;

	ret = kvm_mp_set(v, st);
	if (ret < 0)
		return ret;
	/* Sregs first: KVM checks RIP/RFLAGS against the mode set by CR0/EFER/CS. */
	ret = kvm_regs_ioctl(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	if (ret < 0)
		return ret;
	kvm_sregs_to(&sregs, st);
	ret = kvm_regs_ioctl(v, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	if (ret < 0)
		return ret;
	memset(&regs, 0, sizeof(regs));
	kvm_gprs_to(&regs, st);
	ret = kvm_regs_ioctl(v, KVM_SET_REGS, &regs, "KVM_SET_REGS");
	if (ret < 0)
		return ret;
	ret = kvm_fpu_set(v, &st->fx);
	if (ret < 0)
		return ret;
	ret = kvm_xcr0_set(v, st->xcr0);
	if (ret < 0)
		return ret;
	memset(&dbg, 0, sizeof(dbg));
	memcpy(dbg.db, st->dr, sizeof(dbg.db));
	dbg.dr6 = st->dr[6] ? st->dr[6] : 0xffff0ff0;
	dbg.dr7 = st->dr[7] ? st->dr[7] : 0x400;
	ret = kvm_regs_ioctl(v, KVM_SET_DEBUGREGS, &dbg, "KVM_SET_DEBUGREGS");
	if (ret < 0)
		return ret;
	ret = kvm_msrs_set(v, st);
	if (ret == 0 && (st->flags & CPU_STATE_F_TSC))
		ret = kvm_msr_set1(v, MSR_IA32_TSC, st->tsc);
	if (ret < 0)
		return ret;
	return kvm_events_set(v, st);
}

/* At vCPU creation: x87/SSE reset values and MISC_ENABLE fast strings. */
int kvm_regs_init(struct accel_vcpu *v)
{
	struct cpu_fxsave fx = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	struct kvm_msr_buf m = { .hdr.nmsrs = 1 };
	int ret;

	ret = kvm_fpu_set(v, &fx);
	if (ret < 0)
		return ret;
	if (!kvm_msr_supported(v->vm, MSR_IA32_MISC_ENABLE))
		return 0;
	m.e[0].index = MSR_IA32_MISC_ENABLE;
	m.e[0].data = MISC_ENABLE_FAST_STRING;
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1)
		log_warn("%s: KVM_SET_MSRS MISC_ENABLE refused", v->name);
	return 0;
}
