// SPDX-License-Identifier: MIT
/*
 * The x87 FPU: the register stack, tags, control and status words, stack
 * faults and the floating-point exceptions (SDM vol. 1 chapter 8; the
 * instructions in vol. 2A/2B under F*; the opcode map in vol. 2D A.5).
 *
 * State lives in the FXSAVE image of struct cpu_state (vol. 1 table 10-2):
 * st[i] holds ST(i) in stack order, ftw is the abridged tag word indexed by
 * physical register, TOP is FSW[13:11]. A push or pop rotates st[] so the
 * image is always what FXSAVE would store.
 *
 * The host computes, as ssefp.c does for SSE: each arithmetic, comparison,
 * conversion and transcendental operation runs as the same host x87
 * instruction on 80-bit operands under the guest's FCW (rounding and
 * precision control, exception masks), with the host status word read
 * back for the exception flags and condition codes; the host FCW is put
 * back and the host stack emptied afterwards (FNINIT), before any waiting
 * instruction could trap. The engine itself handles stack overflow and
 * underflow (IE|SF, C1; the QNaN indefinite as the masked response), tags,
 * TOP and pending exceptions: an unmasked exception sets ES and B, leaves
 * the destination and TOP alone for IE, DE and ZE (vol. 1 8.5), and the
 * next waiting x87 instruction raises #MF (CR0.NE; vol. 1 8.7).
 *
 * Not modelled: FIP/FDP/FOP (left as they are), the 16-bit FNSTENV/FNSAVE
 * image layouts beyond the 32-bit protected-mode one.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

#define FSW_IE	0x0001
#define FSW_DE	0x0002
#define FSW_ZE	0x0004
#define FSW_SF	0x0040
#define FSW_ES	0x0080
#define FSW_C0	0x0100
#define FSW_C1	0x0200
#define FSW_C2	0x0400
#define FSW_C3	0x4000
#define FSW_B	0x8000
#define FSW_CC	(FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)
#define FSW_EXC 0x003f

/* Host operations: ST0 = a, ST1 = b on the host stack, m a memory source, mo a memory result. */
#define BT_X87_OPS(X)                            \
	X(ADD, "fadd %%st(1), %%st")             \
	X(MUL, "fmul %%st(1), %%st")             \
	X(SUB, "fsub %%st(1), %%st")             \
	X(DIV, "fdiv %%st(1), %%st")             \
	X(ADD_F32, "fadds %[m]")                 \
	X(MUL_F32, "fmuls %[m]")                 \
	X(SUB_F32, "fsubs %[m]")                 \
	X(SUBR_F32, "fsubrs %[m]")               \
	X(DIV_F32, "fdivs %[m]")                 \
	X(DIVR_F32, "fdivrs %[m]")               \
	X(COM_F32, "fcoms %[m]")                 \
	X(ADD_F64, "faddl %[m]")                 \
	X(MUL_F64, "fmull %[m]")                 \
	X(SUB_F64, "fsubl %[m]")                 \
	X(SUBR_F64, "fsubrl %[m]")               \
	X(DIV_F64, "fdivl %[m]")                 \
	X(DIVR_F64, "fdivrl %[m]")               \
	X(COM_F64, "fcoml %[m]")                 \
	X(ADD_I32, "fiaddl %[m]")                \
	X(MUL_I32, "fimull %[m]")                \
	X(SUB_I32, "fisubl %[m]")                \
	X(SUBR_I32, "fisubrl %[m]")              \
	X(DIV_I32, "fidivl %[m]")                \
	X(DIVR_I32, "fidivrl %[m]")              \
	X(COM_I32, "ficoml %[m]")                \
	X(ADD_I16, "fiadds %[m]")                \
	X(MUL_I16, "fimuls %[m]")                \
	X(SUB_I16, "fisubs %[m]")                \
	X(SUBR_I16, "fisubrs %[m]")              \
	X(DIV_I16, "fidivs %[m]")                \
	X(DIVR_I16, "fidivrs %[m]")              \
	X(COM_I16, "ficoms %[m]")                \
	X(COM, "fcom %%st(1)")                   \
	X(UCOM, "fucom %%st(1)")                 \
	X(LD_F32, "flds %[m]")                   \
	X(LD_F64, "fldl %[m]")                   \
	X(LD_I16, "filds %[m]")                  \
	X(LD_I32, "fildl %[m]")                  \
	X(LD_I64, "fildll %[m]")                 \
	X(LD_BCD, "fbld %[m]")                   \
	X(ST_F32, "fsts %[mo]")                  \
	X(ST_F64, "fstl %[mo]")                  \
	X(ST_I16, "fists %[mo]")                 \
	X(ST_I32, "fistl %[mo]")                 \
	X(ST_I64, "fld %%st\n\tfistpll %[mo]")   \
	X(ST_BCD, "fld %%st\n\tfbstp %[mo]")     \
	X(STT_I16, "fld %%st\n\tfisttps %[mo]")  \
	X(STT_I32, "fld %%st\n\tfisttpl %[mo]")  \
	X(STT_I64, "fld %%st\n\tfisttpll %[mo]") \
	X(CHS, "fchs")                           \
	X(ABS, "fabs")                           \
	X(TST, "ftst")                           \
	X(XAM, "fxam")                           \
	X(LD1, "fld1")                           \
	X(LDL2T, "fldl2t")                       \
	X(LDL2E, "fldl2e")                       \
	X(LDPI, "fldpi")                         \
	X(LDLG2, "fldlg2")                       \
	X(LDLN2, "fldln2")                       \
	X(LDZ, "fldz")                           \
	X(F2XM1, "f2xm1")                        \
	X(FYL2X, "fyl2x")                        \
	X(FPTAN, "fptan")                        \
	X(FPATAN, "fpatan")                      \
	X(FXTRACT, "fxtract")                    \
	X(FPREM1, "fprem1")                      \
	X(FPREM, "fprem")                        \
	X(FYL2XP1, "fyl2xp1")                    \
	X(FSQRT, "fsqrt")                        \
	X(FSINCOS, "fsincos")                    \
	X(FRNDINT, "frndint")                    \
	X(FSCALE, "fscale")                      \
	X(FSIN, "fsin")                          \
	X(FCOS, "fcos")

