// SPDX-License-Identifier: MIT
/*
 * Event delivery of the BT CPU (SDM vol. 3A chapter 6): exceptions, software interrupts (INT n,
 * INT3, INTO: gate DPL checked against CPL, 6.12.1.1), external interrupts (INTR acknowledged
 * through mem->intr_ack, masked by IF and the STI/MOV SS shadow, 6.8.3) and NMI (blocked until
 * IRET, 6.7.1). Real mode goes through the IVT (20.1.4); protected mode through 8-byte
 * interrupt, trap and task gates of 16 and 32 bits (6.11, 6.12); IA-32e mode through 16-byte
 * gates with IST stacks, a 16-byte-aligned 64-bit frame that always holds SS:RSP and a null SS
 * on a privilege change (6.14). A privilege change takes the new stack from the TSS (7.2.1,
 * 7.7). Faults during delivery follow table 6-5 (benign, contributory, page fault: double
 * fault; a fault delivering #DF: shutdown) and carry the EXT bit in their error code (6.13).
 */
#include "bt-fallback/bt.h"

enum bt_exc_class {
	BT_CLASS_BENIGN,
	BT_CLASS_CONTRIB,
	BT_CLASS_PF,
	BT_CLASS_DF,
};

static enum bt_exc_class bt_intr_class(unsigned vector, enum bt_event kind)
{
	if (kind != BT_EV_EXC)
		return BT_CLASS_BENIGN;
	switch (vector) {
	case BT_EXC_DE:
	case BT_EXC_TS:
	case BT_EXC_NP:
	case BT_EXC_SS:
	case BT_EXC_GP:
		return BT_CLASS_CONTRIB;
	case BT_EXC_PF:
		return BT_CLASS_PF;
	case BT_EXC_DF:
		return BT_CLASS_DF;
	default:
		return BT_CLASS_BENIGN;
	}
}

/* The stack an interrupt frame goes on. */
struct bt_frame {
	struct cpu_segment ss;
	u64 sp;
	unsigned ssz;  /* stack address size: 2, 4 or 8 */
	u32 fault_err; /* error code of a #SS on this stack */
};

static void bt_frame_push(struct bt_cpu *cpu, struct bt_frame *f, unsigned size, u64 v)
{
	u64 sp = (f->sp - size) & bt_mask(f->ssz), lin;

	if (f->ssz == 8) {
		lin = sp;
		if (!bt_canonical(lin) || !bt_canonical(lin + size - 1))
			bt_raise(cpu, BT_EXC_SS, f->fault_err, true);
	} else {
		if (!bt_seg_off_ok(&f->ss, sp, size))
			bt_raise(cpu, BT_EXC_SS, f->fault_err, true);
		lin = (f->ss.base + sp) & 0xffffffffu;
	}
	bt_st_lin(cpu, lin, size, v);
	f->sp = sp;
}

/* Real-address-mode delivery through the IVT (SDM vol. 3A 20.1.4). */
static void bt_deliver_real(struct bt_cpu *cpu, u8 vector)
{
	u64 ivt = cpu->st.idtr.base + vector * 4u;
	u16 ip, cs;

	if (vector * 4u + 3 > cpu->st.idtr.limit)
		bt_raise_gp0(cpu);
	ip = (u16)bt_ld_lin(cpu, ivt, 2);
	cs = (u16)bt_ld_lin(cpu, ivt + 2, 2);
	bt_push(cpu, 2, bt_get_rflags(cpu));
	bt_push(cpu, 2, cpu->st.seg[CPU_CS].selector);
	bt_push(cpu, 2, cpu->st.rip);
	cpu->st.rflags &= ~(u64)(BT_IF | BT_TF | BT_AC | BT_RF);
	bt_cpu_load_seg_real(cpu, CPU_CS, cs);
	cpu->st.rip = ip;
	bt_cpu_update_mode(cpu);
}

/*
 * The inner stack for new_cpl (or IST entry ist) from the TSS (SDM vol. 3A 6.12.1 "protection
 * of exception- and interrupt-handler procedures", 6.14.5): #TS for a bad TSS or SS, #SS for a
 * not-present SS.
 */
