// SPDX-License-Identifier: MIT
/*
 * Unit tests of the BT engine's paging (SDM vol. 3A chapter 4): page tables
 * are built in a test RAM and small code sequences (assembled by hand) run
 * under 4-level, PAE and 32-bit paging. Checked against the SDM: translations
 * of 4 KiB, 2 MiB and 4 MiB (PSE-36) pages, accessed and dirty flags (4.8),
 * #PF error codes and CR2 for not-present, write-protect, user, NX and
 * reserved-bit faults (4.7), CR0.WP, the TLB (4.10: a changed PTE is not
 * seen until INVLPG, global pages survive a CR3 load but not a CR4.PGE
 * toggle), a block whose last instruction crosses into a non-contiguous
 * physical page, self-modifying code through an alias mapping, code shared by three linear
 * addresses (decoded once), and MMIO
 * reached through paging with its physical address; dirty logging (the pages a store, an A/D
 * update or a loader write changed; a page only read is not reported; reading the log re-arms).
 *
 * The host CPU cannot be the oracle for privileged state, so the expected
 * values are written from the SDM.
 */
#include "bt-fallback/bt.h"
#include "bt-fallback/jit/jit.h"
#include "bt_test_mode.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define RAM_SIZE (16ull << 20)
#define TABLES	 0x100000ull /* page tables are bump-allocated from here */
#define STACK	 0x0ff000ull /* identity-mapped stack page */
#define MMIO_GPA 0xfee00000ull

#define P  (1ull << 0)
#define RW (1ull << 1)
#define US (1ull << 2)
#define A  (1ull << 5)
#define D  (1ull << 6)
#define PS (1ull << 7)
#define G  (1ull << 8)
#define XD (1ull << 63)

enum pg_kind {
	PG_32,	 /* 32-bit paging, CR4.PSE */
	PG_PAE,	 /* PAE paging, EFER.NXE */
	PG_LONG, /* 4-level paging, 64-bit code segment, EFER.NXE */
};

struct pg_fixture {
	struct bt_mem mem;
	struct bt_cpu *cpu;
	u8 *ram;
	u64 next_table, cr3;
	enum pg_kind kind;
	/* The last MMIO access. */
	u64 mmio_gpa, mmio_data;
	unsigned mmio_size, mmio_count;
	bool mmio_write;
};

static void pg_mmio(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct pg_fixture *f = opaque;

	(void)cpu;
	f->mmio_gpa = gpa;
	f->mmio_size = size;
	f->mmio_write = is_write;
	f->mmio_count++;
	if (is_write)
		memcpy(&f->mmio_data, data, size);
	else
		memcpy(data, "\x11\x22\x33\x44\x55\x66\x77\x88", size);
}

static int pg_setup(void **state)
{
	struct pg_fixture *f = calloc(1, sizeof(*f));
	struct bt_cpu_config cfg;

	if (!f)
		return -1;
	f->ram = aligned_alloc(4096, RAM_SIZE);
	if (!f->ram)
		return -1;
	memset(f->ram, 0xcc, RAM_SIZE);
	f->mem.mmio = pg_mmio;
	f->mem.io_opaque = f;
	if (bt_mem_map(&f->mem, 0, RAM_SIZE, f->ram, false))
		return -1;
	cfg = bt_test_config((struct bt_cpu_config){ .mem = &f->mem });
	if (bt_cpu_create(&cfg, &f->cpu, NULL))
		return -1;
	*state = f;
	return 0;
}

static int pg_teardown(void **state)
{
	struct pg_fixture *f = *state;

	bt_cpu_destroy(f->cpu);
	bt_mem_destroy(&f->mem);
	free(f->ram);
	free(f);
	return 0;
}

static u64 pg_alloc(struct pg_fixture *f)
{
	u64 p = f->next_table;

	f->next_table += 4096;
	memset(f->ram + p, 0, 4096);
	return p;
}

static u64 pg_rd(struct pg_fixture *f, u64 gpa, unsigned size)
{
	u64 v = 0;

	memcpy(&v, f->ram + gpa, size);
	return v;
}

static void pg_wr(struct pg_fixture *f, u64 gpa, unsigned size, u64 v)
{
	memcpy(f->ram + gpa, &v, size);
}

/*
 * Map lin to phys with the leaf flags; the upper levels get P|RW|US (or upper, if nonzero).
 * large: a 2 MiB (PAE, long) or 4 MiB (32-bit) page. Returns the leaf entry's physical address.
 */
static u64 pg_map_ex(struct pg_fixture *f, u64 lin, u64 phys, u64 flags, bool large, u64 upper)
{
	unsigned esize = f->kind == PG_32 ? 4 : 8, bits = f->kind == PG_32 ? 10 : 9;
	unsigned shift = f->kind == PG_32 ? 22 : f->kind == PG_PAE ? 21 : 39;
	u64 table = f->cr3;

	if (!upper)
		upper = P | RW | US;
	if (f->kind == PG_PAE) {
		u64 pdpte = (f->cr3 & ~31ull) + ((lin >> 30) & 3) * 8;

		if (!(pg_rd(f, pdpte, 8) & P))
			pg_wr(f, pdpte, 8, pg_alloc(f) | P);
		table = pg_rd(f, pdpte, 8) & 0xfffff000ull;
	}
	for (;;) {
		u64 ea = table + ((lin >> shift) & ((1u << bits) - 1)) * esize, e;

		if (shift == 12 || (large && shift == (f->kind == PG_32 ? 22u : 21u))) {
			pg_wr(f, ea, esize, phys | flags | (shift == 12 ? 0 : PS));
			return ea;
		}
		e = pg_rd(f, ea, esize);
		if (!(e & P)) {
			e = pg_alloc(f) | upper;
			pg_wr(f, ea, esize, e);
		}
		table = e & 0xffffffff000ull;
		shift -= bits;
	}
}