#define BT_X87_ENUM(n, s) X87_##n,

enum bt_x87_hop {
	BT_X87_OPS(BT_X87_ENUM) X87_NR_OPS
};

#undef BT_X87_ENUM

struct bt_x87_io {
	u8 a[10], b[10]; /* ST0 and ST1 before */
	u8 m[10];	 /* memory source */
	u8 r0[10], r1[10];
	u8 mo[10];   /* memory result */
	u16 fcw, sw; /* in: the guest FCW and FSW; out: the host FSW after the operation */
};

/*
 * Run one host x87 instruction. The guest FCW is loaded, flags cleared; after the operation
 * FNSTSW and FNCLEX come before the (waiting) stores of the results, then FNINIT and the host
 * FCW put the host FPU back to its state on entry (an empty stack, no pending exception).
 */
static void bt_x87_host(enum bt_x87_hop op, struct bt_x87_io *io)
{
	/* A 32-bit FLDENV image: the guest FCW, its condition codes (so the bits an instruction
	 * leaves alone come back unchanged), TOP 0, every register empty. */
	u32 env[7] = { io->fcw, io->sw & FSW_CC, 0xffff, 0, 0, 0, 0 };
	u16 saved;

#define BT_X87_CASE(n, insn)                                                                      \
	case X87_##n:                                                                             \
		__asm__ volatile("fnstcw %[sv]\n\t"                                               \
				 "fldenv %[env]\n\t"                                              \
				 "fldt %[b]\n\t"                                                  \
				 "fldt %[a]\n\t"                                                  \
				 "fnclex\n\t" insn "\n\t"                                         \
				 "fnstsw %[sw]\n\t"                                               \
				 "fnclex\n\t"                                                     \
				 "fstpt %[r0]\n\t"                                                \
				 "fstpt %[r1]\n\t"                                                \
				 "fninit\n\t"                                                     \
				 "fldcw %[sv]"                                                    \
				 : [sv] "=m"(saved), [sw] "=m"(io->sw), [r0] "=m"(io->r0),        \
				   [r1] "=m"(io->r1), [mo] "+m"(io->mo)                           \
				 : [env] "m"(env), [a] "m"(io->a), [b] "m"(io->b), [m] "m"(io->m) \
				 : "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)",    \
				   "st(7)", "memory");                                            \
		break;

	switch (op) {
		BT_X87_OPS(BT_X87_CASE)
	default:
		break;
	}
#undef BT_X87_CASE
}

/* The QNaN floating-point indefinite (vol. 1 table 8-10). */
static const u8 bt_x87_indef[10] = { 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff };

static unsigned bt_x87_top(const struct bt_cpu *cpu)
{
	return (cpu->st.fx.fsw >> 11) & 7;
}

static void bt_x87_set_top(struct bt_cpu *cpu, unsigned t)
{
	cpu->st.fx.fsw = (u16)((cpu->st.fx.fsw & ~0x3800u) | ((t & 7) << 11));
}

/* Change TOP keeping every physical register's contents (st[] is in stack order). */
static void bt_x87_move_top(struct bt_cpu *cpu, unsigned t)
{
	u8 phys[8][16];
	unsigned old = (cpu->st.fx.fsw >> 11) & 7;

	for (unsigned i = 0; i < 8; i++)
		memcpy(phys[(old + i) & 7], cpu->st.fx.st[i], 16);
	for (unsigned i = 0; i < 8; i++)
		memcpy(cpu->st.fx.st[i], phys[(t + i) & 7], 16);
	cpu->st.fx.fsw = (u16)((cpu->st.fx.fsw & ~0x3800u) | ((t & 7) << 11));
}

static bool bt_x87_empty(const struct bt_cpu *cpu, unsigned i)
{
	return !((cpu->st.fx.ftw >> ((bt_x87_top(cpu) + i) & 7)) & 1);
}

static void bt_x87_set_tag(struct bt_cpu *cpu, unsigned i, bool valid)
{
	unsigned p = (bt_x87_top(cpu) + i) & 7;

	if (valid)
		cpu->st.fx.ftw |= (u8)(1u << p);
	else
		cpu->st.fx.ftw &= (u8) ~(1u << p);
}

/* TOP-1: new st[i] = old st[i-1] (the physical registers keep their contents). */
static void bt_x87_rot_down(struct bt_cpu *cpu)
{
	u8 t[16];

	memcpy(t, cpu->st.fx.st[7], 16);
	memmove(cpu->st.fx.st[1], cpu->st.fx.st[0], 7 * 16);
	memcpy(cpu->st.fx.st[0], t, 16);
	bt_x87_set_top(cpu, bt_x87_top(cpu) - 1);
}

static void bt_x87_rot_up(struct bt_cpu *cpu)
{
	u8 t[16];

	memcpy(t, cpu->st.fx.st[0], 16);
	memmove(cpu->st.fx.st[0], cpu->st.fx.st[1], 7 * 16);
	memcpy(cpu->st.fx.st[7], t, 16);
	bt_x87_set_top(cpu, bt_x87_top(cpu) + 1);
}

static void bt_x87_set(struct bt_cpu *cpu, unsigned i, const u8 v[10])
{
	memcpy(cpu->st.fx.st[i & 7], v, 10);
	memset(cpu->st.fx.st[i & 7] + 10, 0, 6);
	bt_x87_set_tag(cpu, i & 7, true);
}

static void bt_x87_push(struct bt_cpu *cpu, const u8 v[10])
{
	bt_x87_rot_down(cpu);
	bt_x87_set(cpu, 0, v);
}