static void bt_intr_tss_stack(struct bt_cpu *cpu, unsigned new_cpl, unsigned ist, u32 ext,
			      struct bt_frame *f, u64 *ss_desc)
{
	const struct cpu_segment *tr = &cpu->st.tr;
	u32 tss_err = (tr->selector & 0xfffc) | ext;
	bool tss32 = (tr->type & 8) != 0;
	unsigned w = tss32 ? 4 : 2;
	u64 o, d;
	u16 ss;

	if (tr->unusable || !tr->present)
		bt_raise(cpu, BT_EXC_TS, tss_err, true);
	if (cpu->st.efer & BT_EFER_LMA) {
		o = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * new_cpl;
		if (o + 7 > tr->limit)
			bt_raise(cpu, BT_EXC_TS, tss_err, true);
		f->sp = bt_ld_lin(cpu, tr->base + o, 8);
		f->ssz = 8;
		f->fault_err = ext;
		*ss_desc = 0;
		if (new_cpl != bt_cpu_cpl(cpu)) {
			bt_seg_set_null(&f->ss, (u16)new_cpl);
			f->ss.dpl = new_cpl & 3;
		}
		return;
	}
	o = tss32 ? 4 + 8 * new_cpl : 2 + 4 * new_cpl;
	if (o + w + 1 > tr->limit)
		bt_raise(cpu, BT_EXC_TS, tss_err, true);
	f->sp = bt_ld_lin(cpu, (tr->base + o) & 0xffffffffu, w);
	ss = (u16)bt_ld_lin(cpu, (tr->base + o + w) & 0xffffffffu, 2);
	if (!(ss & ~3u))
		bt_raise(cpu, BT_EXC_TS, ext, true);
	if (!bt_desc_read(cpu, ss, &d))
		bt_raise(cpu, BT_EXC_TS, (ss & 0xfffc) | ext, true);
	if ((ss & 3) != new_cpl || BT_DESC_DPL(d) != new_cpl || !(d & BT_DESC_S) ||
	    (BT_DESC_TYPE(d) & 0xa) != 2)
		bt_raise(cpu, BT_EXC_TS, (ss & 0xfffc) | ext, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_SS, (ss & 0xfffc) | ext, true);
	bt_desc_unpack(ss, d | BT_DESC_ACCESSED, &f->ss);
	f->ssz = f->ss.db ? 4 : 2;
	f->fault_err = (ss & 0xfffc) | ext;
	*ss_desc = d;
}

/* Protected-mode and IA-32e-mode delivery through the IDT. */
static void bt_deliver_idt(struct bt_cpu *cpu, u8 vector, bool has_error, u32 error,
			   enum bt_event kind)
{
	bool lm = (cpu->st.efer & BT_EFER_LMA) != 0, v86 = (cpu->st.rflags & BT_VM) != 0;
	u32 ext = kind == BT_EV_SOFT ? 0 : BT_ERR_EXT, idt_err = vector * 8u + 2 + ext, err;
	unsigned cpl = bt_cpu_cpl(cpu), esz = lm ? 16 : 8, type, gsz, ist, dpl, new_cpl;
	u64 lo, hi = 0, off, d, ss_desc = 0, rflags, old_sp = cpu->st.gpr[CPU_RSP];
	u16 sel, old_ss = cpu->st.seg[CPU_SS].selector;
	struct cpu_segment ncs;
	struct bt_frame f;
	bool new_stack;