static u64 pg_map(struct pg_fixture *f, u64 lin, u64 phys, u64 flags)
{
	return pg_map_ex(f, lin, phys, flags, false, 0);
}

static void pg_seg(struct cpu_segment *s, u16 sel, u8 type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->s = 1;
	s->present = 1;
	s->dpl = sel & 3;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

/* Switch the CPU to CPL 3 (user) or 0 with flat segments of the paging kind's mode. */
static void pg_cpl(struct pg_fixture *f, bool user)
{
	struct bt_cpu *cpu = f->cpu;

	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		pg_seg(&cpu->st.seg[i], user ? 0x23 : 0x10, 3, false);
	pg_seg(&cpu->st.seg[CPU_CS], user ? 0x1b : 0x08, 0xb, f->kind == PG_LONG);
	bt_cpu_update_mode(cpu);
}

/* Fresh page tables and a CPU in the paging kind at CPL 0, the stack page identity-mapped. */
static void pg_init(struct pg_fixture *f, enum pg_kind kind)
{
	struct bt_cpu *cpu = f->cpu;

	f->kind = kind;
	f->next_table = TABLES;
	f->cr3 = pg_alloc(f);
	bt_cpu_reset(cpu);
	cpu->st.rflags = 2;
	cpu->exc_exit = true; /* exceptions end bt_run: no IDT here */
	cpu->st.cr0 = BT_CR0_PE | BT_CR0_ET | BT_CR0_WP | BT_CR0_PG;
	cpu->st.cr3 = f->cr3;
	cpu->st.cr4 = kind == PG_32 ? BT_CR4_PSE : BT_CR4_PAE;
	cpu->st.efer = kind == PG_32 ? 0 : BT_EFER_NXE;
	if (kind == PG_LONG)
		cpu->st.efer |= BT_EFER_LME | BT_EFER_LMA;
	bt_tlb_flush(cpu);
	pg_cpl(f, false);
	pg_map(f, STACK, STACK, P | RW | US);
	cpu->st.gpr[CPU_RSP] = STACK + 0x800;
}

/* Copy code to a physical address and run it from a linear one until it stops. */
static enum bt_exit pg_run(struct pg_fixture *f, u64 lin, u64 phys, const void *code, size_t len)
{
	if (code)
		assert_int_equal(bt_mem_write(&f->mem, phys, code, len), 0);
	f->cpu->st.rip = lin;
	return bt_run(f->cpu, 1000);
}

/* Run and expect a #PF with this error code and CR2, RIP left at the faulting instruction. */
static void pg_expect_pf(struct pg_fixture *f, u64 lin, u64 phys, const void *code, size_t len,
			 u32 error, u64 cr2, u64 rip)
{
	assert_int_equal(pg_run(f, lin, phys, code, len), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_PF);
	assert_true(f->cpu->exc.has_error);
	assert_int_equal(f->cpu->exc.error, error);
	assert_int_equal(f->cpu->st.cr2, cr2);
	assert_int_equal(f->cpu->st.rip, rip);
}

static void pg_expect_bp(struct pg_fixture *f, u64 lin, u64 phys, const void *code, size_t len)
{
	assert_int_equal(pg_run(f, lin, phys, code, len), BT_EXIT_EXCEPTION);
	assert_int_equal(f->cpu->exc.vector, BT_EXC_BP);
}

#define CODE_LIN  0x400000ull
#define CODE_PHYS 0x200000ull
#define DATA_LIN  0xffff800000123000ull
#define DATA_PHYS 0x300000ull

/* 4-level paging: a load and a store through a high kernel address; A and D bits. */
static void test_long_translate_ad(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* mov rax,[rbx]; mov [rbx+8],rcx; int3 */
	static const u8 code[] = { 0x48, 0x8b, 0x03, 0x48, 0x89, 0x4b, 0x08, 0xcc };
	u64 code_pte, data_pte, pml4e;

	pg_init(f, PG_LONG);
	code_pte = pg_map(f, CODE_LIN, CODE_PHYS, P);
	data_pte = pg_map(f, DATA_LIN, DATA_PHYS, P | RW);
	pg_wr(f, DATA_PHYS, 8, 0x1122334455667788ull);
	cpu->st.gpr[CPU_RBX] = DATA_LIN;
	cpu->st.gpr[CPU_RCX] = 0xabcdef;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, code, sizeof(code));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x1122334455667788ull);
	assert_int_equal(pg_rd(f, DATA_PHYS + 8, 8), 0xabcdef);
	/* A on every level used, D only on the written page's leaf (SDM vol. 3A 4.8). */
	assert_int_equal(pg_rd(f, code_pte, 8), CODE_PHYS | P | A);
	assert_int_equal(pg_rd(f, data_pte, 8), DATA_PHYS | P | RW | A | D);
	pml4e = f->cr3 + ((DATA_LIN >> 39) & 511) * 8;
	assert_true(pg_rd(f, pml4e, 8) & A);
	assert_false(pg_rd(f, pml4e, 8) & D);
}