static void bt_x87_pop(struct bt_cpu *cpu)
{
	bt_x87_set_tag(cpu, 0, false);
	bt_x87_rot_up(cpu);
}

/* ST(i) into v; an empty register is a stack underflow (IE|SF), read as the indefinite. */
static void bt_x87_get(struct bt_cpu *cpu, unsigned i, u8 v[10], u16 *exc)
{
	if (bt_x87_empty(cpu, i & 7)) {
		memcpy(v, bt_x87_indef, 10);
		*exc |= FSW_IE | FSW_SF;
		return;
	}
	memcpy(v, cpu->st.fx.st[i & 7], 10);
}

/*
 * Merge the status of one operation: the exception flags (sticky), the condition codes in
 * cmask taken from the host, C1 for a stack fault (1 on overflow). Returns whether the
 * destination may be written: not after an unmasked IE, DE or ZE.
 */
static bool bt_x87_status(struct bt_cpu *cpu, u16 hsw, u16 cmask, u16 exc, bool overflow)
{
	u16 fsw = cpu->st.fx.fsw, raised = (u16)((hsw & FSW_EXC) | exc);
	u16 unmasked = raised & ~cpu->st.fx.fcw & FSW_EXC;

	fsw = (u16)((fsw & ~cmask) | (hsw & cmask));
	if (exc & FSW_SF)
		fsw = (u16)((fsw & ~FSW_C1) | (overflow ? FSW_C1 : 0));
	fsw |= raised;
	if (unmasked)
		fsw |= FSW_ES | FSW_B;
	cpu->st.fx.fsw = fsw;
	return !(unmasked & (FSW_IE | FSW_DE | FSW_ZE));
}

/* A host operation on ST0 (and ST1 or a memory source); ST(dst) = result, then pops. */
static void bt_x87_arith(struct bt_cpu *cpu, enum bt_x87_hop op, const u8 *a, const u8 *b,
			 const u8 *m, unsigned dst, unsigned pops, u16 exc)
{
	struct bt_x87_io io = { .fcw = cpu->st.fx.fcw, .sw = cpu->st.fx.fsw };

	memcpy(io.a, a, 10);
	if (b)
		memcpy(io.b, b, 10);
	if (m)
		memcpy(io.m, m, 10);
	if (exc & FSW_SF) /* stack underflow: the indefinite, whatever the other operand */
		memcpy(io.r0, bt_x87_indef, 10);
	else
		bt_x87_host(op, &io);
	if (!bt_x87_status(cpu, io.sw, FSW_CC, exc, false))
		return;
	bt_x87_set(cpu, dst, io.r0);
	while (pops--)
		bt_x87_pop(cpu);
}

/* The compare family: C3 C2 C0 (or ZF PF CF for FCOMI), C1 = 0; then pops. */
static void bt_x87_compare(struct bt_cpu *cpu, enum bt_x87_hop op, unsigned i, const u8 *m,
			   unsigned pops, bool eflags)
{
	struct bt_x87_io io = { .fcw = cpu->st.fx.fcw, .sw = cpu->st.fx.fsw };
	u16 exc = 0;

	bt_x87_get(cpu, 0, io.a, &exc);
	if (!m)
		bt_x87_get(cpu, i, io.b, &exc);
	else
		memcpy(io.m, m, 10);
	bt_x87_host(op, &io);
	if (exc & FSW_SF) /* an empty operand compares unordered */
		io.sw = (u16)((io.sw & ~FSW_CC) | FSW_C0 | FSW_C2 | FSW_C3);
	if (eflags) { /* FCOMI: C1 is left alone (observed), ZF PF CF set even if IE is unmasked */
		u64 f = (io.sw & FSW_C0 ? BT_CF : 0) | (io.sw & FSW_C2 ? BT_PF : 0) |
			(io.sw & FSW_C3 ? BT_ZF : 0);

		bt_flags_set(cpu, BT_ARITH, f);
		if (!bt_x87_status(cpu, io.sw, 0, exc, false))
			return;
	} else {
		u16 cc = FSW_C0 | FSW_C2 | FSW_C3;

		io.sw &= (u16)~FSW_C1;
		cpu->st.fx.fsw = (u16)((cpu->st.fx.fsw & ~FSW_CC) | (io.sw & cc));
		if (!bt_x87_status(cpu, io.sw, FSW_C1, exc, false))
			return;
	}
	while (pops--)
		bt_x87_pop(cpu);
}

/* Push a value computed by the host from a memory source (or a constant). */
static void bt_x87_load(struct bt_cpu *cpu, enum bt_x87_hop op, const u8 *m)
{
	struct bt_x87_io io = { .fcw = cpu->st.fx.fcw, .sw = cpu->st.fx.fsw };

	if (!bt_x87_empty(cpu, 7)) { /* stack overflow: the indefinite, C1 = 1 */
		if (bt_x87_status(cpu, 0, 0, FSW_IE | FSW_SF, true))
			bt_x87_push(cpu, bt_x87_indef);
		return;
	}
	if (m)
		memcpy(io.m, m, 10);
	bt_x87_host(op, &io);
	if (bt_x87_status(cpu, io.sw, FSW_CC, 0, false))
		bt_x87_push(cpu, io.r0);
}

static void bt_x87_push_raw(struct bt_cpu *cpu, const u8 v[10])
{
	if (!bt_x87_empty(cpu, 7)) {
		if (bt_x87_status(cpu, 0, 0, FSW_IE | FSW_SF, true))
			bt_x87_push(cpu, bt_x87_indef);
		return;
	}
	cpu->st.fx.fsw &= (u16)~FSW_C1;
	bt_x87_push(cpu, v);
}

