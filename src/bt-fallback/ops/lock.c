// SPDX-License-Identifier: MIT
/*
 * LOCKed instructions and XCHG with a memory operand (SDM vol. 2A LOCK, vol. 3A 9.1.2.2) when
 * other CPUs run at the same time: the read-modify-write is one host atomic on the operand's
 * host address (LOCK CMPXCHG, CMPXCHG16B, XADD, XCHG), so nothing another CPU does -- locked or
 * not, interpreted or in generated code -- lands between the read and the write. The results
 * and flags are those of the plain handlers (same helpers); an operation the host has no single
 * instruction for is a compare-and-exchange loop, which retries with the flags as they were
 * before the instruction. An operand that is not one page of RAM (MMIO, ROM, across two pages)
 * takes an exclusive section (smp.c) around the plain handler. With one CPU the plain handler
 * runs as it is: nothing can come between its read and its write.
 */
#include "bt-fallback/ops/ops.h"

typedef u8 bt_u8_v __attribute__((may_alias));

/* LOCK CMPXCHG of size 1..8 at p (any alignment): true when *p held *expected (else updated). */
static bool bt_lock_cas(u8 *p, unsigned size, u64 *expected, u64 desired)
{
	bool ok;

	switch (size) {
	case 1: {
		u8 a = (u8)*expected;

		__asm__ volatile("lock cmpxchgb %3, %1"
				 : "+a"(a), "+m"(*(volatile bt_u8_v *)p), "=@ccz"(ok)
				 : "q"((u8)desired)
				 : "memory");
		*expected = a;
		break;
	}
	case 2: {
		u16 a = (u16)*expected;

		__asm__ volatile("lock cmpxchgw %3, %1"
				 : "+a"(a), "+m"(*(volatile bt_u16_un *)p), "=@ccz"(ok)
				 : "r"((u16)desired)
				 : "memory");
		*expected = a;
		break;
	}
	case 4: {
		u32 a = (u32)*expected;

		__asm__ volatile("lock cmpxchgl %3, %1"
				 : "+a"(a), "+m"(*(volatile bt_u32_un *)p), "=@ccz"(ok)
				 : "r"((u32)desired)
				 : "memory");
		*expected = a;
		break;
	}
	default: {
		u64 a = *expected;

		__asm__ volatile("lock cmpxchgq %3, %1"
				 : "+a"(a), "+m"(*(volatile bt_u64_un *)p), "=@ccz"(ok)
				 : "r"(desired)
				 : "memory");
		*expected = a;
		break;
	}
	}
	return ok;
}

/* LOCK CMPXCHG16B at p (16-byte aligned: the guest instruction checked it). */
static bool bt_lock_cas16(u8 *p, u64 *lo, u64 *hi, u64 new_lo, u64 new_hi)
{
	u64 a = *lo, d = *hi;
	bool ok;

	__asm__ volatile("lock cmpxchg16b %2"
			 : "+a"(a), "+d"(d), "+m"(*(volatile u8(*)[16])p), "=@ccz"(ok)
			 : "b"(new_lo), "c"(new_hi)
			 : "memory");
	*lo = a;
	*hi = d;
	return ok;
}

/* A plain atomic read of size bytes (a CAS that leaves memory as it is). */
static u64 bt_lock_read(u8 *p, unsigned size)
{
	u64 v = 0;

	bt_lock_cas(p, size, &v, 0);
	return v;
}

/* The flags state an instruction starts from, to retry with. */
struct bt_lock_flags {
	u64 res, a, b, carry, rflags;
	u32 op, size;
};

static void bt_lock_save(const struct bt_cpu *cpu, struct bt_lock_flags *f)
{
	*f = (struct bt_lock_flags){ cpu->lf_res,    cpu->lf_a,	 cpu->lf_b,   cpu->lf_carry,
				     cpu->st.rflags, cpu->lf_op, cpu->lf_size };
}

static void bt_lock_restore(struct bt_cpu *cpu, const struct bt_lock_flags *f)
{
	cpu->lf_res = f->res;
	cpu->lf_a = f->a;
	cpu->lf_b = f->b;
	cpu->lf_carry = f->carry;
	cpu->st.rflags = f->rflags;
	cpu->lf_op = f->op;
	cpu->lf_size = f->size;
}

/* The memory operand of a locked instruction: offset and size (BT with a register reaches past). */
static unsigned bt_lock_operand(struct bt_cpu *cpu, const struct bt_insn *in, u64 *off)
{
	unsigned sz = in->opsz, op = in->opcode;

	*off = bt_ea_off(cpu, in);
	if (op == 0x1c7)
		return in->rexw ? 16 : 8;
	if (op == 0x1ab || op == 0x1b3 || op == 0x1bb) {
		s64 so = bt_sext(bt_get_reg(cpu, in->reg, sz), sz);

		*off = (*off + (u64)((so >> __builtin_ctz(sz * 8)) * (s64)sz)) & bt_mask(in->asz);
	}
	return sz;
}