/* #PF error codes (SDM vol. 3A 4.7) and CR2 for each kind of fault under 4-level paging. */
static void test_long_fault_codes(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x48, 0x8b, 0x03, 0xcc };  /* mov rax,[rbx]; int3 */
	static const u8 store[] = { 0x48, 0x89, 0x0b, 0xcc }; /* mov [rbx],rcx; int3 */
	static const u8 inc[] = { 0x48, 0xff, 0x03, 0xcc };   /* inc qword [rbx]; int3 */
	static const u8 jmp[] = { 0xff, 0xe3 };		      /* jmp rbx */
	const u64 ro = 0x600000, sup = 0x601000, nx = 0x602000, rsvd = 0x603000, np = 0x604000;

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P | US);
	pg_map(f, ro, 0x310000, P | US);
	pg_map(f, sup, 0x311000, P | RW);
	pg_map(f, nx, 0x312000, P | RW | US | XD);
	pg_map(f, rsvd, 0x313000 | (1ull << 45), P | RW | US); /* bit 45 >= MAXPHYADDR 40 */

	/* Not present, supervisor read: error 0. */
	cpu->st.gpr[CPU_RBX] = np + 8;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), 0, np + 8, CODE_LIN);
	/* Supervisor write to a read-only page with CR0.WP: P|W. */
	cpu->st.gpr[CPU_RBX] = ro;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_P | BT_PF_W, ro, CODE_LIN);
	/* Reserved bit in the PTE: P|RSVD, and P|W|RSVD for a write. */
	cpu->st.gpr[CPU_RBX] = rsvd + 0x10;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_RSVD, rsvd + 0x10,
		     CODE_LIN);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_P | BT_PF_W | BT_PF_RSVD,
		     rsvd + 0x10, CODE_LIN);
	/* Instruction fetch from an XD page with EFER.NXE: P|I/D, CR2 the target. */
	cpu->st.gpr[CPU_RBX] = nx + 0x20;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp), BT_PF_P | BT_PF_FETCH, nx + 0x20,
		     nx + 0x20);
	/* Fetch from a not-present page: I/D without P. */
	cpu->st.gpr[CPU_RBX] = np;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp), BT_PF_FETCH, np, np);

	/* CPL 3: a supervisor page is a protection fault with U; reads of user pages are fine. */
	pg_cpl(f, true);
	cpu->st.gpr[CPU_RBX] = sup + 4;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_U, sup + 4,
		     CODE_LIN);
	cpu->st.gpr[CPU_RBX] = ro;
	pg_wr(f, 0x310000, 8, 77);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 77);
	/* A read-modify-write of a read-only page faults as a write, before reading. */
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, inc, sizeof(inc), BT_PF_P | BT_PF_W | BT_PF_U, ro,
		     CODE_LIN);
	assert_int_equal(pg_rd(f, 0x310000, 8), 77);
	/* User fetch from an XD user page. */
	cpu->st.gpr[CPU_RBX] = nx;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp), BT_PF_P | BT_PF_U | BT_PF_FETCH, nx,
		     nx);
	/* Not present at CPL 3: U without P. */
	cpu->st.gpr[CPU_RBX] = np;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_W | BT_PF_U, np, CODE_LIN);
}

/* A page-crossing store checks both pages first; a fault on the second reports its start. */
static void test_cross_page_store(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 store[] = { 0x48, 0x89, 0x0b, 0xcc }; /* mov [rbx],rcx; int3 */

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pg_map(f, 0x700000, 0x320000, P | RW);
	pg_map(f, 0x701000, 0x340000, P); /* read-only, not contiguous */
	pg_wr(f, 0x320ff8, 8, 0);
	cpu->st.gpr[CPU_RBX] = 0x700ffc;
	cpu->st.gpr[CPU_RCX] = 0x8877665544332211ull;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_P | BT_PF_W, 0x701000,
		     CODE_LIN);
	assert_int_equal(pg_rd(f, 0x320ff8, 8), 0); /* nothing written */
	/* Writable second page (after INVLPG): the bytes split across the physical pages. */
	pg_map(f, 0x701000, 0x340000, P | RW);
	bt_tlb_flush_page(cpu, 0x701000);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(pg_rd(f, 0x320ffc, 4), 0x44332211);
	assert_int_equal(pg_rd(f, 0x340000, 4), 0x88776655);
}

/* CR0.WP = 0: supervisor writes to read-only pages succeed (and set D); user writes do not. */
static void test_wp(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* mov [rbx],rcx; mov rax,cr0; btr rax,16 (WP); mov cr0,rax; mov [rbx],rdx; int3 */
	static const u8 code[] = { 0x48, 0x89, 0x0b, 0x0f, 0x20, 0xc0, 0x48, 0x0f, 0xba,
				   0xf0, 0x10, 0x0f, 0x22, 0xc0, 0x48, 0x89, 0x13, 0xcc };
	static const u8 store[] = { 0x48, 0x89, 0x13, 0xcc }; /* mov [rbx],rdx; int3 */
	/* mov cr0,rax; mov [rbx],rdx; int3 */
	static const u8 set_wp[] = { 0x0f, 0x22, 0xc0, 0x48, 0x89, 0x13, 0xcc };
	u64 pte;

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P | US);
	pte = pg_map(f, 0x600000, 0x310000, P | US);
	cpu->st.gpr[CPU_RBX] = 0x600000;
	cpu->st.gpr[CPU_RCX] = 1;
	cpu->st.gpr[CPU_RDX] = 2;
	/* With WP the first store faults. */
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, code, sizeof(code), BT_PF_P | BT_PF_W, 0x600000,
		     CODE_LIN);
	/* Skip it: clear WP, then the store goes through. */
	cpu->st.rip = CODE_LIN + 3;
	assert_int_equal(bt_run(cpu, 100), BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_BP);
	assert_false(cpu->st.cr0 & BT_CR0_WP);
	assert_int_equal(pg_rd(f, 0x310000, 8), 2);
	assert_int_equal(pg_rd(f, pte, 8), 0x310000 | P | US | A | D);
	/* A user write still faults. */
	pg_cpl(f, true);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_P | BT_PF_W | BT_PF_U,
		     0x600000, CODE_LIN);
	/* Setting WP again flushes the write permission the supervisor TLB holds. */
	pg_cpl(f, false);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, store, sizeof(store));
	cpu->st.gpr[CPU_RAX] = cpu->st.cr0 | BT_CR0_WP;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, set_wp, sizeof(set_wp), BT_PF_P | BT_PF_W, 0x600000,
		     CODE_LIN + 3);
	assert_true(cpu->st.cr0 & BT_CR0_WP);
}

