// SPDX-License-Identifier: MIT
/*
 * RFLAGS: lazy arithmetic flags (SDM vol. 1 3.4.3; the producer and its operands are kept and
 * the six arithmetic flags computed on demand), materialising them, and the condition codes of
 * SDM vol. 1 appendix B for the cases bt_cond (bt.h) does not answer inline. A leaf.
 */
#include "bt-fallback/bt.h"

/* The six arithmetic flags of an operation recorded in the lazy state. */
static u64 bt_flags_lazy_op(const struct bt_cpu *cpu)
{
	unsigned size = cpu->lf_size;
	u64 m = bt_mask(size), s = bt_sign(size);
	u64 r = cpu->lf_res & m, a = cpu->lf_a & m, b = cpu->lf_b & m;
	u64 f = bt_szp(size, r);

	switch (cpu->lf_op) {
	case BT_LF_ADD:
	case BT_LF_ADC:
		if (cpu->lf_op == BT_LF_ADD ? r < a : r <= a)
			f |= BT_CF;
		if ((a ^ r) & (b ^ r) & s)
			f |= BT_OF;
		f |= (a ^ b ^ r) & BT_AF;
		break;
	case BT_LF_SUB:
	case BT_LF_SBB:
		if (cpu->lf_op == BT_LF_SUB ? a < b : a <= b)
			f |= BT_CF;
		if ((a ^ b) & (a ^ r) & s)
			f |= BT_OF;
		f |= (a ^ b ^ r) & BT_AF;
		break;
	case BT_LF_INC:
		if (r == s)
			f |= BT_OF;
		f |= (a ^ 1 ^ r) & BT_AF;
		f |= cpu->lf_carry;
		break;
	case BT_LF_DEC:
		if (r == s - 1)
			f |= BT_OF;
		f |= (a ^ 1 ^ r) & BT_AF;
		f |= cpu->lf_carry;
		break;
	case BT_LF_RES:
		f |= cpu->lf_a & (BT_CF | BT_OF);
		break;
	default: /* LOGIC: CF = OF = 0; AF undefined, 0 like AMD */
		break;
	}
	return f;
}

static u64 bt_flags_lazy(const struct bt_cpu *cpu)
{
	if (cpu->lf_op == BT_LF_HOST)
		return bt_lf_host_flags(cpu->lf_res);
	return bt_flags_lazy_op(cpu);
}

void bt_flags_commit(struct bt_cpu *cpu)
{
	if (cpu->lf_op == BT_LF_NONE)
		return;
	cpu->st.rflags = (cpu->st.rflags & ~(u64)BT_ARITH) | bt_flags_lazy(cpu);
	cpu->lf_op = BT_LF_NONE;
}

u64 bt_get_rflags(struct bt_cpu *cpu)
{
	bt_flags_commit(cpu);
	return cpu->st.rflags | 2;
}

void bt_set_rflags(struct bt_cpu *cpu, u64 v)
{
	cpu->lf_op = BT_LF_NONE;
	cpu->st.rflags = v | 2;
}

bool bt_cond_slow(struct bt_cpu *cpu, unsigned cc)
{
	u64 f;
	bool r;

	if (cpu->lf_op != BT_LF_NONE && cpu->lf_op != BT_LF_HOST) {
		/* Flags that need no full evaluation: CF, ZF, SF, and OF = 0 after a logic op. */
		u64 m = bt_mask(cpu->lf_size), res = cpu->lf_res & m;
		bool sf = res & bt_sign(cpu->lf_size);

		switch (cc >> 1) {
		case 1:
			return bt_cf(cpu) ^ (cc & 1);
		case 2:
			return !res ^ (cc & 1);
		case 3:
			return (!res || bt_cf(cpu)) ^ (cc & 1);
		case 4:
			return sf ^ (cc & 1);
		case 6:
			if (cpu->lf_op == BT_LF_LOGIC)
				return sf ^ (cc & 1);
			break;
		case 7:
			if (cpu->lf_op == BT_LF_LOGIC)
				return (!res || sf) ^ (cc & 1);
			break;
		default:
			break;
		}
	}
	f = cpu->lf_op == BT_LF_NONE ? cpu->st.rflags :
				       (cpu->st.rflags & ~(u64)BT_ARITH) | bt_flags_lazy(cpu);
	switch (cc >> 1) {
	case 0:
		r = f & BT_OF;
		break;
	case 1:
		r = f & BT_CF;
		break;
	case 2:
		r = f & BT_ZF;
		break;
	case 3:
		r = f & (BT_CF | BT_ZF);
		break;
	case 4:
		r = f & BT_SF;
		break;
	case 5:
		r = f & BT_PF;
		break;
	case 6:
		r = !(f & BT_SF) != !(f & BT_OF);
		break;
	default:
		r = (f & BT_ZF) || !(f & BT_SF) != !(f & BT_OF);
		break;
	}
	return r ^ (cc & 1);
}