/* The result of op on the old value (ALU group, NOT, NEG, INC, DEC), with the plain flags. */
static u64 bt_lock_apply(struct bt_cpu *cpu, const struct bt_insn *in, unsigned sz, u64 old)
{
	unsigned op = in->opcode, grp = in->modrm_reg;
	u64 m = bt_mask(sz), r;

	if (op < 0x40)
		return bt_alu(cpu, (op >> 3) & 7, sz, old, bt_get_reg(cpu, in->reg, sz));
	if (op >= 0x80 && op <= 0x83)
		return bt_alu(cpu, grp, sz, old, in->imm);
	if (op == 0xf6 || op == 0xf7) {
		if (grp == 2)
			return ~old & m;
		r = -old & m;
		bt_flags_set_lazy(cpu, BT_LF_SUB, sz, r, 0, old);
		return r;
	}
	/* FE/FF /0 /1 */
	r = (grp ? old - 1 : old + 1) & m;
	bt_flags_set_lazy(cpu, grp ? BT_LF_DEC : BT_LF_INC, sz, r, old, 1);
	return r;
}

/* The atomic forms on the host address p of the operand. */
static void bt_lock_host(struct bt_cpu *cpu, const struct bt_insn *in, unsigned sz, u8 *p)
{
	unsigned op = in->opcode;
	struct bt_lock_flags f;
	u64 old, new, src;

	switch (op) {
	case 0x86:
	case 0x87: /* XCHG: the register gets the old value */
		src = bt_get_reg(cpu, in->reg, sz);
		old = bt_lock_read(p, sz);
		while (!bt_lock_cas(p, sz, &old, src))
			;
		bt_set_reg(cpu, in->reg, sz, old);
		return;
	case 0x1b0:
	case 0x1b1: { /* CMPXCHG */
		u64 acc = bt_get_reg(cpu, CPU_RAX, sz);

		old = acc;
		if (!bt_lock_cas(p, sz, &old, bt_get_reg(cpu, in->reg, sz)))
			bt_set_reg(cpu, CPU_RAX, sz, old);
		bt_alu(cpu, 7, sz, acc, old);
		return;
	}
	case 0x1c0:
	case 0x1c1: /* XADD */
		src = bt_get_reg(cpu, in->reg, sz);
		old = bt_lock_read(p, sz);
		while (!bt_lock_cas(p, sz, &old, (old + src) & bt_mask(sz)))
			;
		bt_alu(cpu, 0, sz, old, src);
		bt_set_reg(cpu, in->reg, sz, old);
		return;
	case 0x1c7: /* CMPXCHG8B / CMPXCHG16B */
		if (sz == 16) {
			u64 lo = cpu->st.gpr[CPU_RAX], hi = cpu->st.gpr[CPU_RDX];
			bool ok = bt_lock_cas16(p, &lo, &hi, cpu->st.gpr[CPU_RBX],
						cpu->st.gpr[CPU_RCX]);

			if (!ok) {
				cpu->st.gpr[CPU_RAX] = lo;
				cpu->st.gpr[CPU_RDX] = hi;
			}
			bt_flags_set(cpu, BT_ZF, ok ? BT_ZF : 0);
		} else {
			old = bt_get_reg(cpu, CPU_RAX, 4) | bt_get_reg(cpu, CPU_RDX, 4) << 32;
			new = bt_get_reg(cpu, CPU_RBX, 4) | bt_get_reg(cpu, CPU_RCX, 4) << 32;
			if (bt_lock_cas(p, 8, &old, new)) {
				bt_flags_set(cpu, BT_ZF, BT_ZF);
			} else {
				bt_set_reg(cpu, CPU_RAX, 4, old);
				bt_set_reg(cpu, CPU_RDX, 4, old >> 32);
				bt_flags_set(cpu, BT_ZF, 0);
			}
		}
		return;
	case 0x1ab:
	case 0x1b3:
	case 0x1bb:
	case 0x1ba: { /* BTS/BTR/BTC: the byte holding the bit */
		unsigned bits = sz * 8, which = op == 0x1ba ? in->modrm_reg - 4u : ((op >> 3) & 3);
		u64 bit = (op == 0x1ba ? in->imm : bt_get_reg(cpu, in->reg, sz)) & (bits - 1);
		u8 *bp = p + bit / 8, mask = (u8)(1u << (bit % 8));

		old = bt_lock_read(bp, 1);
		do {
			new = which == 1 ? old | mask : which == 2 ? old &(u8)~mask : old ^ mask;
		} while (!bt_lock_cas(bp, 1, &old, new));
		bt_flags_set(cpu, BT_CF, (old & mask) ? BT_CF : 0);
		return;
	}
	default: /* ALU, NOT, NEG, INC, DEC: compute, compare-and-exchange, retry */
		bt_lock_save(cpu, &f);
		old = bt_lock_read(p, sz);
		for (;;) {
			new = bt_lock_apply(cpu, in, sz, old);
			if (bt_lock_cas(p, sz, &old, new))
				return;
			bt_lock_restore(cpu, &f);
		}
	}
}

void bt_op_locked(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned sz;
	u64 off;
	u8 *p;

	if (cpu->mem->nr_cpus < 2) {
		bt_ops_plain(in, bt_cpu_mode(cpu))(cpu, in);
		return;
	}
	if (in->opcode == 0x1c7 && in->modrm_reg != 1)
		bt_raise_ud(cpu);
	sz = bt_lock_operand(cpu, in, &off);
	if (sz == 16 && (off & 15))
		bt_raise_gp0(cpu); /* CMPXCHG16B needs an aligned operand */
	p = bt_mmu_lock_span(cpu, in->seg, off, sz);
	if (!p) {
		/* Not one page of RAM: nothing else runs while the plain handler does. */
		bt_exclusive_begin(cpu);
		bt_ops_plain(in, bt_cpu_mode(cpu))(cpu, in);
		bt_exclusive_end(cpu);
		return;
	}
	bt_lock_host(cpu, in, sz, p);
}