/* Store ST0 to memory through a host conversion (size bytes), then pops. */
static void bt_x87_store(struct bt_cpu *cpu, const struct bt_insn *in, enum bt_x87_hop op,
			 unsigned size, unsigned pops)
{
	struct bt_x87_io io = { .fcw = cpu->st.fx.fcw, .sw = cpu->st.fx.fsw };
	u64 off = bt_ea_off(cpu, in), lo, hi = 0;
	u16 exc = 0, unmasked;

	bt_x87_get(cpu, 0, io.a, &exc);
	bt_x87_host(op, &io);
	bt_probe_st(cpu, in->seg, off, size);
	/* Probed first: a fault on the store leaves the FPU alone. An unmasked overflow or
	 * underflow on a store to memory also leaves the destination and TOP alone. */
	unmasked = (u16)((io.sw | exc) & ~cpu->st.fx.fcw & 0x18);
	if (!bt_x87_status(cpu, io.sw, FSW_CC, exc, false) || unmasked)
		return;
	memcpy(&lo, io.mo, 8);
	memcpy(&hi, io.mo + 8, 2);
	if (size == 10) {
		bt_st(cpu, in->seg, off, 8, lo);
		bt_st(cpu, in->seg, (off + 8) & bt_mask(in->asz), 2, hi);
	} else {
		bt_st(cpu, in->seg, off, size, lo);
	}
	while (pops--)
		bt_x87_pop(cpu);
}

static void bt_x87_ldm_at(struct bt_cpu *cpu, unsigned seg, u64 off, u8 m[10], unsigned asz)
{
	u64 lo = bt_ld(cpu, seg, off, 8), hi = bt_ld(cpu, seg, (off + 8) & bt_mask(asz), 2);

	memcpy(m, &lo, 8);
	memcpy(m + 8, &hi, 2);
}

/* A memory source of size bytes (at most 10). */
static void bt_x87_ldm(struct bt_cpu *cpu, const struct bt_insn *in, unsigned size, u8 m[10])
{
	u64 off = bt_ea_off(cpu, in), lo;

	memset(m, 0, 10);
	if (size == 10) {
		bt_x87_ldm_at(cpu, in->seg, off, m, in->asz);
	} else {
		lo = bt_ld(cpu, in->seg, off, size);
		memcpy(m, &lo, size);
	}
}

/* The full tag word (vol. 1 8.1.7): 00 valid, 01 zero, 10 special, 11 empty, by physical reg. */
static u16 bt_x87_full_tags(const struct bt_cpu *cpu)
{
	unsigned top = bt_x87_top(cpu);
	u16 tw = 0;

	for (unsigned p = 0; p < 8; p++) {
		const u8 *v = cpu->st.fx.st[(p - top) & 7];
		u16 e;
		u64 mant;
		unsigned t;

		memcpy(&mant, v, 8);
		memcpy(&e, v + 8, 2);
		e &= 0x7fff;
		if (!((cpu->st.fx.ftw >> p) & 1))
			t = 3;
		else if (e == 0 && mant == 0)
			t = 1;
		else if (e == 0x7fff || e == 0 || !(mant >> 63))
			t = 2;
		else
			t = 0;
		tw |= (u16)(t << (2 * p));
	}
	return tw;
}

/* FNSTENV / FNSAVE image (32-bit protected-mode layout, vol. 1 figure 8-9); FIP etc. zero. */
static unsigned bt_x87_env(struct bt_cpu *cpu, const struct bt_insn *in, bool save)
{
	u64 off = bt_ea_off(cpu, in);
	unsigned sz = in->opsz == 2 ? 2 : 4, envsz = sz == 2 ? 14 : 28;
	u32 w[7] = { cpu->st.fx.fcw | (sz == 4 ? 0xffff0000u : 0), cpu->st.fx.fsw,
		     bt_x87_full_tags(cpu) };

	if (sz == 4)
		w[1] |= 0xffff0000u, w[2] |= 0xffff0000u;
	bt_probe_st(cpu, in->seg, off, envsz + (save ? 80 : 0));
	for (unsigned i = 0; i < 7; i++)
		bt_st(cpu, in->seg, (off + i * sz) & bt_mask(in->asz), sz, w[i]);
	if (save) {
		for (unsigned i = 0; i < 8; i++) {
			u64 lo, hi = 0;

			memcpy(&lo, cpu->st.fx.st[i], 8);
			memcpy(&hi, cpu->st.fx.st[i] + 8, 2);
			bt_st(cpu, in->seg, (off + envsz + i * 10) & bt_mask(in->asz), 8, lo);
			bt_st(cpu, in->seg, (off + envsz + i * 10 + 8) & bt_mask(in->asz), 2, hi);
		}
	}
	return envsz;
}

static void bt_x87_init(struct bt_cpu *cpu)
{
	cpu->st.fx.fcw = 0x37f;
	bt_x87_move_top(cpu, 0);
	cpu->st.fx.fsw = 0;
	cpu->st.fx.ftw = 0;
	cpu->st.fx.fop = 0;
	cpu->st.fx.fip = 0;
	cpu->st.fx.fdp = 0;
}

/*
 * After FXRSTOR or XRSTOR loaded FCW and FSW as they were in memory: the reserved control bits
 * read as the CPU has them (bit 6 set, 15:13 clear), ES and B follow the flags FCW leaves
 * unmasked.
 */
void bt_x87_loaded(struct bt_cpu *cpu)
{
	struct cpu_fxsave *fx = &cpu->st.fx;

	fx->fcw = (u16)((fx->fcw & 0x1f3f) | 0x40);
	if (fx->fsw & ~fx->fcw & FSW_EXC)
		fx->fsw |= FSW_ES | FSW_B;
	else
		fx->fsw &= (u16) ~(FSW_ES | FSW_B);
}

