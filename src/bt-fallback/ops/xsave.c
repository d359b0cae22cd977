// SPDX-License-Identifier: MIT
/*
 * The XSAVE feature set (SDM vol. 1 chapter 13, vol. 2 XSAVE/XSAVEOPT/XSAVEC/XRSTOR): the
 * x87 (component 0), SSE (1: XMM0-15 and MXCSR) and AVX (2: the upper halves of YMM0-15) state
 * components as XCR0 enables them, in the standard format (legacy area as FXSAVE writes it,
 * 64-byte header at 512, AVX at 576) and the compacted one (the same offsets for these three
 * components; XCOMP_BV bit 63 set).
 *
 * XINUSE, the in-use bitmap of 13.6, is computed from the registers: a component is in use
 * when it differs from its initial configuration (x87: FCW 037FH, FSW 0, all tags empty, FOP,
 * FIP, FDP and the registers zero; SSE: the XMM registers zero; AVX: the upper halves zero),
 * which the SDM allows (a processor may also report in use a component that is initial).
 * XSAVEOPT uses the init optimisation only (13.9): a component not in use is not written.
 * MXCSR travels with SSE or AVX: the standard forms save and load it when RFBM[1] or RFBM[2]
 * (13.7, 13.8.1), the compacted XRSTOR loads it only with the SSE component's data.
 *
 * Outside 64-bit mode only XMM0-7 and YMM0-7 are saved and restored (the image's bytes for
 * registers 8-15 are left alone).
 *
 * Not implemented (not advertised): XSAVES/XRSTORS and supervisor components (IA32_XSS),
 * XGETBV with ECX = 1. x87 pointers (FIP, FDP, FOP) are not tracked and save as zero.
 */
#include "bt-fallback/ops/ops.h"

#include <string.h>

#define BT_XS_HDR	  512
#define BT_XS_AVX	  576
#define BT_XS_SIZE	  832
#define BT_XS_COMPACTED	  (1ull << 63)
#define BT_MXCSR_RESERVED 0xffff0000u

/* #UD without the feature or CR4.OSXSAVE (and with LOCK: the decoder's), #NM with CR0.TS. */
static void bt_xsave_check(struct bt_cpu *cpu, const struct bt_insn *in, enum cpu_feature f)
{
	if (!bt_has(cpu, CPU_F_XSAVE) || !bt_has(cpu, f) || !(cpu->st.cr4 & BT_CR4_OSXSAVE) ||
	    in->ea_kind == BT_EA_NONE)
		bt_raise_ud(cpu);
	if (cpu->st.cr0 & BT_CR0_TS)
		bt_raise(cpu, BT_EXC_NM, 0, false);
}

static bool bt_xsave_zero(const void *p, size_t n)
{
	const u8 *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* XINUSE[2:0] from the registers (see the top of the file). */
static u64 bt_xsave_inuse(const struct bt_cpu *cpu)
{
	const struct cpu_fxsave *fx = &cpu->st.fx;
	u64 in = 0;
	bool st_zero = true;

	for (unsigned i = 0; i < 8; i++)
		st_zero = st_zero && bt_xsave_zero(fx->st[i], 10);
	if (fx->fcw != 0x37f || fx->fsw || fx->ftw || fx->fop || fx->fip || fx->fdp || !st_zero)
		in |= 1;
	if (!bt_xsave_zero(fx->xmm, sizeof(fx->xmm)))
		in |= 2;
	if (!bt_xsave_zero(cpu->st.ymmh, sizeof(cpu->st.ymmh)))
		in |= 4;
	return in;
}

/* How many XMM/YMM registers the mode saves and restores: 16 in 64-bit mode, else 8. */
static unsigned bt_xsave_nregs(const struct bt_cpu *cpu)
{
	return bt_cpu_mode(cpu) == BT_MODE_LONG64 ? 16 : 8;
}

/* The requested-feature bitmap: EDX:EAX and XCR0. */
static u64 bt_xsave_rfbm(const struct bt_cpu *cpu)
{
	return ((cpu->st.gpr[CPU_RDX] << 32) | (cpu->st.gpr[CPU_RAX] & 0xffffffffu)) & cpu->st.xcr0;
}

/* Store bytes [from, to) of img at off (8-byte pieces; the area was probed). */
static void bt_xsave_put(struct bt_cpu *cpu, const struct bt_insn *in, u64 off, const u8 *img,
			 unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i += 8) {
		u64 q;

		memcpy(&q, img + i, 8);
		bt_st(cpu, in->seg, (off + i) & bt_mask(in->asz), 8, q);
	}
}