/* A block run at CPL 0 from a supervisor page is not reachable from CPL 3 (jump cache). */
static void test_user_jump_to_kernel_code(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 body[] = { 0xb8, 0x07, 0x00, 0x00, 0x00, 0xcc }; /* mov eax,7; int3 */
	static const u8 jmp[] = { 0xff, 0xe3 };				 /* jmp rbx */

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P | US);
	pg_map(f, 0x800000, 0x270000, P); /* supervisor code */
	cpu->st.gpr[CPU_RBX] = 0x800000;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0);
	pg_expect_bp(f, 0x800000, 0x270000, body, sizeof(body));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 7);
	cpu->st.gpr[CPU_RAX] = 0;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 7);
	cpu->st.gpr[CPU_RAX] = 0;
	pg_cpl(f, true);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, NULL, 0, BT_PF_P | BT_PF_U | BT_PF_FETCH, 0x800000,
		     0x800000);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0);
}

/* The TLB keeps a translation until INVLPG (SDM vol. 3A 4.10.4). */
static void test_invlpg_vs_stale_tlb(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x48, 0x8b, 0x03, 0xcc }; /* mov rax,[rbx]; int3 */
	u64 pte;

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pte = pg_map(f, 0x600000, 0x310000, P);
	pg_wr(f, 0x310000, 8, 111);
	pg_wr(f, 0x311000, 8, 222);
	cpu->st.gpr[CPU_RBX] = 0x600000;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 111);
	pg_wr(f, pte, 8, 0x311000 | P);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 111); /* stale, as on hardware */
	bt_tlb_flush_page(cpu, 0x600ff8);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 222);
	/* Not present now: the TLB keeps no not-present entries, INVLPG or not. */
	pg_wr(f, pte, 8, 0);
	bt_tlb_flush_page(cpu, 0x600000);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, NULL, 0, 0, 0x600000, CODE_LIN);
	pg_wr(f, pte, 8, 0x310000 | P);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 111);

	/* INVLPG of any address in a 2 MiB page drops all of it. */
	pg_map_ex(f, 0x40000000, 0x400000, P, true, 0);
	pg_wr(f, 0x400000 + 0x5000, 8, 333);
	pg_wr(f, 0x600000 + 0x5000, 8, 444);
	cpu->st.gpr[CPU_RBX] = 0x40005000;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 333);
	pg_map_ex(f, 0x40000000, 0x600000, P, true, 0);
	bt_tlb_flush_page(cpu, 0x40100000);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 444);
}

/*
 * INVLPG and code: a jump-cache entry (linear address to block) made stale by a TLB flush is
 * used again only if the address still translates to the block's pages: after an INVLPG of
 * another page without looking the block up again; not after the code's page, the page its
 * last instruction reaches into, or another 4 KiB piece of its 2 MiB page was remapped.
 */