static void bt_x87_ldenv(struct bt_cpu *cpu, const struct bt_insn *in, bool rstor)
{
	u64 off = bt_ea_off(cpu, in);
	unsigned sz = in->opsz == 2 ? 2 : 4, envsz = sz == 2 ? 14 : 28;
	u16 cw = (u16)bt_ld(cpu, in->seg, off, 2);
	u16 sw = (u16)bt_ld(cpu, in->seg, (off + sz) & bt_mask(in->asz), 2);
	u16 tw = (u16)bt_ld(cpu, in->seg, (off + 2 * sz) & bt_mask(in->asz), 2);
	u8 regs[8][10], ftw = 0;

	/* The CPU reads the whole image: its last byte faults like the host does. */
	(void)bt_ld(cpu, in->seg, (off + envsz + (rstor ? 80 : 0) - 1) & bt_mask(in->asz), 1);
	if (rstor)
		for (unsigned i = 0; i < 8; i++)
			bt_x87_ldm_at(cpu, in->seg, (off + envsz + i * 10) & bt_mask(in->asz),
				      regs[i], in->asz);
	for (unsigned p = 0; p < 8; p++)
		if (((tw >> (2 * p)) & 3) != 3)
			ftw |= (u8)(1u << p);
	cpu->st.fx.fcw = (u16)((cw & 0x1f3f) | 0x40);
	cw = cpu->st.fx.fcw;
	if (!rstor)
		bt_x87_move_top(cpu, (sw >> 11) & 7);
	cpu->st.fx.fsw = sw;
	cpu->st.fx.ftw = ftw;
	if (rstor)
		for (unsigned i = 0; i < 8; i++) {
			memcpy(cpu->st.fx.st[i], regs[i], 10);
			memset(cpu->st.fx.st[i] + 10, 0, 6);
		}
	/* A restored pending exception: ES and B follow the unmasked flags. */
	if (sw & ~cw & FSW_EXC)
		cpu->st.fx.fsw |= FSW_ES | FSW_B;
	else
		cpu->st.fx.fsw &= (u16) ~(FSW_ES | FSW_B);
}

/* D8/DC/DA/DE memory forms by ModRM.reg: ADD MUL COM COMP SUB SUBR DIV DIVR. */
static const u8 bt_x87_mem_ops[4][8] = {
	{ X87_ADD_F32, X87_MUL_F32, X87_COM_F32, X87_COM_F32, X87_SUB_F32, X87_SUBR_F32,
	  X87_DIV_F32, X87_DIVR_F32 },
	{ X87_ADD_I32, X87_MUL_I32, X87_COM_I32, X87_COM_I32, X87_SUB_I32, X87_SUBR_I32,
	  X87_DIV_I32, X87_DIVR_I32 },
	{ X87_ADD_F64, X87_MUL_F64, X87_COM_F64, X87_COM_F64, X87_SUB_F64, X87_SUBR_F64,
	  X87_DIV_F64, X87_DIVR_F64 },
	{ X87_ADD_I16, X87_MUL_I16, X87_COM_I16, X87_COM_I16, X87_SUB_I16, X87_SUBR_I16,
	  X87_DIV_I16, X87_DIVR_I16 },
};

static void bt_x87_mem(struct bt_cpu *cpu, const struct bt_insn *in, unsigned op, unsigned reg)
{
	u8 m[10], a[10];
	u16 exc = 0;

	switch (op) {
	case 0: /* D8: m32fp */
	case 2: /* DA: m32int */
	case 4: /* DC: m64fp */
	case 6: /* DE: m16int */ {
		static const u8 sizes[4] = { 4, 4, 8, 2 };
		unsigned k = op / 2;
		enum bt_x87_hop h = (enum bt_x87_hop)bt_x87_mem_ops[k][reg];

		bt_x87_ldm(cpu, in, sizes[k], m);
		if (reg == 2 || reg == 3) {
			bt_x87_compare(cpu, h, 0, m, reg == 3, false);
			return;
		}
		bt_x87_get(cpu, 0, a, &exc);
		bt_x87_arith(cpu, h, a, NULL, m, 0, 0, exc);
		return;
	}
	case 1: /* D9 */
		switch (reg) {
		case 0:
			bt_x87_ldm(cpu, in, 4, m);
			bt_x87_load(cpu, X87_LD_F32, m);
			return;
		case 2:
		case 3:
			bt_x87_store(cpu, in, X87_ST_F32, 4, reg == 3);
			return;
		case 4:
			bt_x87_ldenv(cpu, in, false);
			return;
		case 5:
			cpu->st.fx.fcw =
				(u16)((bt_ld(cpu, in->seg, bt_ea_off(cpu, in), 2) & 0x1f3f) | 0x40);
			/* ES and B follow the flags the new mask leaves unmasked. */
			if (cpu->st.fx.fsw & ~cpu->st.fx.fcw & FSW_EXC)
				cpu->st.fx.fsw |= FSW_ES | FSW_B;
			else
				cpu->st.fx.fsw &= (u16) ~(FSW_ES | FSW_B);
			return;
		case 6: /* FNSTENV: then every exception is masked */
			bt_x87_env(cpu, in, false);
			cpu->st.fx.fcw |= FSW_EXC;
			return;
		case 7:
			bt_st(cpu, in->seg, bt_ea_off(cpu, in), 2, cpu->st.fx.fcw);
			return;
		}
		break;
	case 3: /* DB */
		switch (reg) {
		case 0:
			bt_x87_ldm(cpu, in, 4, m);
			bt_x87_load(cpu, X87_LD_I32, m);
			return;
		case 1: /* FISTTP (SSE3) */
			if (!bt_has(cpu, CPU_F_SSE3))
				bt_raise_ud(cpu);
			bt_x87_store(cpu, in, X87_STT_I32, 4, 1);
			return;
		case 2:
		case 3:
			bt_x87_store(cpu, in, X87_ST_I32, 4, reg == 3);
			return;
		case 5: /* FLD m80: no conversion, no exception */
			bt_x87_ldm(cpu, in, 10, m);
			bt_x87_push_raw(cpu, m);
			return;
		case 7: { /* FSTP m80 */
			u64 off = bt_ea_off(cpu, in), lo, hi = 0;

			bt_x87_get(cpu, 0, a, &exc);
			bt_probe_st(cpu, in->seg, off, 10);
			if (!bt_x87_status(cpu, 0, 0, exc, false))
				return;
			if (!exc)
				cpu->st.fx.fsw &= (u16)~FSW_C1;
			memcpy(&lo, a, 8);
			memcpy(&hi, a + 8, 2);
			bt_st(cpu, in->seg, off, 8, lo);
			bt_st(cpu, in->seg, (off + 8) & bt_mask(in->asz), 2, hi);
			bt_x87_pop(cpu);
			return;
		}
		}
		break;
	case 5: /* DD */
		switch (reg) {
		case 0:
			bt_x87_ldm(cpu, in, 8, m);
			bt_x87_load(cpu, X87_LD_F64, m);
			return;
		case 1: /* FISTTP (SSE3) */
			if (!bt_has(cpu, CPU_F_SSE3))
				bt_raise_ud(cpu);
			bt_x87_store(cpu, in, X87_STT_I64, 8, 1);
			return;
		case 2:
		case 3:
			bt_x87_store(cpu, in, X87_ST_F64, 8, reg == 3);
			return;
		case 4:
			bt_x87_ldenv(cpu, in, true);
			return;
		case 6: /* FNSAVE: then FNINIT */
			bt_x87_env(cpu, in, true);
			bt_x87_init(cpu);
			return;
		case 7:
			bt_st(cpu, in->seg, bt_ea_off(cpu, in), 2, cpu->st.fx.fsw);
			return;
		}
		break;
	case 7: /* DF */
		switch (reg) {
		case 0:
			bt_x87_ldm(cpu, in, 2, m);
			bt_x87_load(cpu, X87_LD_I16, m);
			return;
		case 1: /* FISTTP (SSE3) */
			if (!bt_has(cpu, CPU_F_SSE3))
				bt_raise_ud(cpu);
			bt_x87_store(cpu, in, X87_STT_I16, 2, 1);
			return;
		case 2:
		case 3:
			bt_x87_store(cpu, in, X87_ST_I16, 2, reg == 3);
			return;
		case 4:
			bt_x87_ldm(cpu, in, 10, m);
			bt_x87_load(cpu, X87_LD_BCD, m);
			return;
		case 5:
			bt_x87_ldm(cpu, in, 8, m);
			bt_x87_load(cpu, X87_LD_I64, m);
			return;
		case 6:
			bt_x87_store(cpu, in, X87_ST_BCD, 10, 1);
			return;
		case 7:
			bt_x87_store(cpu, in, X87_ST_I64, 8, 1);
			return;
		}
		break;
	}
	bt_raise_ud(cpu);
}