	if ((u64)vector * esz + esz - 1 > cpu->st.idtr.limit)
		bt_raise(cpu, BT_EXC_GP, idt_err, true);
	lo = bt_ld_lin(cpu, cpu->st.idtr.base + (u64)vector * esz, 8);
	if (lm)
		hi = bt_ld_lin(cpu, cpu->st.idtr.base + (u64)vector * esz + 8, 8);
	type = (unsigned)(lo >> 40) & 0x1f; /* with the S bit: system descriptors only */
	if (lm ? type != 0xe && type != 0xf :
		 type != 5 && type != 6 && type != 7 && type != 0xe && type != 0xf)
		bt_raise(cpu, BT_EXC_GP, idt_err, true);
	if (kind == BT_EV_SOFT && BT_DESC_DPL(lo) < cpl)
		bt_raise(cpu, BT_EXC_GP, idt_err, true);
	if (!(lo & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, idt_err, true);
	sel = (u16)(lo >> 16);
	if (type == 5) {
		bt_task_switch(cpu, sel, BT_TS_INT, ext);
		if (has_error) {
			struct bt_frame ef = { .ss = cpu->st.seg[CPU_SS],
					       .sp = cpu->st.gpr[CPU_RSP],
					       .ssz = cpu->st.seg[CPU_SS].db ? 4 : 2,
					       .fault_err = ext };

			bt_frame_push(cpu, &ef, (cpu->st.tr.type & 8) ? 4 : 2, error);
			bt_set_reg(cpu, CPU_RSP, ef.ssz, ef.sp);
		}
		return;
	}
	off = (lo & 0xffff) | ((lo >> 32) & 0xffff0000u);
	if (lm)
		off |= hi << 32;
	gsz = lm ? 8 : (type & 8) ? 4 : 2;
	if (gsz == 2)
		off &= 0xffff;
	ist = lm ? (unsigned)(lo >> 32) & 7 : 0;
	if (!(sel & ~3u))
		bt_raise(cpu, BT_EXC_GP, ext, true);
	err = (sel & 0xfffc) | ext;
	if (!bt_desc_read(cpu, sel, &d))
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_S) || !(BT_DESC_TYPE(d) & 8) || BT_DESC_DPL(d) > cpl)
		bt_raise(cpu, BT_EXC_GP, err, true);
	if (!(d & BT_DESC_P))
		bt_raise(cpu, BT_EXC_NP, err, true);
	if (lm && (!(d & BT_DESC_L) || (d & BT_DESC_DB)))
		bt_raise(cpu, BT_EXC_GP, err, true);
	dpl = BT_DESC_DPL(d);
	new_cpl = (!(BT_DESC_TYPE(d) & 4) && dpl < cpl) ? dpl : cpl;
	if (v86 && new_cpl != 0)
		bt_raise(cpu, BT_EXC_GP, err, true);
	bt_desc_unpack(sel, d, &ncs);
	if (lm ? !bt_canonical(off) : off > ncs.limit)
		bt_raise(cpu, BT_EXC_GP, ext, true);

	f.ss = cpu->st.seg[CPU_SS];
	f.sp = old_sp;
	f.ssz = lm ? 8 : f.ss.db ? 4 : 2;
	f.fault_err = ext;
	new_stack = new_cpl < cpl;
	if (new_stack || ist)
		bt_intr_tss_stack(cpu, new_cpl, ist, ext, &f, &ss_desc);
	if (lm)
		f.sp &= ~0xfull;
	rflags = bt_get_rflags(cpu) | (cpu->deliver_rf ? BT_RF : 0);
	if (v86) {
		bt_frame_push(cpu, &f, gsz, cpu->st.seg[CPU_GS].selector);
		bt_frame_push(cpu, &f, gsz, cpu->st.seg[CPU_FS].selector);
		bt_frame_push(cpu, &f, gsz, cpu->st.seg[CPU_DS].selector);
		bt_frame_push(cpu, &f, gsz, cpu->st.seg[CPU_ES].selector);
	}
	if (new_stack || lm) {
		bt_frame_push(cpu, &f, gsz, old_ss);
		bt_frame_push(cpu, &f, gsz, old_sp);
	}
	bt_frame_push(cpu, &f, gsz, rflags);
	bt_frame_push(cpu, &f, gsz, cpu->st.seg[CPU_CS].selector);
	bt_frame_push(cpu, &f, gsz, cpu->st.rip);
	if (has_error)
		bt_frame_push(cpu, &f, gsz, error);

	/* Commit: nothing below faults except the accessed-bit stores, which come first. */
	if (ss_desc)
		bt_desc_set_accessed(cpu, f.ss.selector, ss_desc);
	bt_desc_set_accessed(cpu, sel, d);
	if (new_stack || ist)
		cpu->st.seg[CPU_SS] = f.ss;
	if (new_stack)
		cpu->st.gpr[CPU_RSP] = f.sp;
	else
		bt_set_reg(cpu, CPU_RSP, f.ssz, f.sp);
	if (v86) {
		bt_seg_set_null(&cpu->st.seg[CPU_ES], 0);
		bt_seg_set_null(&cpu->st.seg[CPU_DS], 0);
		bt_seg_set_null(&cpu->st.seg[CPU_FS], 0);
		bt_seg_set_null(&cpu->st.seg[CPU_GS], 0);
	}
	bt_seg_load_cs(cpu, sel, d | BT_DESC_ACCESSED, new_cpl);
	rflags &= ~(u64)(BT_TF | BT_NT | BT_RF | BT_VM);
	if (!(type & 1))
		rflags &= ~(u64)BT_IF; /* interrupt gate */
	bt_set_rflags(cpu, rflags);
	cpu->st.rip = off;
	bt_cpu_update_mode(cpu);
}