static void test_invlpg_code(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 one[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcc }; /* mov eax,1; int3 */
	static const u8 two[] = { 0xb8, 0x02, 0x00, 0x00, 0x00, 0xcc };
	const u64 a = 0x500000, l = 0x40000000;
	u64 pte, pte2, misses;

	pg_init(f, PG_LONG);
	pte = pg_map(f, a, 0x280000, P);
	assert_int_equal(bt_mem_write(&f->mem, 0x290000, two, sizeof(two)), 0);
	pg_expect_bp(f, a, 0x280000, one, sizeof(one));
	pg_expect_bp(f, a, 0x280000, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	misses = cpu->cache.nr_jc_misses - cpu->cache.nr_jc_revalidated;
	bt_tlb_flush_page(cpu, 0x700000);
	pg_expect_bp(f, a, 0x280000, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	assert_true(cpu->cache.nr_jc_revalidated > 0);
	assert_int_equal(cpu->cache.nr_jc_misses - cpu->cache.nr_jc_revalidated, misses);
	pg_wr(f, pte, 8, 0x290000 | P);
	bt_tlb_flush_page(cpu, a + 0x800);
	pg_expect_bp(f, a, 0x290000, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2);

	/* mov eax, imm32 across the page end: its last two bytes come from the next page. */
	pte2 = pg_map(f, a + 0x1000, 0x2a0000, P);
	assert_int_equal(bt_mem_write(&f->mem, 0x290ffe, "\xb8\x07", 2), 0);
	assert_int_equal(bt_mem_write(&f->mem, 0x2a0000, "\x00\x00\x00\xcc", 4), 0);
	assert_int_equal(bt_mem_write(&f->mem, 0x2b0000, "\x00\x00\x01\xcc", 4), 0);
	pg_expect_bp(f, a + 0xffe, 0x290ffe, NULL, 0);
	pg_expect_bp(f, a + 0xffe, 0x290ffe, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 7);
	pg_wr(f, pte2, 8, 0x2b0000 | P);
	bt_tlb_flush_page(cpu, a + 0x1000);
	pg_expect_bp(f, a + 0xffe, 0x290ffe, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x01000007);

	/* A 2 MiB page: INVLPG of another 4 KiB piece of it. */
	pg_map_ex(f, l, 0x400000, P, true, 0);
	assert_int_equal(bt_mem_write(&f->mem, 0x603000, two, sizeof(two)), 0);
	pg_expect_bp(f, l + 0x3000, 0x403000, one, sizeof(one));
	pg_expect_bp(f, l + 0x3000, 0x403000, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	pg_map_ex(f, l, 0x600000, P, true, 0);
	bt_tlb_flush_page(cpu, l + 0x100000);
	pg_expect_bp(f, l + 0x3000, 0x603000, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2);
}

/* Global pages survive a CR3 load but not a CR4.PGE toggle (SDM vol. 3A 4.10.2.4, 4.10.4.1). */
static void test_global_pages(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* mov rax,[rbx]; mov rdx,[rsi]; int3 */
	static const u8 load[] = { 0x48, 0x8b, 0x03, 0x48, 0x8b, 0x16, 0xcc };
	/* mov rax,cr3; mov cr3,rax; mov rax,[rbx]; mov rdx,[rsi]; int3 */
	static const u8 reload[] = { 0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8, 0x48,
				     0x8b, 0x03, 0x48, 0x8b, 0x16, 0xcc };
	/* mov rax,cr4; xor rax,rcx; mov cr4,rax; xor rax,rcx; mov cr4,rax; loads; int3 */
	static const u8 toggle[] = { 0x0f, 0x20, 0xe0, 0x48, 0x31, 0xc8, 0x0f, 0x22,
				     0xe0, 0x48, 0x31, 0xc8, 0x0f, 0x22, 0xe0, 0x48,
				     0x8b, 0x03, 0x48, 0x8b, 0x16, 0xcc };
	u64 gpte, lpte;

	pg_init(f, PG_LONG);
	cpu->st.cr4 |= BT_CR4_PGE;
	pg_map(f, CODE_LIN, CODE_PHYS, P | G);
	pg_map(f, CODE_LIN + 0x1000, CODE_PHYS + 0x1000, P | G);
	pg_map(f, CODE_LIN + 0x2000, CODE_PHYS + 0x2000, P | G);
	gpte = pg_map(f, 0x600000, 0x310000, P | G);
	lpte = pg_map(f, 0x701000, 0x320000, P);
	pg_wr(f, 0x310000, 8, 1);
	pg_wr(f, 0x311000, 8, 2);
	pg_wr(f, 0x320000, 8, 3);
	pg_wr(f, 0x321000, 8, 4);
	cpu->st.gpr[CPU_RBX] = 0x600000;
	cpu->st.gpr[CPU_RSI] = 0x701000;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	assert_int_equal(cpu->st.gpr[CPU_RDX], 3);
	pg_wr(f, gpte, 8, 0x311000 | P | G);
	pg_wr(f, lpte, 8, 0x321000 | P);
	pg_expect_bp(f, CODE_LIN + 0x1000, CODE_PHYS + 0x1000, reload, sizeof(reload));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1); /* global: kept */
	assert_int_equal(cpu->st.gpr[CPU_RDX], 4); /* non-global: reloaded */
	cpu->st.gpr[CPU_RCX] = BT_CR4_PGE;
	pg_expect_bp(f, CODE_LIN + 0x2000, CODE_PHYS + 0x2000, toggle, sizeof(toggle));
	assert_true(cpu->st.cr4 & BT_CR4_PGE);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2);
}

/*
 * An instruction crossing from one linear page into the next, mapped to a physical page that is
 * not the next one; after remapping the second page the same first page gives the new bytes.
 */
static void test_block_crosses_pages(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 head[] = { 0x31, 0xc0, 0xb8, 0x11, 0x22 }; /* xor eax,eax; mov eax,imm32 */
	static const u8 tail_a[] = { 0x33, 0x44, 0xcc };	   /* ...imm32; int3 */
	static const u8 tail_b[] = { 0x55, 0x66, 0xcc };
	u64 start = CODE_LIN + 0x1000 - sizeof(head);

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pg_map(f, CODE_LIN + 0x1000, 0x250000, P);
	assert_int_equal(bt_mem_write(&f->mem, 0x250000, tail_a, sizeof(tail_a)), 0);
	assert_int_equal(bt_mem_write(&f->mem, 0x260000, tail_b, sizeof(tail_b)), 0);
	pg_expect_bp(f, start, CODE_PHYS + 0x1000 - sizeof(head), head, sizeof(head));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x44332211);
	assert_int_equal(cpu->st.rip, CODE_LIN + 0x1003);

	/* Writing the second physical page invalidates the block. */
	assert_int_equal(bt_mem_write(&f->mem, 0x250001, "\x45", 1), 0);
	pg_expect_bp(f, start, 0, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x45332211);

	/* Remap the second page: same first physical page, other second page. */
	pg_map(f, CODE_LIN + 0x1000, 0x260000, P);
	bt_tlb_flush_page(cpu, CODE_LIN + 0x1000);
	pg_expect_bp(f, start, 0, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x66552211);

	/* Second page not present: the fault is at the crossing instruction, CR2 its page. */
	pg_map(f, CODE_LIN + 0x1000, 0x260000, 0);
	bt_tlb_flush_page(cpu, CODE_LIN + 0x1000);
	pg_expect_pf(f, start, 0, NULL, 0, BT_PF_FETCH, CODE_LIN + 0x1000, start + 2);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0); /* the XOR before it ran */
}

/* Self-modifying code through an alias: write at one linear address, execute at another. */
static void test_smc_alias(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 body[] = { 0xb8, 0x01, 0x00, 0x00, 0x00, 0xcc }; /* mov eax,1; int3 */
	/* mov byte [rbx+1],2; jmp rcx */
	static const u8 patch[] = { 0xc6, 0x43, 0x01, 0x02, 0xff, 0xe1 };
	const u64 exec_lin = 0x500000, write_lin = 0x900000, patch_lin = 0xa00000;

	pg_init(f, PG_LONG);
	pg_map(f, exec_lin, 0x280000, P);
	pg_map(f, write_lin, 0x280000, P | RW | XD);
	pg_map(f, patch_lin, 0x290000, P);
	pg_expect_bp(f, exec_lin, 0x280000, body, sizeof(body));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 1);
	cpu->st.gpr[CPU_RBX] = write_lin;
	cpu->st.gpr[CPU_RCX] = exec_lin;
	pg_expect_bp(f, patch_lin, 0x290000, patch, sizeof(patch));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 2);
	assert_int_equal(cpu->st.rip, exec_lin + 6);
}

/*
 * One physical code page mapped at two linear addresses (a library in two processes with ASLR):
 * RIP-relative code sees the address it runs at, and under the JIT it runs compiled at both
 * (a block is translated per linear address; one found by its physical address alone was left
 * to the interpreter, its generated code being built for the other address).
 */