static void bt_xsave_get(struct bt_cpu *cpu, const struct bt_insn *in, u64 off, u8 *img,
			 unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i += 8) {
		u64 q = bt_ld(cpu, in->seg, (off + i) & bt_mask(in->asz), 8);

		memcpy(img + i, &q, 8);
	}
}

enum bt_xsave_kind {
	BT_XSAVE,
	BT_XSAVEOPT,
	BT_XSAVEC,
};

static void bt_xsave_common(struct bt_cpu *cpu, const struct bt_insn *in, enum bt_xsave_kind kind)
{
	u64 off = bt_ea_off(cpu, in), rfbm = bt_xsave_rfbm(cpu), inuse = bt_xsave_inuse(cpu);
	u64 save = kind == BT_XSAVE ? rfbm : rfbm & inuse, bv;
	unsigned nr = bt_xsave_nregs(cpu);
	u8 img[BT_XS_SIZE];

	if (bt_ea(cpu, in) & 63)
		bt_raise_gp0(cpu);
	/* Everything that may be written must be writable before anything is. */
	bt_probe_st(cpu, in->seg, off, BT_XS_AVX);
	if (rfbm & 4)
		bt_probe_st(cpu, in->seg, (off + BT_XS_AVX) & bt_mask(in->asz), 256);
	bt_xsave_get(cpu, in, off, img, BT_XS_HDR, BT_XS_HDR + 8);
	memcpy(img, &cpu->st.fx, 512);
	img[5] = 0;		/* reserved */
	memset(img + 6, 0, 18); /* FOP, FIP, FDP: not tracked */
	memcpy(img + BT_XS_AVX, cpu->st.ymmh, 256);
	if (kind == BT_XSAVEC) {
		bv = rfbm & inuse;
	} else {
		memcpy(&bv, img + BT_XS_HDR, 8);
		bv = (bv & ~rfbm) | (rfbm & inuse);
	}
	if (save & 1) {
		bt_xsave_put(cpu, in, off, img, 0, 24);
		bt_xsave_put(cpu, in, off, img, 32, 160);
	}
	if ((kind == BT_XSAVEC ? rfbm & 2 : rfbm & 6)) {
		u64 mx = (u64)cpu->st.fx.mxcsr | (u64)0xffff << 32; /* MXCSR, MXCSR_MASK */

		bt_st(cpu, in->seg, (off + 24) & bt_mask(in->asz), 8, mx);
	}
	if (save & 2)
		bt_xsave_put(cpu, in, off, img, 160, 160 + 16 * nr);
	if (save & 4)
		bt_xsave_put(cpu, in, off, img, BT_XS_AVX, BT_XS_AVX + 16 * nr);
	bt_st(cpu, in->seg, (off + BT_XS_HDR) & bt_mask(in->asz), 8, bv);
	if (kind == BT_XSAVEC)
		bt_st(cpu, in->seg, (off + BT_XS_HDR + 8) & bt_mask(in->asz), 8,
		      BT_XS_COMPACTED | rfbm);
}

/* 0F AE /4 XSAVE, /6 XSAVEOPT. */
void bt_op_xsave(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bool opt = in->modrm_reg == 6;

	bt_xsave_check(cpu, in, opt ? CPU_F_XSAVEOPT : CPU_F_XSAVE);
	bt_xsave_common(cpu, in, opt ? BT_XSAVEOPT : BT_XSAVE);
}

/* 0F C7 /4 XSAVEC. */
void bt_op_xsavec(struct bt_cpu *cpu, const struct bt_insn *in)
{
	bt_xsave_check(cpu, in, CPU_F_XSAVEC);
	bt_xsave_common(cpu, in, BT_XSAVEC);
}