void bt_deliver(struct bt_cpu *cpu, u8 vector, bool has_error, u32 error, enum bt_event kind)
{
	cpu->st.halted = false;
	if (bt_cpu_mode(cpu) == BT_MODE_REAL)
		bt_deliver_real(cpu, vector);
	else
		bt_deliver_idt(cpu, vector, has_error, error, kind);
	cpu->end_block = true;
}

/* Deliver one event, recording it so a fault on the way is classed against it. */
static void bt_intr_event(struct bt_cpu *cpu, u8 vector, bool has_error, u32 error,
			  enum bt_event kind)
{
	/* A fault pushes RF set (an instruction breakpoint excepted); traps and interrupts as is. */
	cpu->deliver_rf = kind == BT_EV_EXC && cpu->exc_rf;
	if (vector == BT_EXC_DB && kind == BT_EV_EXC)
		cpu->st.dr[7] &= ~(1ull << 13); /* DR7.GD: the handler may use the registers */
	cpu->in_delivery = true;
	cpu->deliver_class = (u8)bt_intr_class(vector, kind);
	cpu->deliver_kind = (u8)kind;
	bt_deliver(cpu, vector, has_error, error, kind);
	cpu->in_delivery = false;
	cpu->deliver_rf = false;
}

bool bt_exc_dispatch(struct bt_cpu *cpu)
{
	u8 vector = cpu->exc.vector;
	bool has_error = cpu->exc.has_error;
	u32 error = cpu->exc.error;
	enum bt_event kind = cpu->exc_is_trap ? BT_EV_SOFT : BT_EV_EXC;

	if (cpu->in_delivery) {
		enum bt_exc_class first = (enum bt_exc_class)cpu->deliver_class;
		enum bt_exc_class second = bt_intr_class(vector, kind);

		cpu->in_delivery = false;
		/* A fault delivering INT n belongs to the INT instruction (it did not complete). */
		if (cpu->deliver_kind == BT_EV_SOFT)
			cpu->st.rip = cpu->soft_rip;
		if (first == BT_CLASS_DF && second != BT_CLASS_BENIGN)
			return false; /* triple fault */
		if ((first == BT_CLASS_CONTRIB && second == BT_CLASS_CONTRIB) ||
		    (first == BT_CLASS_PF && second != BT_CLASS_BENIGN)) {
			vector = BT_EXC_DF;
			has_error = true;
			error = 0;
		}
	}
	bt_intr_event(cpu, vector, has_error, error, kind);
	return true;
}

void bt_intr_poll(struct bt_cpu *cpu)
{
	int v;

	if (cpu->st.interrupt_shadow)
		return;
	if (__atomic_load_n(&cpu->nmi_pending, __ATOMIC_ACQUIRE) && !cpu->st.nmi_masked) {
		__atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_RELAXED);
		cpu->st.nmi_masked = true;
		cpu->exc_rf = false;
		bt_intr_event(cpu, 2, false, 0, BT_EV_EXT);
		return;
	}
	if (!__atomic_load_n(&cpu->intr_line, __ATOMIC_ACQUIRE) || !(cpu->st.rflags & BT_IF))
		return;
	v = cpu->mem->intr_ack ? cpu->mem->intr_ack(cpu->mem->io_opaque, cpu->index) : -1;
	if (v < 0)
		return;
	bt_intr_event(cpu, (u8)v, false, 0, BT_EV_EXT);
}