static void test_shared_code_two_addresses(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 code[] = { 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, 0xcc }; /* lea; int3 */
	const u64 lin[2] = { 0x500000, 0x7f0000601000 }, phys = 0x280000;

	pg_init(f, PG_LONG);
	pg_map(f, lin[0], phys, P);
	pg_map(f, lin[1], phys, P);
	assert_int_equal(bt_mem_write(&f->mem, phys, code, sizeof(code)), 0);
	for (unsigned round = 0; round < 40; round++) {
		u64 at = lin[round & 1];

		pg_expect_bp(f, at, phys, NULL, 0);
		assert_int_equal(cpu->st.gpr[CPU_RAX], at + 7);
	}
	if (cpu->jit) {
		assert_int_equal(cpu->jit->nr_interp[BT_JIT_INTERP_MODE], 0);
		assert_true(cpu->jit->nr_compiled >= 2);
	}
}

/*
 * The same code page at a third address (the library in the next process): the new block copies
 * the decoded instructions of the one at another address, and runs (compiled too) at its own; a
 * write to the page ends the sharing.
 */
static void test_shared_code_aliased(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 code[] = { 0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, 0xcc }; /* lea; int3 */
	const u64 lin[3] = { 0x500000, 0x7f0000601000, 0x7f1234567000 }, phys = 0x280000;
	u64 aliased;

	pg_init(f, PG_LONG);
	for (unsigned i = 0; i < 3; i++)
		pg_map(f, lin[i], phys, P);
	assert_int_equal(bt_mem_write(&f->mem, phys, code, sizeof(code)), 0);
	for (unsigned round = 0; round < 20; round++) {
		pg_expect_bp(f, lin[0], phys, NULL, 0);
		assert_int_equal(cpu->st.gpr[CPU_RAX], lin[0] + 7);
	}
	aliased = cpu->cache.nr_aliased;
	for (unsigned round = 0; round < 20; round++) {
		pg_expect_bp(f, lin[1], phys, NULL, 0);
		assert_int_equal(cpu->st.gpr[CPU_RAX], lin[1] + 7);
	}
	assert_int_equal(cpu->cache.nr_aliased, aliased + 1);
	if (cpu->jit)
		assert_int_equal(cpu->jit->nr_interp[BT_JIT_INTERP_MODE], 0);
	/* Rewritten (mov eax, 5; int3): the block at lin[2] is decoded from the new bytes. */
	assert_int_equal(bt_mem_write(&f->mem, phys, "\xb8\x05\x00\x00\x00\xcc", 6), 0);
	pg_expect_bp(f, lin[2], phys, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 5);
	assert_int_equal(cpu->cache.nr_aliased, aliased + 1);
	pg_expect_bp(f, lin[0], phys, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 5);
}

/* MMIO through paging: the machine sees the physical address. */
static void test_mmio_through_paging(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* mov eax,[rbx+0x30]; mov [rbx+0x80],ecx; int3 */
	static const u8 code[] = { 0x8b, 0x43, 0x30, 0x89, 0x8b, 0x80, 0x00, 0x00, 0x00, 0xcc };

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pg_map(f, 0xffffffffff5fb000ull, MMIO_GPA, P | RW);
	cpu->st.gpr[CPU_RBX] = 0xffffffffff5fb000ull;
	cpu->st.gpr[CPU_RCX] = 0xcafe;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, code, sizeof(code));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x44332211);
	assert_int_equal(f->mmio_count, 2);
	assert_true(f->mmio_write);
	assert_int_equal(f->mmio_gpa, MMIO_GPA + 0x80);
	assert_int_equal(f->mmio_size, 4);
	assert_int_equal(f->mmio_data, 0xcafe);
	/* Again, through the TLB entry now cached. */
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(f->mmio_count, 4);
	assert_int_equal(f->mmio_gpa, MMIO_GPA + 0x80);
}

/* 32-bit paging: 4 KiB and 4 MiB pages, PSE-36 bits, no XD, fetch faults without I/D. */
static void test_paging_32(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x8b, 0x03, 0xcc };	/* mov eax,[ebx]; int3 */
	static const u8 store[] = { 0x89, 0x0b, 0xcc }; /* mov [ebx],ecx; int3 */
	static const u8 jmp[] = { 0xff, 0xe3 };		/* jmp ebx */
	u64 pde;

	pg_init(f, PG_32);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_PROT32);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	/* 4 MiB page at 0x80000000 -> 0x00c00000. */
	pde = pg_map_ex(f, 0x80000000u, 0xc00000, P | RW, true, 0);
	pg_wr(f, 0xc01234, 4, 0xdeadbeef);
	cpu->st.gpr[CPU_RBX] = 0x80001234;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0xdeadbeef);
	assert_int_equal(pg_rd(f, pde, 4), 0xc00000 | P | RW | PS | A);
	cpu->st.gpr[CPU_RCX] = 5;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, store, sizeof(store));
	assert_int_equal(pg_rd(f, pde, 4), 0xc00000 | P | RW | PS | A | D);
	/* PSE-36: PDE bits 20:13 are physical bits 39:32: 0x12_0040_0000 is MMIO. */
	pg_map_ex(f, 0x84000000u, 0x400000 | (0x12ull << 13), P | RW, true, 0);
	cpu->st.gpr[CPU_RBX] = 0x84000010;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(f->mmio_gpa, 0x1200400010ull);
	/* Bit 21 of a 4 MiB PDE is reserved (MAXPHYADDR 40). */
	pg_map_ex(f, 0x88000000u, 0x400000 | (1u << 21), P | RW, true, 0);
	cpu->st.gpr[CPU_RBX] = 0x88000000;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_RSVD, 0x88000000,
		     CODE_LIN);
	/* Without CR4.PSE the PS bit is ignored: the PDE points to a page table. */
	cpu->st.cr4 &= ~BT_CR4_PSE;
	bt_tlb_flush(cpu);
	cpu->st.gpr[CPU_RBX] = 0x80001234;
	memset(f->ram + 0xc00000, 0, 8); /* PT entries 0, 1: not present */
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), 0, 0x80001234, CODE_LIN);
	cpu->st.cr4 |= BT_CR4_PSE;
	bt_tlb_flush(cpu);
	/* A fetch from a not-present page: no I/D bit without PAE and NXE. */
	cpu->st.gpr[CPU_RBX] = 0x700000;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp), 0, 0x700000, 0x700000);
	/* User access to a supervisor 4 KiB page. */
	pg_map(f, CODE_LIN, CODE_PHYS, P | US);
	pg_map(f, 0x700000, 0x330000, P | RW);
	bt_tlb_flush(cpu);
	pg_cpl(f, true);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, store, sizeof(store), BT_PF_P | BT_PF_W | BT_PF_U,
		     0x700000, CODE_LIN);
}