/* The initial configuration of component i (13.6). */
static void bt_xsave_init_component(struct bt_cpu *cpu, unsigned i)
{
	struct cpu_fxsave *fx = &cpu->st.fx;

	if (i == 0) {
		fx->fcw = 0x37f;
		fx->fsw = 0;
		fx->ftw = 0;
		fx->fop = 0;
		fx->fip = fx->fdp = 0;
		memset(fx->st, 0, sizeof(fx->st));
	} else if (i == 1) {
		memset(fx->xmm, 0, 16 * bt_xsave_nregs(cpu));
	} else {
		memset(cpu->st.ymmh, 0, 16 * bt_xsave_nregs(cpu));
	}
}

/* 0F AE /5 XRSTOR, standard or compacted form by XCOMP_BV bit 63 (13.8). */
void bt_op_xrstor(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 off, rfbm, hdr[8], bv, comp, mx;
	bool compacted, mx_load;
	u8 img[BT_XS_SIZE];

	bt_xsave_check(cpu, in, CPU_F_XSAVE);
	off = bt_ea_off(cpu, in);
	rfbm = bt_xsave_rfbm(cpu);
	if (bt_ea(cpu, in) & 63)
		bt_raise_gp0(cpu);
	for (unsigned i = 0; i < 8; i++)
		hdr[i] = bt_ld(cpu, in->seg, (off + BT_XS_HDR + 8 * i) & bt_mask(in->asz), 8);
	bv = hdr[0];
	comp = hdr[1];
	compacted = comp & BT_XS_COMPACTED;
	if (compacted) {
		if (!bt_has(cpu, CPU_F_XSAVEC) || (comp & ~BT_XS_COMPACTED & ~cpu->st.xcr0) ||
		    (bv & ~comp) || hdr[2] | hdr[3] | hdr[4] | hdr[5] | hdr[6] | hdr[7])
			bt_raise_gp0(cpu);
	} else if ((bv & ~cpu->st.xcr0) || comp || hdr[2]) {
		bt_raise_gp0(cpu);
	}
	bt_xsave_get(cpu, in, off, img, 0, 512);
	/*
	 * The AVX area is read (and may fault) for RFBM[2] in the standard form even when
	 * XSTATE_BV[2] asks for the initial state, in the compacted form only when the component is
	 * loaded from memory: what the AMD EPYC host of the differential suite does (an area whose
	 * AVX part crosses into an unmapped page).
	 */
	if (compacted ? rfbm & bv & 4 : rfbm & 4)
		bt_xsave_get(cpu, in, off, img, BT_XS_AVX, BT_XS_SIZE);
	memcpy(&mx, img + 24, 8);
	mx_load = compacted ? (rfbm & bv & 2) != 0 : (rfbm & 6) != 0;
	if (mx_load && ((u32)mx & BT_MXCSR_RESERVED))
		bt_raise_gp0(cpu);
	/* Nothing faults from here on: commit. */
	for (unsigned i = 0; i < 3; i++) {
		if (!(rfbm & (1ull << i)))
			continue;
		if (!(bv & (1ull << i))) {
			bt_xsave_init_component(cpu, i);
			continue;
		}
		if (i == 0) {
			struct cpu_fxsave *fx = &cpu->st.fx;

			memcpy(&fx->fcw, img, 2);
			memcpy(&fx->fsw, img + 2, 2);
			fx->ftw = img[4];
			memcpy(&fx->fop, img + 6, 2);
			memcpy(&fx->fip, img + 8, 8);
			memcpy(&fx->fdp, img + 16, 8);
			memcpy(fx->st, img + 32, 128);
			bt_x87_loaded(cpu);
		} else if (i == 1) {
			memcpy(cpu->st.fx.xmm, img + 160, 16 * bt_xsave_nregs(cpu));
		} else {
			memcpy(cpu->st.ymmh, img + BT_XS_AVX, 16 * bt_xsave_nregs(cpu));
		}
	}
	if (mx_load)
		cpu->st.fx.mxcsr = (u32)mx;
	else if (compacted && (rfbm & 2))
		cpu->st.fx.mxcsr = 0x1f80;
}