/* D8/DC/DE register arithmetic: ST0 op ST(i) into ST0 (D8) or ST(i) (DC, DE + pop). */
static void bt_x87_reg_arith(struct bt_cpu *cpu, unsigned op, unsigned reg, unsigned i)
{
	u8 s0[10], si[10];
	u16 exc = 0;
	unsigned dst = op == 0 ? 0 : i, pops = op == 6;

	if (reg == 2 || reg == 3) { /* FCOM/FCOMP (DC, DE: the aliases) */
		bt_x87_compare(cpu, X87_COM, i, NULL, (reg == 3) + pops, false);
		return;
	}
	bt_x87_get(cpu, 0, s0, &exc);
	bt_x87_get(cpu, i, si, &exc);
	switch (reg) {
	case 0:
		bt_x87_arith(cpu, X87_ADD, s0, si, NULL, dst, pops, exc);
		return;
	case 1:
		bt_x87_arith(cpu, X87_MUL, s0, si, NULL, dst, pops, exc);
		return;
	case 4: /* ST0 - ST(i): FSUB (D8) and FSUBR ST(i), ST0 (DC, DE) alike */
		bt_x87_arith(cpu, X87_SUB, s0, si, NULL, dst, pops, exc);
		return;
	case 5:
		bt_x87_arith(cpu, X87_SUB, si, s0, NULL, dst, pops, exc);
		return;
	case 6:
		bt_x87_arith(cpu, X87_DIV, s0, si, NULL, dst, pops, exc);
		return;
	case 7:
		bt_x87_arith(cpu, X87_DIV, si, s0, NULL, dst, pops, exc);
		return;
	}
}