/* PAE paging: 2 MiB pages, XD with NXE, reserved PDPTE bits. */
static void test_paging_pae(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x8b, 0x03, 0xcc }; /* mov eax,[ebx]; int3 */
	static const u8 jmp[] = { 0xff, 0xe3 };	       /* jmp ebx */
	/* mov cr3,eax; int3 */
	static const u8 load_cr3[] = { 0x0f, 0x22, 0xd8, 0xcc };
	u64 pdpt_bad;

	pg_init(f, PG_PAE);
	assert_int_equal(bt_cpu_mode(cpu), BT_MODE_PROT32);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pg_map_ex(f, 0xc0200000u, 0xa00000, P | RW | XD, true, 0);
	pg_wr(f, 0xa54321, 4, 0x600df00d);
	cpu->st.gpr[CPU_RBX] = 0xc0254321;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x600df00d);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, jmp, sizeof(jmp), BT_PF_P | BT_PF_FETCH, 0xc0254321,
		     0xc0254321);
	/* Without NXE, bit 63 is reserved. */
	cpu->st.efer &= ~BT_EFER_NXE;
	bt_tlb_flush(cpu);
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_RSVD, 0xc0254321,
		     CODE_LIN);
	/* Bits 20:13 of a 2 MiB PDE are reserved. */
	cpu->st.efer |= BT_EFER_NXE;
	pg_map_ex(f, 0xc0400000u, 0xa00000 | (1u << 13), P | RW, true, 0);
	bt_tlb_flush(cpu);
	cpu->st.gpr[CPU_RBX] = 0xc0400000;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_RSVD, 0xc0400000,
		     CODE_LIN);
	/* MOV CR3 to a PDPT with a reserved bit in a present entry: #GP(0), CR3 unchanged. */
	pdpt_bad = 0x1f0000;
	memcpy(f->ram + pdpt_bad, f->ram + f->cr3, 32);
	pg_wr(f, pdpt_bad + 24, 8, 0x1e0000 | P | RW); /* RW (bit 1) is reserved in a PDPTE */
	cpu->st.gpr[CPU_RAX] = pdpt_bad;
	assert_int_equal(pg_run(f, CODE_LIN, CODE_PHYS, load_cr3, sizeof(load_cr3)),
			 BT_EXIT_EXCEPTION);
	assert_int_equal(cpu->exc.vector, BT_EXC_GP);
	assert_int_equal(cpu->exc.error, 0);
	assert_int_equal(cpu->st.cr3, f->cr3);
	pg_wr(f, pdpt_bad + 24, 8, 0x1e0000 | P);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.cr3, pdpt_bad);
}

/* Implicit supervisor accesses (descriptor tables) ignore CPL: bt_ld_lin at CPL 3. */
static void test_implicit_supervisor(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x48, 0x8b, 0x03, 0xcc }; /* mov rax,[rbx]; int3 */

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P | US);
	pg_map(f, 0x600000, 0x310000, P);
	pg_wr(f, 0x310008, 8, 0x1234);
	pg_cpl(f, true);
	/* The user TLB must not serve the supervisor translation, nor the reverse. */
	assert_int_equal(bt_ld_lin(cpu, 0x600008, 8), 0x1234);
	cpu->st.gpr[CPU_RBX] = 0x600008;
	pg_expect_pf(f, CODE_LIN, CODE_PHYS, load, sizeof(load), BT_PF_P | BT_PF_U, 0x600008,
		     CODE_LIN);
	assert_int_equal(bt_ld_lin(cpu, 0x600008, 8), 0x1234);
	pg_cpl(f, false);
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x1234);
}

/* Paging off (CR0.PG = 0): linear = physical, including MMIO. */
static void test_paging_off(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	static const u8 load[] = { 0x8b, 0x03, 0xcc }; /* mov eax,[ebx]; int3 */

	pg_init(f, PG_32);
	cpu->st.cr0 &= ~BT_CR0_PG;
	bt_tlb_flush(cpu);
	pg_wr(f, 0x345678, 4, 0x13579bdf);
	cpu->st.gpr[CPU_RBX] = 0x345678;
	pg_expect_bp(f, 0x123000, 0x123000, load, sizeof(load));
	assert_int_equal(cpu->st.gpr[CPU_RAX], 0x13579bdf);
	cpu->st.gpr[CPU_RBX] = MMIO_GPA + 0x20;
	pg_expect_bp(f, 0x123000, 0x123000, NULL, 0);
	assert_int_equal(f->mmio_gpa, MMIO_GPA + 0x20);
}

struct pg_ad_race {
	struct pg_fixture *f;
	bool stop;
};

static void *pg_ad_cpu(void *arg)
{
	struct pg_ad_race *r = arg;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE))
		bt_run(r->f->cpu, 100000);
	return NULL;
}

/*
 * The CPU sets A and D with atomic ORs (SDM vol. 3A 4.8): while it stores and INVLPGs in a loop,
 * another thread clears A/D (as Linux's page aging does) and counts in bits 58:52 of the same
 * PTE (ignored by the walk) with atomic adds. No count may be lost. The test runs until the CPU
 * has set D again a few thousand times (or 20 s), so the two really raced.
 */
static void test_ad_bits_atomic(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* loop: mov [rbx],eax; invlpg [rbx]; jmp loop */
	static const u8 code[] = { 0x89, 0x03, 0x0f, 0x01, 0x3b, 0xeb, 0xf9 };
	const u64 one = 1ull << 52;
	struct pg_ad_race r = { .f = f };
	unsigned long adds = 0, dirtied = 0;
	struct timespec t0, t1;
	u64 *pte, v;
	pthread_t t;

	pg_init(f, PG_LONG);
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	pte = (u64 *)(f->ram + pg_map(f, 0x600000, 0x310000, P | RW));
	assert_int_equal(bt_mem_write(&f->mem, CODE_PHYS, code, sizeof(code)), 0);
	cpu->st.rip = CODE_LIN;
	cpu->st.gpr[CPU_RBX] = 0x600000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pthread_create(&t, NULL, pg_ad_cpu, &r), 0);
	do {
		__atomic_fetch_add(pte, one, __ATOMIC_RELAXED);
		if (++adds % 128 == 0)
			__atomic_fetch_sub(pte, 128 * one, __ATOMIC_RELAXED);
		if (__atomic_fetch_and(pte, ~(A | D), __ATOMIC_RELAXED) & D)
			dirtied++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (dirtied < 5000 && t1.tv_sec - t0.tv_sec < 20);
	__atomic_store_n(&r.stop, true, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	v = __atomic_load_n(pte, __ATOMIC_RELAXED);
	print_message("%lu counts, D set again %lu times\n", adds, dirtied);
	assert_true(dirtied > 0);
	assert_int_equal((v >> 52) & 0x7f, adds % 128);
	assert_int_equal(v & ~(A | D | (0x7full << 52)), 0x310000 | P | RW);
}

static bool log_bit(const unsigned long *map, u64 gpa)
{
	u64 p = gpa / 4096;

	return map[p / (8 * sizeof(long))] & (1ul << (p % (8 * sizeof(long))));
}

static unsigned log_count(const unsigned long *map)
{
	unsigned n = 0;

	for (unsigned i = 0; i < RAM_SIZE / 4096 / (8 * sizeof(long)); i++)
		n += (unsigned)__builtin_popcountl(map[i]);
	return n;
}

/* Dirty logging (bt_mem_log_dirty, bt_mem_dirty_log) under 4-level paging. */
static void test_dirty_log(void **state)
{
	struct pg_fixture *f = *state;
	struct bt_cpu *cpu = f->cpu;
	/* mov rax,[rbx]; mov [rbx+8],rcx; mov rdx,[rsi]; int3 */
	static const u8 code[] = {
		0x48, 0x8b, 0x03, 0x48, 0x89, 0x4b, 0x08, 0x48, 0x8b, 0x16, 0xcc
	};
	static unsigned long map[RAM_SIZE / 4096 / (8 * sizeof(long))];
	u64 data_pte, pte_700;

	pg_init(f, PG_LONG);
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE, map), -EINVAL); /* not logged */
	pg_map(f, CODE_LIN, CODE_PHYS, P);
	/* Already accessed and dirty: a read fill could cache write permission for it. */
	data_pte = pg_map(f, DATA_LIN, DATA_PHYS, P | RW | A | D);
	pte_700 = pg_map(f, 0x700000, 0x320000, P | RW);
	assert_int_equal(bt_mem_log_dirty(&f->mem, 0, true), 0);
	cpu->st.gpr[CPU_RBX] = DATA_LIN;
	cpu->st.gpr[CPU_RSI] = 0x700000;
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, code, sizeof(code));
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE, map), 0);
	assert_true(log_bit(map, DATA_PHYS)); /* the store, after a load from the page */
	assert_false(log_bit(map, 0x320000)); /* only read */
	assert_true(log_bit(map, CODE_PHYS)); /* bt_mem_write put the code there */
	assert_true(log_bit(map, f->cr3));    /* the walks set A in the PML4 */
	assert_true(log_bit(map, pte_700));   /* ... and in the PTE of the page only read */
	assert_false(log_bit(map, data_pte)); /* its A and D were set already */
	assert_false(log_bit(map, STACK));
	/* Read again: nothing new. */
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE, map), 0);
	assert_int_equal(log_count(map), 0);
	/* The same code again (its TLB entries cached): only the stored page, through a new fill. */
	pg_expect_bp(f, CODE_LIN, CODE_PHYS, NULL, 0);
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE, map), 0);
	assert_true(log_bit(map, DATA_PHYS));
	assert_int_equal(log_count(map), 1);
	/* Part of the region; an unaligned or outside range is refused. */
	assert_int_equal(bt_mem_dirty_log(&f->mem, DATA_PHYS, 4096, map), 0);
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0x10, 4096, map), -EINVAL);
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE + 4096, map), -ENOENT);
	assert_int_equal(bt_mem_log_dirty(&f->mem, 0x1000, true), -ENOENT);
	assert_int_equal(bt_mem_log_dirty(&f->mem, 0, false), 0);
	assert_int_equal(bt_mem_dirty_log(&f->mem, 0, RAM_SIZE, map), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
// clang-format off
#define T(t) cmocka_unit_test_setup_teardown(t, pg_setup, pg_teardown)
		T(test_long_translate_ad),
		T(test_long_fault_codes),
		T(test_cross_page_store),
		T(test_wp),
		T(test_user_jump_to_kernel_code),
		T(test_invlpg_vs_stale_tlb),
		T(test_global_pages),
		T(test_block_crosses_pages),
		T(test_smc_alias),
		T(test_shared_code_two_addresses),
		T(test_shared_code_aliased),
		T(test_invlpg_code),
		T(test_mmio_through_paging),
		T(test_paging_32),
		T(test_paging_pae),
		T(test_implicit_supervisor),
		T(test_paging_off),
		T(test_ad_bits_atomic),
		T(test_dirty_log),
#undef T
		// clang-format on
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