/* D9 E0-FF: the operations on ST0 (and ST1). */
static void bt_x87_d9(struct bt_cpu *cpu, unsigned modrm)
{
	static const u8 consts[8] = { X87_LD1,	 X87_LDL2T, X87_LDL2E, X87_LDPI,
				      X87_LDLG2, X87_LDLN2, X87_LDZ,   0 };
	struct bt_x87_io io = { .fcw = cpu->st.fx.fcw, .sw = cpu->st.fx.fsw };
	u16 exc = 0;

	switch (modrm) {
	case 0xe0: /* FCHS */
	case 0xe1: /* FABS */
		bt_x87_get(cpu, 0, io.a, &exc);
		if (exc) {
			if (bt_x87_status(cpu, 0, 0, exc, false))
				bt_x87_set(cpu, 0, bt_x87_indef);
			return;
		}
		io.a[9] ^= modrm == 0xe0 ? 0x80 : (io.a[9] & 0x80);
		cpu->st.fx.fsw &= (u16)~FSW_C1;
		bt_x87_set(cpu, 0, io.a);
		return;
	case 0xe4: /* FTST */
	case 0xe5: /* FXAM */
		if (modrm == 0xe5 && bt_x87_empty(cpu, 0)) {
			u16 s = (u16)(FSW_C3 | FSW_C0 |
				      ((cpu->st.fx.st[0][9] & 0x80) ? FSW_C1 : 0));

			cpu->st.fx.fsw = (u16)((cpu->st.fx.fsw & ~FSW_CC) | s);
			return;
		}
		if (modrm == 0xe4) {
			bt_x87_get(cpu, 0, io.a, &exc);
			bt_x87_host(X87_TST, &io);
			if (exc)
				io.sw = (u16)(io.sw | FSW_C0 | FSW_C2 | FSW_C3);
			io.sw &= (u16)~FSW_C1;
			bt_x87_status(cpu, io.sw, FSW_CC, exc, false);
			return;
		}
		memcpy(io.a, cpu->st.fx.st[0], 10);
		bt_x87_host(X87_XAM, &io);
		cpu->st.fx.fsw = (u16)((cpu->st.fx.fsw & ~FSW_CC) | (io.sw & FSW_CC));
		return;
	case 0xe8 ... 0xee:
		bt_x87_load(cpu, (enum bt_x87_hop)consts[modrm - 0xe8], NULL);
		return;
	case 0xf6: /* FDECSTP */
		bt_x87_rot_down(cpu);
		cpu->st.fx.fsw &= (u16)~FSW_C1;
		return;
	case 0xf7: /* FINCSTP */
		bt_x87_rot_up(cpu);
		cpu->st.fx.fsw &= (u16)~FSW_C1;
		return;
	case 0xf0: /* F2XM1 */
	case 0xfa: /* FSQRT */
	case 0xfc: /* FRNDINT */
		bt_x87_get(cpu, 0, io.a, &exc);
		bt_x87_arith(cpu,
			     modrm == 0xf0 ? X87_F2XM1 :
			     modrm == 0xfa ? X87_FSQRT :
					     X87_FRNDINT,
			     io.a, NULL, NULL, 0, 0, exc);
		return;
	case 0xfe: /* FSIN */
	case 0xff: /* FCOS */
		bt_x87_get(cpu, 0, io.a, &exc);
		bt_x87_host(modrm == 0xfe ? X87_FSIN : X87_FCOS, &io); /* C2: out of range */
		if (bt_x87_status(cpu, io.sw, FSW_CC, exc, false))
			bt_x87_set(cpu, 0, io.r0);
		return;
	case 0xf1: /* FYL2X */
	case 0xf3: /* FPATAN */
	case 0xf9: /* FYL2XP1 */
	case 0xfd: /* FSCALE */
	case 0xf5: /* FPREM1 */
	case 0xf8: /* FPREM */ {
		enum bt_x87_hop h = modrm == 0xf1 ? X87_FYL2X :
				    modrm == 0xf3 ? X87_FPATAN :
				    modrm == 0xf9 ? X87_FYL2XP1 :
				    modrm == 0xfd ? X87_FSCALE :
				    modrm == 0xf5 ? X87_FPREM1 :
						    X87_FPREM;
		bool pop = modrm == 0xf1 || modrm == 0xf3 || modrm == 0xf9;

		bt_x87_get(cpu, 0, io.a, &exc);
		bt_x87_get(cpu, 1, io.b, &exc);
		bt_x87_host(h, &io);
		if (exc) /* stack underflow: the indefinite */
			memcpy(io.r0, bt_x87_indef, 10);
		if (!bt_x87_status(cpu, io.sw, FSW_CC, exc, false))
			return;
		if (pop) { /* the result goes to ST1, then a pop */
			bt_x87_set(cpu, 1, io.r0);
			bt_x87_pop(cpu);
		} else {
			bt_x87_set(cpu, 0, io.r0);
		}
		return;
	}
	case 0xf2: /* FPTAN: ST0 = tan, push 1.0 */
	case 0xf4: /* FXTRACT: ST0 = exponent, push significand */
	case 0xfb: /* FSINCOS: ST0 = sin, push cos */ {
		bool xtract = modrm == 0xf4;

		bt_x87_get(cpu, 0, io.a, &exc);
		if (!exc && !bt_x87_empty(cpu, 7)) {
			if (!xtract)
				cpu->st.fx.fsw &= (u16)~FSW_C2;
			if (bt_x87_status(cpu, 0, 0, FSW_IE | FSW_SF, true)) {
				bt_x87_set(cpu, 0, bt_x87_indef);
				bt_x87_push(cpu, bt_x87_indef);
			}
			return;
		}
		bt_x87_host(modrm == 0xf2 ? X87_FPTAN : xtract ? X87_FXTRACT : X87_FSINCOS, &io);
		if (!bt_x87_status(cpu, io.sw, FSW_CC, exc, false))
			return;
		if (!exc && !xtract && (io.sw & FSW_C2)) /* out of range: nothing changes */
			return;
		if (exc) {
			memcpy(io.r0, bt_x87_indef, 10);
			memcpy(io.r1, bt_x87_indef, 10);
		}
		bt_x87_set(cpu, 0, io.r1);
		bt_x87_push(cpu, io.r0);
		return;
	}
	case 0xd0: /* FNOP */
		return;
	}
	bt_raise_ud(cpu);
}

/* FCMOVcc (DA/DB C0-DF): B E BE U and their negations, from CF ZF PF. */
static void bt_x87_fcmov(struct bt_cpu *cpu, unsigned op, unsigned reg, unsigned i)
{
	static const u8 cc[4] = { 0x2, 0x4, 0x6, 0xa }; /* Jcc condition numbers: B E BE P */
	u8 v[10];
	u16 exc = 0;
	bool take = bt_cond(cpu, cc[reg & 3] | (op == 3));

	bt_x87_get(cpu, 0, v, &exc);
	bt_x87_get(cpu, i, v, &exc);
	if (exc) {
		if (bt_x87_status(cpu, 0, 0, exc, false))
			bt_x87_set(cpu, 0, bt_x87_indef);
		return;
	}
	if (take)
		bt_x87_set(cpu, 0, cpu->st.fx.st[i]);
}

static void bt_x87_regform(struct bt_cpu *cpu, unsigned op, unsigned modrm)
{
	unsigned reg = (modrm >> 3) & 7, i = modrm & 7;
	u8 v[10];
	u16 exc = 0;

	switch (op) {
	case 0:
	case 4:
		bt_x87_reg_arith(cpu, op, reg, i);
		return;
	case 6:
		if (reg == 3 && i != 1)
			break;
		if (reg == 3) { /* FCOMPP */
			bt_x87_compare(cpu, X87_COM, 1, NULL, 2, false);
			return;
		}
		bt_x87_reg_arith(cpu, op, reg, i);
		return;
	case 1:
		if (reg == 0) { /* FLD ST(i) */
			bt_x87_get(cpu, i, v, &exc);
			if (exc) {
				if (bt_x87_status(cpu, 0, 0, exc, false))
					bt_x87_push(cpu, bt_x87_indef);
				return;
			}
			bt_x87_push_raw(cpu, v);
			return;
		}
		if (reg == 1) { /* FXCH */
			u8 a[10];

			bt_x87_get(cpu, 0, a, &exc);
			bt_x87_get(cpu, i, v, &exc);
			if (!bt_x87_status(cpu, 0, 0, exc, false))
				return;
			if (!exc)
				cpu->st.fx.fsw &= (u16)~FSW_C1;
			bt_x87_set(cpu, 0, v);
			bt_x87_set(cpu, i, a);
			return;
		}
		if (reg == 3) /* FSTP1 alias of FSTP ST(i) */
			goto fstp;
		bt_x87_d9(cpu, modrm);
		return;
	case 2:
		if (reg < 4) {
			bt_x87_fcmov(cpu, op, reg, i);
			return;
		}
		if (modrm == 0xe9) { /* FUCOMPP */
			bt_x87_compare(cpu, X87_UCOM, 1, NULL, 2, false);
			return;
		}
		break;
	case 3:
		if (reg < 4) {
			bt_x87_fcmov(cpu, op, reg, i);
			return;
		}
		if (reg == 5 || reg == 6) { /* FUCOMI, FCOMI */
			bt_x87_compare(cpu, reg == 5 ? X87_UCOM : X87_COM, i, NULL, 0, true);
			return;
		}
		if (modrm == 0xe2) { /* FNCLEX */
			cpu->st.fx.fsw &= (u16) ~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
			return;
		}
		if (modrm == 0xe3) { /* FNINIT */
			bt_x87_init(cpu);
			return;
		}
		if (modrm == 0xe0 || modrm == 0xe1 || modrm == 0xe4) /* FENI FDISI FSETPM: nops */
			return;
		break;
	case 5:
		switch (reg) {
		case 0: /* FFREE */
			bt_x87_set_tag(cpu, i, false);
			return;
		case 1: /* FXCH4 alias */
			bt_x87_regform(cpu, 1, 0xc8 | i);
			return;
		case 2: /* FST ST(i) */
		case 3: /* FSTP ST(i) */
fstp:
			bt_x87_get(cpu, 0, v, &exc);
			if (!bt_x87_status(cpu, 0, 0, exc, false))
				return;
			if (!exc)
				cpu->st.fx.fsw &= (u16)~FSW_C1;
			bt_x87_set(cpu, i, v);
			if (reg != 2)
				bt_x87_pop(cpu);
			return;
		case 4:
		case 5: /* FUCOM, FUCOMP */
			bt_x87_compare(cpu, X87_UCOM, i, NULL, reg == 5, false);
			return;
		}
		break;
	case 7:
		if (modrm == 0xe0) /* FNSTSW AX */
			return;
		if (reg == 5 || reg == 6) { /* FUCOMIP, FCOMIP */
			bt_x87_compare(cpu, reg == 5 ? X87_UCOM : X87_COM, i, NULL, 1, true);
			return;
		}
		if (reg == 0) { /* FFREEP */
			bt_x87_set_tag(cpu, i, false);
			bt_x87_rot_up(cpu);
			return;
		}
		if (reg == 1) /* FXCH7 alias */
			bt_x87_regform(cpu, 1, 0xc8 | i);
		else if (reg == 2 || reg == 3) /* FSTP8/FSTP9 aliases */
			bt_x87_regform(cpu, 5, 0xd8 | i);
		else
			break;
		return;
	}
	bt_raise_ud(cpu);
}

/* D8-DF: every x87 instruction. */
void bt_op_x87(struct bt_cpu *cpu, const struct bt_insn *in)
{
	unsigned op = in->opcode & 7, reg = in->modrm_reg & 7;
	unsigned modrm = 0xc0 | (reg << 3) | (in->rm & 7);
	bool mem = in->ea_kind != BT_EA_NONE, waiting = true;

	if (cpu->st.cr0 & 0xc) /* EM or TS (vol. 3A 2.5, table 2-2) */
		bt_raise(cpu, BT_EXC_NM, 0, false);
	if (mem)
		waiting = !((op == 1 || op == 5) && reg >= 6) && !(op == 1 && reg == 7);
	else
		waiting = !(op == 3 && (modrm == 0xe2 || modrm == 0xe3)) &&
			  !(op == 7 && modrm == 0xe0);
	if (waiting && (cpu->st.fx.fsw & FSW_ES) && (cpu->st.cr0 & 0x20))
		bt_raise(cpu, BT_EXC_MF, 0, false);
	if (mem) {
		bt_x87_mem(cpu, in, op, reg);
		return;
	}
	if (op == 7 && modrm == 0xe0) {
		bt_set_reg(cpu, CPU_RAX, 2, cpu->st.fx.fsw);
		return;
	}
	bt_x87_regform(cpu, op, modrm);
}

/* 9B WAIT/FWAIT: #NM with CR0.MP and TS, #MF for a pending unmasked exception. */
void bt_op_fwait(struct bt_cpu *cpu, const struct bt_insn *in)
{
	(void)in;
	if ((cpu->st.cr0 & 0xa) == 0xa)
		bt_raise(cpu, BT_EXC_NM, 0, false);
	if ((cpu->st.fx.fsw & FSW_ES) && (cpu->st.cr0 & 0x20))
		bt_raise(cpu, BT_EXC_MF, 0, false);
}
