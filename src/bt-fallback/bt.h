/* SPDX-License-Identifier: MIT */
/*
 * The BT engine's internal interface: CPU state, the softmmu seam, the
 * compact decoded-instruction form, the decoded-block cache and the
 * executor: an interpreter over a decoded-block cache keyed by physical
 * address, and a JIT tier for hot 64-bit blocks (jit/jit.h, docs/bt-jit.md).
 *
 * References: Intel SDM vol. 2 chapter 2 (instruction format: prefixes,
 * REX, ModRM, SIB, displacement, immediate; 15-byte limit in 2.3.11),
 * vol. 2 appendix A (opcode maps), vol. 1 chapter 3.4.3 (EFLAGS), vol. 3A
 * chapter 6 (exception vectors and error codes), chapter 20 (real-address
 * mode interrupt delivery through the IVT).
 *
 * No global state: every piece of mutable state hangs off struct bt_cpu or
 * struct bt_mem, so several CPUs can live in one process. One CPU is used by
 * one thread at a time.
 *
 * Segmentation, privilege checks, far transfers and task switches are in
 * seg.c and ops/ctrl.c, event delivery (IDT, IST, double fault, INTR, NMI)
 * in intr.c, system instructions in ops/sys.c (SDM vol. 3A chapters 3, 5,
 * 6, 7). Paging (32-bit, PAE, 4-level) and the TLB are in mmu.c, control
 * registers, MSRs and the TSC in sysreg.c and ops/sysreg_ops.c, the CPUID
 * model in cpuid.c (SDM vol. 3A chapters 2 and 4, vol. 4).
 * bt_cpu_set_flat64 keeps the part-1 behaviour for user-mode tests (no page
 * tables; an exception ends bt_run with BT_EXIT_EXCEPTION). The x87 FPU is in
 * ops/x87.c (the host computes, as for SSE floating point in ops/ssefp.c).
 *
 * Layers, each calling only those below it (so each builds and is tested alone):
 *   decode.c (decode.h)          bytes -> struct bt_insn; nothing else
 *   fault.c, flags.c, mode.c     leaves: raising exceptions, RFLAGS, the cached mode
 *   mmu.c, mem.c (libbt_mmu)     softmmu and guest memory; report what they invalidate
 *                                through struct bt_inval_ops instead of calling the cache
 *   stack.c, seg.c, sysreg.c, intr.c, ops/  the instruction semantics
 *   cache.c                      decoded blocks; implements bt_inval_ops
 *   cpu.c, exec.c                CPU lifecycle and the run loop
 */
#ifndef BT_FALLBACK_BT_H
#define BT_FALLBACK_BT_H

#include "bt-fallback/decode.h"
#include "vmm/accel.h"
#include "vmm/base/compiler.h"
#include "vmm/base/cpu_model.h"
#include "vmm/base/types.h"
#include "vmm/cpu_state.h"

#include <pthread.h>
#include <setjmp.h>

struct err;
struct bt_cpu;
struct bt_insn;
struct bt_jit;
struct bt_jit_exit;

/* Exception vectors, SDM vol. 3A table 6-1. */
enum bt_vector {
	BT_EXC_DE = 0,
	BT_EXC_DB = 1,
	BT_EXC_BP = 3,
	BT_EXC_OF = 4,
	BT_EXC_BR = 5,
	BT_EXC_UD = 6,
	BT_EXC_NM = 7,
	BT_EXC_DF = 8,
	BT_EXC_TS = 10,
	BT_EXC_NP = 11,
	BT_EXC_SS = 12,
	BT_EXC_GP = 13,
	BT_EXC_PF = 14,
	BT_EXC_MF = 16,
	BT_EXC_AC = 17,
	BT_EXC_XM = 19,
};

/* #PF error code bits, SDM vol. 3A 4.7. */
#define BT_PF_P	    (1u << 0)
#define BT_PF_W	    (1u << 1)
#define BT_PF_U	    (1u << 2)
#define BT_PF_RSVD  (1u << 3)
#define BT_PF_FETCH (1u << 4)

/* Control register and EFER bits, SDM vol. 3A 2.5 and 2.2.1. */
#define BT_CR0_PE	  (1ull << 0)
#define BT_CR0_MP	  (1ull << 1)
#define BT_CR0_EM	  (1ull << 2)
#define BT_CR0_TS	  (1ull << 3)
#define BT_CR0_ET	  (1ull << 4)
#define BT_CR0_NE	  (1ull << 5)
#define BT_CR0_WP	  (1ull << 16)
#define BT_CR0_AM	  (1ull << 18)
#define BT_CR0_NW	  (1ull << 29)
#define BT_CR0_CD	  (1ull << 30)
#define BT_CR0_PG	  (1ull << 31)
#define BT_CR4_VME	  (1ull << 0)
#define BT_CR4_PVI	  (1ull << 1)
#define BT_CR4_TSD	  (1ull << 2)
#define BT_CR4_DE	  (1ull << 3)
#define BT_CR4_PSE	  (1ull << 4)
#define BT_CR4_PAE	  (1ull << 5)
#define BT_CR4_MCE	  (1ull << 6)
#define BT_CR4_PGE	  (1ull << 7)
#define BT_CR4_PCE	  (1ull << 8)
#define BT_CR4_OSFXSR	  (1ull << 9)
#define BT_CR4_OSXMMEXCPT (1ull << 10)
#define BT_CR4_UMIP	  (1ull << 11)
#define BT_CR4_FSGSBASE	  (1ull << 16)
#define BT_CR4_PCIDE	  (1ull << 17)
#define BT_CR4_OSXSAVE	  (1ull << 18)
#define BT_CR4_SMEP	  (1ull << 20)
#define BT_CR4_SMAP	  (1ull << 21)
/* Physical-address width of the model (CPUID 8000_0008h EAX[7:0]). */
#define BT_MAXPHYADDR 40

/* EFLAGS bits, SDM vol. 1 3.4.3. */
#define BT_CF	 (1u << 0)
#define BT_PF	 (1u << 2)
#define BT_AF	 (1u << 4)
#define BT_ZF	 (1u << 6)
#define BT_SF	 (1u << 7)
#define BT_TF	 (1u << 8)
#define BT_IF	 (1u << 9)
#define BT_DF	 (1u << 10)
#define BT_OF	 (1u << 11)
#define BT_NT	 (1u << 14)
#define BT_RF	 (1u << 16)
#define BT_VM	 (1u << 17)
#define BT_AC	 (1u << 18)
#define BT_ID	 (1u << 21)
#define BT_ARITH (BT_CF | BT_PF | BT_AF | BT_ZF | BT_SF | BT_OF)
#define BT_IOPL	 (3u << 12)

/* EFER bits, SDM vol. 3A 2.2.1. */
#define BT_EFER_SCE (1ull << 0)
#define BT_EFER_LME (1ull << 8)
#define BT_EFER_LMA (1ull << 10)
#define BT_EFER_NXE (1ull << 11)

/* Segment- and gate-descriptor fields as one little-endian u64, SDM vol. 3A 3.4.5, 6.11. */
#define BT_DESC_ACCESSED (1ull << 40)
#define BT_DESC_S	 (1ull << 44)
#define BT_DESC_P	 (1ull << 47)
#define BT_DESC_L	 (1ull << 53)
#define BT_DESC_DB	 (1ull << 54)
#define BT_DESC_TYPE(d)	 ((unsigned)((d) >> 40) & 0xf)
#define BT_DESC_DPL(d)	 ((unsigned)((d) >> 45) & 3)
/* Error-code bit: the fault happened while delivering an event external to the program. */
#define BT_ERR_EXT 1u

/* ------------------------------------------------------------------ memory */

#define BT_PAGE_SHIFT  12
#define BT_PAGE_SIZE   (1ull << BT_PAGE_SHIFT)
#define BT_PAGE_MASK   (~(BT_PAGE_SIZE - 1))
#define BT_MAX_REGIONS 16
#define BT_MAX_CPUS    16

/* One RAM region of guest physical memory backed by host memory. */
struct bt_region {
	u64 gpa, len;
	u8 *hva;
	/* Per page: the CPUs (bit = struct bt_cpu mem_slot) with translated code from it. */
	u16 *code_pages;
	/*
	 * Dirty logging (bt_mem_log_dirty, mem.c): one bit per page the guest wrote since the last
	 * bt_mem_dirty_log; NULL while logging is off. Set where a write is allowed (the TLB fill
	 * for a write, the page walk's A/D updates, bt_mem_write); a TLB entry of a logged region
	 * caches write permission only for a marked page, and bt_mem_dirty_log drops every write
	 * tag, so the first write after a read of the log fills again and marks its page.
	 */
	unsigned long *dirty;
	bool readonly;
};

/* bt_mem_change flags. */
#define BT_MEM_READONLY	 1u /* stores go to the mmio callback */
#define BT_MEM_LOG_DIRTY 2u /* log the pages the CPUs write (bt_mem_dirty_log) */

/* A change to the region table waiting to be made (bt_mem_change); r.len 0: remove gpa's. */
struct bt_mem_change {
	u64 gpa;
	struct bt_region r;
};

/*
 * At most one queued addition per region of the table-to-be and one removal per region of
 * the table: a removal of a region whose addition is still queued cancels that addition.
 */
#define BT_MEM_MAX_CHANGES (2 * BT_MAX_REGIONS)

/*
 * Guest physical memory shared by the CPUs of one VM, which run in parallel on their own
 * threads. A write to a page that holds translated code invalidates that page's blocks in the
 * cache of every CPU that translated from it (self-modifying code, SDM vol. 3A 9.1.3 / 11.6):
 * at once in the writing CPU's own cache, through a queue for the others (and for writes from
 * devices), which each CPU drains at its next block boundary, before it takes an interrupt.
 * So a CPU never touches another CPU's cache or generated code; another CPU may run stale code
 * from the page until its next boundary, as cross-modifying code on real processors may until
 * the executing processor serialises (SDM vol. 3A 9.1.3).
 *
 * fault_unmapped selects what an access to an address outside every region
 * does: false (a PC) sends it to the mmio callback; true ("flat user mode",
 * the differential tests) raises #PF as if a user-mode page table mapped
 * exactly the regions.
 */
struct bt_mem {
	struct bt_region regions[BT_MAX_REGIONS];
	unsigned nr_regions;
	unsigned nr_logging; /* regions with dirty logging on */
	bool fault_unmapped;
	u64 supervisor_base; /* flat user mode: from here up present but supervisor-only */
	struct bt_cpu *cpus[BT_MAX_CPUS];
	unsigned nr_cpus;
	/*
	 * Calls into the machine, made on the calling CPU's thread; cpu is the CPU's index
	 * (its APIC ID), so per-CPU devices such as the local APIC window can be routed.
	 */
	void *io_opaque;
	void (*mmio)(void *opaque, unsigned cpu, u64 gpa, unsigned size, bool is_write, void *data);
	void (*pio)(void *opaque, unsigned cpu, u16 port, unsigned size, bool is_write, void *data);
	/* INTA cycle: the vector of the interrupt the CPU takes now, or -1 (spurious, none). */
	int (*intr_ack)(void *opaque, unsigned cpu);
	/*
	 * MSRs the machine implements (IA32_APIC_BASE, the x2APIC range 0x800-0x8ff,
	 * IA32_TSC_DEADLINE). 0: handled; -ENOENT: not the machine's, the CPU model decides;
	 * any other negative value: #GP(0).
	 */
	int (*msr)(void *opaque, unsigned cpu, u32 index, bool is_write, u64 *val);
	/* Guest virtual time in ns (the TSC is derived from it); NULL: host CLOCK_MONOTONIC. */
	u64 (*clock_ns)(void *opaque);
	/*
	 * Hypercall interfaces (hyper.c, docs/hypercall.md): the VMware backdoor's calls (NULL:
	 * no backdoor, its ports are plain port I/O), and CPUID saying VMware (vmware_cpuid, with
	 * the local APIC timer's input clock for leaf 4000_0010h).
	 */
	void (*backdoor)(void *opaque, unsigned cpu, struct accel_backdoor *regs);
	bool vmware_cpuid;
	u32 apic_bus_khz;
	/*
	 * Exclusive sections (smp.c): an instruction that must not run alongside any other (a
	 * LOCKed access to MMIO or across two pages) stops every other CPU at a block boundary.
	 */
	pthread_mutex_t excl_lock;
	pthread_cond_t excl_cond;
	unsigned nr_running;	 /* CPUs inside bt_run and not parked */
	int excl_pending;	 /* a CPU wants or has the machine to itself */
	struct bt_cpu *excl_cpu; /* which */
	u16 slots_used;		 /* mem_slot bits given to attached CPUs */
	/*
	 * Region-table changes (bt_mem_change, mem.c). plan is the table as it will be once the
	 * queued changes are made (each change is checked against it, so the caller gets its
	 * verdict at once); the changes are made with every CPU stopped and map_lock held for
	 * writing, which the readers outside bt_run (dirty log, DMA, loader) hold for reading.
	 * change_lock guards plan and the queue; change_pending: the queue is not empty.
	 */
	pthread_mutex_t change_lock;
	pthread_rwlock_t map_lock;

	struct {
		u64 gpa, len;
	} plan[BT_MAX_REGIONS];

	unsigned nr_plan;
	struct bt_mem_change changes[BT_MEM_MAX_CHANGES];
	unsigned nr_changes;
	int change_pending;
};

/*
 * Map [gpa, gpa+len) to hva (flags: BT_MEM_*), or with len 0 remove the region that starts at gpa
 * (a device's RAM-like BAR moving), dropping what every CPU derived from it (TLB entries,
 * translated code). Any thread, while CPUs run: the verdict comes at once (-EINVAL, -ENOSPC,
 * -EEXIST, -ENOENT, -ENOMEM, checked against the table with every earlier change made), the
 * change is made with every CPU stopped at a block boundary, so no CPU sees half of it:
 *  - from a CPU's thread inside bt_run (a device's register write in a machine call, under the
 *    device lock, while another CPU may wait for that lock), it is queued and made when the
 *    machine call returns, in an exclusive section, before the CPU's next instruction: no CPU
 *    sees the old mapping once the instruction that asked for it has completed;
 *  - from any other thread, it is made before the call returns; the caller must not hold a lock
 *    a running CPU may wait for (no CPU runs at set-up, reset or while the VM is paused).
 */
MUST_CHECK int bt_mem_change(struct bt_mem *mem, u64 gpa, u64 len, void *hva, unsigned flags);
/*
 * Every CPU stopped (bt_mem_stop): with the queued changes made, the region that is exactly
 * [gpa, gpa+len) at hva with flags' BT_MEM_READONLY gets its logging turned as flags say
 * (bt_mem_log_dirty). -ENOENT: no such region (a mapping to make with bt_mem_change).
 */
int bt_mem_relog(struct bt_mem *mem, u64 gpa, u64 len, void *hva, unsigned flags);
/* bt_mem_change(mem, gpa, len, hva, readonly ? BT_MEM_READONLY : 0). */
MUST_CHECK int bt_mem_map(struct bt_mem *mem, u64 gpa, u64 len, void *hva, bool readonly);
/* bt_mem_change(mem, gpa, 0, NULL, 0). */
int bt_mem_unmap(struct bt_mem *mem, u64 gpa);
/* cpu's thread, inside bt_run: make the queued changes (after a machine call, at a boundary). */
void bt_mem_changes_sync(struct bt_cpu *cpu);
void bt_mem_destroy(struct bt_mem *mem);
/*
 * A CPU's accesses, TLB and invalidations from now on go with mem (bt_cpu_create does this;
 * a test of the MMU alone does it for a CPU it built). -ENOSPC past BT_MAX_CPUS. Set-up only.
 */
MUST_CHECK int bt_mem_attach(struct bt_mem *mem, struct bt_cpu *cpu);
void bt_mem_detach(struct bt_mem *mem, struct bt_cpu *cpu);
/* Write from outside the CPU (loader, DMA): copies and invalidates translated code. */
MUST_CHECK int bt_mem_write(struct bt_mem *mem, u64 gpa, const void *buf, u64 len);
/* The region holding gpa, or NULL. */
struct bt_region *bt_mem_region(struct bt_mem *mem, u64 gpa);
/*
 * Dirty logging of the region that starts at gpa on (its bitmap all clear; every CPU's write
 * tags dropped) or off. Every CPU stopped (bt_mem_stop) or none running (a region mapped with
 * BT_MEM_LOG_DIRTY logs from the start). 0, -ENOENT (no region starts there), -ENOMEM.
 */
MUST_CHECK int bt_mem_log_dirty(struct bt_mem *mem, u64 gpa, bool on);
/*
 * The pages of [gpa, gpa+len) (inside one logged region, page-aligned) written since the last
 * call: bit i of bitmap = page gpa + i * 4 KiB. Those bits are cleared (the region's others
 * stay for their own reader) and every CPU's write tags dropped. Any thread, while CPUs run
 * (see bt_mem_sync). 0, -ENOENT (not inside one region), -EINVAL (not logged or not
 * aligned).
 */
MUST_CHECK int bt_mem_dirty_log(struct bt_mem *mem, u64 gpa, u64 len, unsigned long *bitmap);
/* The page holding gpa was written (a write outside the TLB's cached tags): log it. */
void bt_mem_mark_dirty(struct bt_mem *mem, u64 gpa);
/*
 * Stop every CPU inside bt_run at its next block boundary (HLTed ones are outside) and keep
 * them there until bt_mem_resume: an exclusive section from a thread that is no CPU's. Not
 * with the device lock held (a CPU in a device access would never reach its boundary).
 * bt_mem_sync: stop and resume, so every store that had passed its TLB check before the call
 * has landed (a dirty-log read followed by bt_mem_sync misses no store before it).
 */
void bt_mem_stop(struct bt_mem *mem);
void bt_mem_resume(struct bt_mem *mem);
void bt_mem_sync(struct bt_mem *mem);
/*
 * Called by the cache (on cpu's thread) before it translates code from the page holding gpa:
 * writes to the page take the slow path in every TLB from now on.
 */
void bt_mem_mark_code(struct bt_mem *mem, struct bt_cpu *cpu, u64 gpa);
/*
 * The page holding gpa was written (by writer, on its thread; NULL: by a device or the loader,
 * any thread): every CPU with code from it drops that code (writer at once, the others at
 * their next block boundary), and the page is unmarked.
 */
void bt_mem_code_written(struct bt_mem *mem, struct bt_cpu *writer, u64 gpa);
/*
 * A device wrote guest RAM (DMA), from any thread, while CPUs may be running: the code pages in
 * [gpa, gpa+len) are queued for the CPUs that translated from them, which drop them at their
 * next block boundary, before taking an interrupt (so before the guest learns the DMA is done).
 */
void bt_mem_dma_written(struct bt_mem *mem, u64 gpa, u64 len);
/* cpu's thread: drop what other threads queued for it (exec.c at each block boundary). */
void bt_mem_inval_apply(struct bt_cpu *cpu);

#define BT_INVAL_QUEUE 64

/* ----------------------------------------------------------------- blocks */

#define BT_BLOCK_MAX_INSNS 32

struct bt_block;

/* Membership of a block in the list of one code page it covers. */
struct bt_page_link {
	u64 page; /* guest physical page number */
	struct bt_block *block;
	struct bt_page_link *next;
};

struct bt_block {
	u64 gpa;  /* physical address of the first byte */
	u64 rip;  /* linear address it was translated at (part of the key, with gpa and mode) */
	u32 mode; /* enum bt_mode */
	u32 nr_insns;
	struct bt_block *hash_next;
	struct bt_page_link pages[2]; /* a block covers at most two pages */
	/*
	 * Block chaining: the blocks entered after this one, each with the CPL class (jump cache
	 * row) it was entered at; valid while link_gen equals the cache's (bumped whenever the
	 * jump cache loses entries), so a hit means what a jump-cache hit would.
	 */
	struct bt_block *succ[2];
	u64 link_gen;
	u8 succ_user[2];
	bool valid;
	/*
	 * The JIT (jit/): the entry of the block's generated code for CPL 0-2 and for CPL 3 (NULL:
	 * none), the exits of generated code linked to this block (unlinked when it dies), and how
	 * often the interpreter ran it (compiled at the CPU's threshold).
	 */
	u32 hot;
	void *jit[2];
	struct bt_jit_exit *jit_in;
	struct bt_insn insns[];
};

#define BT_CACHE_BITS	 16
#define BT_CACHE_BUCKETS (1u << BT_CACHE_BITS)
#define BT_JC_SIZE	 32768 /* linear-address jump cache (QEMU tb_jmp_cache) */

/*
 * A jump-cache entry: valid while gen equals the cache's jc_gen and, unless the code's
 * translation is global (ng_gen 0), ng_gen its jc_ng_gen. A TLB flush bumps jc_gen, a CR3 load
 * (non-global flush) jc_ng_gen, so neither has to clear the table.
 */
struct bt_jc_entry {
	struct bt_block *block;
	u32 gen, ng_gen;
};

struct bt_cache {
	struct bt_block **hash; /* by (gpa, mode, linear address) */
	/*
	 * The last block translated at each (gpa, mode), whatever its linear address (one per
	 * bucket, overwritten): a block of the same bytes at another linear address (a library in
	 * another process) copies its decoded instructions from it instead of decoding them.
	 */
	struct bt_block **alias;
	struct bt_page_link **page_hash;      /* by page number */
	struct bt_jc_entry jc[2][BT_JC_SIZE]; /* by CPL 3 and linear address */
	u32 jc_gen, jc_ng_gen;
	u64 link_gen; /* bumped with either: chained successors (struct bt_block) are stale */
	u8 *arena;
	size_t arena_size, arena_used;
	u64 nr_translated, nr_flushes, nr_invalidated;
	u64 nr_jc_misses;      /* lookups the jump cache did not answer at once */
	u64 nr_jc_revalidated; /* of those, a stale entry whose translation still held */
	u64 nr_aliased;	       /* blocks translated as a copy of one at another linear address */
};

MUST_CHECK int bt_cache_init(struct bt_cache *c, size_t arena_size);
void bt_cache_destroy(struct bt_cache *c);
/* Drop every block (and the JIT's code with them). */
void bt_cache_flush(struct bt_cpu *cpu);
/* The linear-to-physical translations changed: drop the jump cache (all, or non-global). */
void bt_cache_jc_flush(struct bt_cache *c);
void bt_cache_jc_flush_nonglobal(struct bt_cache *c);
/* Drop every block with a byte in the page holding gpa; returns how many. */
unsigned bt_cache_invalidate_page(struct bt_cpu *cpu, u64 gpa);
/* The block for the CPU's current RIP, translating it if needed. Raises a fault on failure. */
struct bt_block *bt_cache_get(struct bt_cpu *cpu);

/* -------------------------------------------------------------------- CPU */

/* Lazy flags: what produced the arithmetic flags (SDM vol. 1 3.4.3.1). */
enum bt_lf_op {
	BT_LF_NONE, /* rflags holds them */
	BT_LF_ADD,
	BT_LF_ADC,
	BT_LF_SUB,
	BT_LF_SBB,
	BT_LF_LOGIC,
	BT_LF_INC,
	BT_LF_DEC,
	BT_LF_RES, /* SF, ZF, PF from the result, CF and OF as given in lf_a, AF = 0 (MUL, shifts) */
	BT_LF_HOST, /* generated code's host flags: lf_res bits 15:8 as LAHF, bit 0 as SETO */
};

/* The arithmetic flags of a BT_LF_HOST lf_res. */
static inline u64 bt_lf_host_flags(u64 res)
{
	return ((res >> 8) & (BT_CF | BT_PF | BT_AF | BT_ZF | BT_SF)) | ((res & 1) ? BT_OF : 0);
}

struct bt_exception {
	u8 vector;
	bool has_error;
	u32 error;
	u64 cr2;
};

enum bt_exit {
	BT_EXIT_LIMIT,	   /* executed the requested number of instructions */
	BT_EXIT_HLT,	   /* HLT; rip is past it */
	BT_EXIT_EXCEPTION, /* outside real mode; rip: the faulting insn (the next, for traps) */
	BT_EXIT_REQUEST,   /* bt_cpu_kick() asked the CPU to stop; rip is the next instruction */
	BT_EXIT_SHUTDOWN,  /* triple fault (shutdown state, SDM vol. 3A 6.15 interrupt 8) */
};

/* Access kinds of the softmmu; index of struct bt_tlb_entry's tag. */
enum bt_access {
	BT_ACC_READ,
	BT_ACC_WRITE,
	BT_ACC_FETCH,
};

/*
 * Softmmu TLB entry: one 4 KiB linear page (large pages are cached per 4 KiB piece), 64 bytes.
 * tag[acc] is the page's linear address when that kind of access may use the entry without a
 * walk: the permission result for the TLB's set (below), CR0.WP and EFER.NXE is cached, which is
 * why changing either flushes. A write tag also needs the page's
 * dirty bit set, RAM that is not read-only and no translated code on the page. A page that is not
 * RAM (MMIO) has BT_TLB_MMIO in its tags; a kind of access the entry does not allow has
 * BT_TLB_EMPTY. So the fast path is one compare of the tag with the page of the access's last
 * byte (which also fails for an access crossing the page, and for MMIO) and one add of addend;
 * the slow path accepts a tag equal to the page with or without BT_TLB_MMIO (bt_tlb_tag_ok).
 * Generated code (jit/) reads the entries too: the layout is part of its contract.
 */
#define BT_TLB_MMIO  1ull
#define BT_TLB_EMPTY (~0ull) /* never a page address, even without BT_TLB_MMIO */

struct bt_tlb_entry {
	u64 tag[3];
	u64 addend; /* host address of the page minus its linear address (RAM only) */
	u8 *hpage;  /* host address of the page; NULL: not RAM (MMIO) */
	u64 gpa;    /* physical address of the page */
	u64 page;   /* linear address of the page; BT_TLB_EMPTY: the entry is empty */
	u8 global;  /* CR4.PGE and the G bit: kept across CR3 loads */
	u8 large; /* log2 of the page size when it is a 2 or 4 MiB page (INVLPG drops all of it) */
	u8 pad[6];
};

/* May an access of kind acc to the page at linear address page use e without a walk? */
static inline bool bt_tlb_tag_ok(const struct bt_tlb_entry *e, enum bt_access acc, u64 page)
{
	return (e->tag[acc] & ~BT_TLB_MMIO) == page;
}

#define BT_TLB_SIZE 256
/*
 * The TLB sets: supervisor (CPL 0-2), user (CPL 3, and virtual-8086 mode), and supervisor data
 * accesses while SMAP lets them reach user pages (CR4.SMAP with EFLAGS.AC set, not an implicit
 * access: copy_to_user and friends between STAC and CLAC). SMAP's verdict for a supervisor data
 * access to a user page depends only on AC, so each supervisor set caches one verdict: the
 * first never holds data tags of user pages under SMAP (an access there walks and faults), the
 * third holds them like any other page. Fetches use the first two only.
 */
#define BT_TLB_SUPER	0
#define BT_TLB_USER	1
#define BT_TLB_SUPER_AC 2
#define BT_TLB_SETS	3
_Static_assert(sizeof(struct bt_tlb_entry) == 64, "generated code indexes the TLB by shifts");
#define BT_TRACE_LEN 16

/* Machine-check banks of the model (IA32_MCG_CAP.Count). */
#define BT_MC_BANKS 6
/* The AMD64 legacy performance counters (PerfEvtSel0-3, PerfCtr0-3; APM vol. 2 13.2). */
#define BT_PERF_COUNTERS 4

/* Model-specific registers the CPU itself keeps (msr.c); the machine keeps the APIC's. */
struct bt_msrs {
	u64 star, lstar, cstar, sfmask, kernel_gs_base;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 tsc_aux, pat, misc_enable, hwcr, syscfg;
	u64 mtrr_def_type, mtrr_fixed[11], mtrr_var[16]; /* var: base/mask pairs */
	u64 tsc_adjust, debugctl, feature_control;
	u64 mcg_status, mcg_ctl, mc[BT_MC_BANKS][4]; /* CTL, STATUS, ADDR, MISC per bank */
	u64 mc_ctl_mask[BT_MC_BANKS];		     /* AMD MCi_CTL_MASK */
	u64 perf_sel[BT_PERF_COUNTERS], perf_ctr[BT_PERF_COUNTERS];
	u64 nb_cfg, de_cfg, iorr[4], top_mem, top_mem2, smm_base, smm_addr, smm_mask;
};

/*
 * How the softmmu and guest memory (mmu.c, mem.c) report what they invalidate, so that they never
 * call the translation layer themselves: the block cache (cache.c, bt_cache_inval_ops) implements
 * it for a running CPU; a test of the MMU alone plugs in a recorder; NULL: nothing to drop.
 * Called on the thread that runs the CPU.
 */
struct bt_inval_ops {
	/* The CPU's linear-to-physical translations changed: all of them, or only the non-global. */
	void (*tlb_flushed)(struct bt_cpu *cpu, bool nonglobal_only);
	/* The physical page holding gpa was written: what the CPU translated from it is stale. */
	void (*code_written)(struct bt_cpu *cpu, u64 gpa);
	/* Everything the CPU translated is stale (too many pages to name them). */
	void (*code_flush)(struct bt_cpu *cpu);
};

/* The block cache's implementation (cache.c). */
extern const struct bt_inval_ops bt_cache_inval_ops;

/* TLB statistics (mmu.c): misses, whole flushes, CR3 loads, INVLPGs. */
struct bt_tlb_stats {
	u64 nr_misses, nr_flushes, nr_cr3, nr_invlpg;
};

struct bt_cpu {
	/* Hot fields first. */
	struct cpu_state
		st; /* architectural state; rflags arithmetic bits valid when lf_op == NONE */
	u64 lf_res, lf_a, lf_b;
	u32 lf_op, lf_size;
	u64 lf_carry;	/* INC/DEC: the CF they keep */
	u64 next_rip;	/* during an instruction: the address of the next one */
	u32 mode;	/* enum bt_mode, from CR0, EFER and CS (bt_cpu_update_mode) */
	u32 stack_size; /* 2, 4 or 8: SS.B or 64-bit mode */
	u64 icount;	/* retired instructions */
	bool end_block; /* leave the current block after this instruction */
	struct bt_tlb_entry tlb[BT_TLB_SETS][BT_TLB_SIZE]
		__attribute__((aligned(64))); /* BT_TLB_SUPER, BT_TLB_USER, BT_TLB_SUPER_AC */
	u64 last_ea; /* linear address of the last memory r/m operand read */
	unsigned last_seg;
	u64 last_off;
	bool in_delivery; /* delivering an event: a fault now is classed against it */
	u8 deliver_class; /* the class (intr.c) of the event being delivered */
	u8 deliver_kind;  /* its enum bt_event */
	u64 soft_rip;	  /* INT n, INT3, INTO: the instruction (a fault delivering it is there) */
	bool exc_exit;	  /* exceptions outside real mode end bt_run (flat user-mode tests) */
	bool implicit;	  /* an implicit supervisor access (descriptor tables, IDT, TSS) runs */
	struct bt_mem *mem;
	const struct bt_inval_ops *inval; /* NULL: nothing translated to invalidate */
	struct bt_tlb_stats tlb_stats;
	struct bt_cache cache;
	struct bt_block *cur_block;
	jmp_buf fault_jmp; /* where bt_raise lands, set by bt_run */
	struct bt_exception exc;
	bool exc_is_trap; /* INT n / INT3 / INTO: saved IP is the next instruction */
	bool exc_rf;	  /* a fault: push RFLAGS with RF set */
	bool deliver_rf;  /* the event being delivered pushes RF set */
	/* Debug registers (debug.c): enabled breakpoints by kind, hits of this instruction. */
	u8 dbg_insn, dbg_data, dbg_io;
	u8 db_pending;
	bool rf_loaded;	  /* the instruction (IRET) loaded RF: keep it */
	bool tf_at_end;	  /* SYSCALL/SYSRET: single step if TF is set after, not before */
	bool mov_ss;	  /* the instruction was MOV SS / POP SS: debug traps wait one more */
	bool db_deferred; /* a single-step trap held back by a MOV SS shadow */
	/* BT_KICK_* bits, set from any thread; read at block entry and in REP loops. */
	int exit_request;
	struct cpu_model model; /* what CPUID reports and which instructions exist */
	unsigned nr_cpus;	/* CPUs in the machine (CPUID topology) */
	u8 *hb_buf; /* a VMware backdoor transfer's bytes (hyper.c), ACCEL_BACKDOOR_HB_MAX */
	u64 tsc_offset;
	struct bt_tlb_entry tlb_scratch; /* a translation not to cache (writes to ROM) */
	bool tlb_large;			 /* some TLB entry holds a piece of a large page */
	/*
	 * Code pages other threads wrote, for this CPU to drop (mem.c; inval_lock, any thread),
	 * and its bit in the pages' code masks.
	 */
	pthread_mutex_t inval_lock;
	int inval_pending;
	bool inval_overflow; /* more than BT_INVAL_QUEUE: drop everything */
	unsigned nr_inval;
	u64 inval_pages[BT_INVAL_QUEUE];
	unsigned mem_slot;
	/* An exclusive section is open (smp.c); a fault inside closes it. */
	bool in_exclusive;
	/*
	 * The JIT (jit/jit.h); NULL: interpreter only. Generated code leaves at a block entry once
	 * icount would pass jit_limit (bt_run's end; bt_cpu_kick and the INTR pin zero it). A memory
	 * access the inline TLB lookup cannot do goes through jit_tmp, or jit_vtmp for a 16- or
	 * 32-byte vector operand (jit_post: what remains).
	 */
	struct bt_jit *jit;
	u64 jit_limit;
	u64 jit_tmp;
	u8 jit_vtmp[32];
	u64 jit_target; /* an indirect CALL's target across its push */
	u32 jit_post;
	u32 jit_why; /* why generated code left (enum bt_jit_why), stored as it leaves */
	u32 jit_post_seg, jit_post_size;
	u64 jit_post_off;
	bool flat; /* bt_cpu_set_flat64: linear = physical despite CR0.PG, until a CR3 load */
	unsigned index;
	struct bt_msrs msr;
	/* The INTR pin (bt_cpu_set_intr, any thread) and a pending NMI. */
	int intr_line;
	int nmi_pending;
	/* Linear addresses of the last blocks entered, for bt_cpu_describe. */
	u64 trace[BT_TRACE_LEN];
	unsigned trace_pos;
};

#define BT_KICK_STOP  1 /* bt_cpu_kick: return BT_EXIT_REQUEST */
#define BT_KICK_INTR  2 /* bt_cpu_set_intr: look at the INTR pin */
#define BT_KICK_INVAL 4 /* another thread queued code pages to drop */
#define BT_KICK_EXCL  8 /* another CPU wants an exclusive section: park */

/* Make the CPU look at exit_request soon (any thread): generated code leaves at a block entry. */
static inline void bt_cpu_poke(struct bt_cpu *cpu, int bits)
{
	__atomic_fetch_or(&cpu->exit_request, bits, __ATOMIC_SEQ_CST);
	__atomic_store_n(&cpu->jit_limit, 0, __ATOMIC_RELEASE);
}

struct bt_cpu_config {
	struct bt_mem *mem;
	unsigned index;	    /* APIC ID */
	size_t cache_bytes; /* 0: default */
	/* The CPU model (copied); NULL: CPU_MODEL_DEFAULT. It must pass cpu_model_check. */
	const struct cpu_model *model;
	unsigned nr_cpus; /* 0: 1 */
	/*
	 * The JIT tier (jit/): off, every block is interpreted; on, a block is compiled to host code
	 * once the interpreter ran it jit_threshold times (0: BT_JIT_THRESHOLD_DEFAULT; 1: at once)
	 * into a code cache of jit_code_bytes (0: BT_JIT_CODE_BYTES_DEFAULT), flushed whole when full.
	 */
	bool jit;
	unsigned jit_threshold;
	size_t jit_code_bytes;
};

#define BT_JIT_THRESHOLD_DEFAULT  16
#define BT_JIT_CODE_BYTES_DEFAULT (32u << 20)

/* Does the CPU model have feature f (CPUID says so, the instructions exist)? */
static inline bool bt_has(const struct bt_cpu *cpu, enum cpu_feature f)
{
	return cpu_model_has(&cpu->model, f);
}

static inline bool bt_intel(const struct bt_cpu *cpu)
{
	return cpu->model.vendor == CPU_VENDOR_INTEL;
}

MUST_CHECK int bt_cpu_create(const struct bt_cpu_config *cfg, struct bt_cpu **out, struct err *err);
void bt_cpu_destroy(struct bt_cpu *cpu);
/* Replace the CPU model (tests, set-up): drops the translated code, whose handlers follow it. */
void bt_cpu_set_model(struct bt_cpu *cpu, const struct cpu_model *model);
/* Reset to the power-on state (SDM vol. 3A 10.1.1): real mode at F000:FFF0. */
void bt_cpu_reset(struct bt_cpu *cpu);
/* Put the CPU in 64-bit user-like flat mode (CS.L, base 0, CPL 3) for tests: no page tables
 * (linear = physical) until the next CR3 load. */
void bt_cpu_set_flat64(struct bt_cpu *cpu);
/* Put the CPU in real mode with the given segment selectors (base = selector << 4). */
void bt_cpu_set_real(struct bt_cpu *cpu);
void bt_cpu_load_seg_real(struct bt_cpu *cpu, enum cpu_seg s, u16 sel);

/* Ask a running CPU to return from bt_run (BT_EXIT_REQUEST) at the next block boundary or
 * REP iteration. Any thread. */
void bt_cpu_kick(struct bt_cpu *cpu);

/*
 * Drive the CPU's INTR pin (from an interrupt controller, any thread). While it is high and
 * the CPU can take an interrupt (IF=1, no interrupt shadow), bt_run calls mem->intr_ack at
 * the next instruction boundary and delivers the vector. Raising it kicks the CPU.
 */
void bt_cpu_set_intr(struct bt_cpu *cpu, bool level);

/*
 * Run up to max_insns instructions. vCPU thread. Returns why it stopped. A CPU halted by HLT
 * (st.halted) returns BT_EXIT_HLT at once unless it can take an interrupt or an NMI now, which
 * wakes it (whoever moves rip from outside, INIT/SIPI, clears st.halted); BT_EXIT_SHUTDOWN: a
 * triple fault, the state is the one that faulted.
 */
enum bt_exit bt_run(struct bt_cpu *cpu, u64 max_insns);

/* A crash report: registers, segments, control registers and the last blocks entered. */
void bt_cpu_describe(struct bt_cpu *cpu, char *buf, size_t n);

/* Re-derive the cached mode after changing CR0, EFER, CS or SS outside the executor. */
void bt_cpu_update_mode(struct bt_cpu *cpu);

static inline enum bt_mode bt_cpu_mode(const struct bt_cpu *cpu)
{
	return (enum bt_mode)cpu->mode;
}

/* Full RFLAGS (materialises lazy flags). */
u64 bt_get_rflags(struct bt_cpu *cpu);
void bt_set_rflags(struct bt_cpu *cpu, u64 v);

/*
 * System registers (sysreg.c). The setters check reserved bits and the SDM's consistency rules
 * (raising #GP(0) from inside an instruction), flush what the change invalidates (TLB, jump
 * cache) and re-derive the mode. INVLPG drops one linear page.
 */
void bt_set_cr0(struct bt_cpu *cpu, u64 v);
void bt_set_cr3(struct bt_cpu *cpu, u64 v);
void bt_set_cr4(struct bt_cpu *cpu, u64 v);
void bt_set_efer(struct bt_cpu *cpu, u64 v);
/* WRMSR to IA32_EFER, XSETBV to XCR0: 0 or -EPERM (#GP); no longjmp. */
int bt_efer_write(struct bt_cpu *cpu, u64 v);
int bt_xcr0_write(struct bt_cpu *cpu, u64 v);
bool bt_xcr0_valid(const struct bt_cpu *cpu, u64 v);
void bt_tlb_flush_page(struct bt_cpu *cpu, u64 lin);
/*
 * MSR access as RDMSR/WRMSR see it (machine MSRs through mem->msr first). 0, or -EPERM when the
 * instruction raises #GP(0). Usable outside bt_run (state save/restore): no longjmp.
 */
int bt_msr_read(struct bt_cpu *cpu, u32 index, u64 *val);
int bt_msr_write(struct bt_cpu *cpu, u32 index, u64 val);
/* Power-on values of the CPU's own MSRs (PAT, MTRRs...), SDM vol. 3A table 10-1. */
void bt_msr_reset(struct bt_cpu *cpu);
/* PAE paging: false when a present PDPTE of the table at cr3 has a reserved bit set (#GP). */
bool bt_mmu_pdptes_ok(struct bt_cpu *cpu, u64 cr3);
/* The MSR indexes a state save must carry (the CPU's own, not the machine's). */
unsigned bt_msr_list(const u32 **indexes);
/* Time-stamp counter (virtual time: mem->clock_ns scaled to BT_TSC_KHZ, plus tsc_offset). */
#define BT_TSC_KHZ 2000000u
u64 bt_rdtsc(struct bt_cpu *cpu);

/*
 * Can this host run the model (the features the engine computes with host instructions)? 0, or
 * -EOPNOTSUPP with the reason in why; with drop, the features the host cannot back (and those
 * needing them) are taken out of m instead, their names in why and their number returned. Any
 * thread.
 */
int bt_host_check(struct cpu_model *m, bool drop, char *why, size_t len);

/* CPUID model, SDM vol. 2A CPUID. */
void bt_cpuid(struct bt_cpu *cpu, u32 leaf, u32 subleaf, u32 out[4]);

/*
 * Hypercall interfaces (hyper.c, docs/hypercall.md). bt_hyper_port: the VMware backdoor's
 * ports, open at any privilege level when the machine has the backdoor. bt_hyper_in: IN EAX, DX
 * on the low-bandwidth port as a backdoor call; false: not one (plain port I/O).
 * bt_hyper_string: REP INSB/OUTSB on the high-bandwidth port as one backdoor transfer; false:
 * not one. bt_hyper_vmcall: VMCALL/VMMCALL as KVM's hypercall ABI (api: RAX = number,
 * RBX/RCX/RDX/RSI = arguments, RAX = result, -KVM_ENOSYS for what is not implemented).
 * bt_hyper_cpuid: the hypervisor leaves 4000_00xxh when CPUID says VMware; false: not asked.
 */
bool bt_hyper_port(const struct bt_cpu *cpu, u16 port);
bool bt_hyper_in(struct bt_cpu *cpu, u16 port, unsigned size);
bool bt_hyper_string(struct bt_cpu *cpu, const struct bt_insn *in);
void bt_hyper_vmcall(struct bt_cpu *cpu);
bool bt_hyper_cpuid(const struct bt_cpu *cpu, u32 leaf, u32 out[4]);

/* --------------------------------------------- executor helpers (ops/) */

NORETURN void bt_raise(struct bt_cpu *cpu, u8 vector, u32 error, bool has_error);
NORETURN void bt_raise_pf(struct bt_cpu *cpu, u64 addr, u32 error);
/* #DB after a single-stepped instruction: a trap, RIP already past it; DR6.BS says why. */
NORETURN void bt_raise_single_step(struct bt_cpu *cpu);
/* #DB trap after an instruction (breakpoint hits already in DR6). */
NORETURN void bt_raise_debug_trap(struct bt_cpu *cpu);
/* #DB fault before an instruction: rf is the RF flag pushed (general detect 1, breakpoint 0). */
NORETURN void bt_raise_debug(struct bt_cpu *cpu, bool rf);

/* Debug registers (debug.c). DR7 or CR4.DE changed: recompute what is watched. */
void bt_debug_update(struct bt_cpu *cpu);
/* Is a data breakpoint's byte in the linear page at page (the TLB must not cache it)? */
bool bt_debug_watched(const struct bt_cpu *cpu, u64 page);
/* A data access / an I/O access: record breakpoint hits for the trap after the instruction. */
void bt_debug_data(struct bt_cpu *cpu, u64 lin, unsigned size, bool write);
void bt_debug_io(struct bt_cpu *cpu, u16 port, unsigned size);
/* Before an instruction while instruction breakpoints are enabled: #DB fault on a hit. */
void bt_debug_check_insn(struct bt_cpu *cpu);
/* MOV DRn with DR7.GD: #DB fault with DR6.BD. */
void bt_debug_gd(struct bt_cpu *cpu);
/* Raise the trap for the recorded hits, with DR6.BS when single_step. */
NORETURN void bt_debug_trap(struct bt_cpu *cpu, bool single_step);
#define bt_raise_ud(cpu)  bt_raise((cpu), BT_EXC_UD, 0, false)
#define bt_raise_gp0(cpu) bt_raise((cpu), BT_EXC_GP, 0, true)

/* Linear address of the memory operand (segment base added, limit unchecked). */
u64 bt_ea(struct bt_cpu *cpu, const struct bt_insn *in);

/*
 * Host address of [off, off+len) in one page of RAM for a fast path (64-bit mode only), or
 * NULL: the caller then takes the precise slow path, which raises any fault. A write span
 * invalidates translated code in the page first.
 */
u8 *bt_host_span(struct bt_cpu *cpu, unsigned seg, u64 off, u64 len, bool write);
/*
 * The host address of a LOCKed read-modify-write operand of size bytes at seg:off, after raising
 * whatever the access would raise (for both pages when it crosses), or NULL when it is not one
 * page of writable RAM (MMIO, ROM, a page crossing: the caller takes an exclusive section).
 */
u8 *bt_mmu_lock_span(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size);
/* Check that a load would succeed (CLFLUSH: segment and paging checks only). */
void bt_probe_ld(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size);
/* Check that a store would succeed (for multi-part stores committed together). */
void bt_probe_st(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size);
/* Drop every TLB entry and the jump cache (CR0.PG/WP, CR4.PGE/PAE/PSE, EFER.NXE changes). */
void bt_tlb_flush(struct bt_cpu *cpu);
/* A CR3 load: drop all but the global entries. */
void bt_tlb_flush_nonglobal(struct bt_cpu *cpu);
/* The physical page holding gpa got translated code: writes to it must take the slow path. */
void bt_tlb_drop_write(struct bt_cpu *cpu, u64 gpa);
/* Drop every cached write permission (dirty logging: the next write to a page fills again). */
void bt_tlb_drop_writes(struct bt_cpu *cpu);
/* Translate lin for an instruction fetch without raising; false if the fetch would fault. */
bool bt_mmu_probe_fetch(struct bt_cpu *cpu, u64 lin, u64 *gpa);
/*
 * Linear-address accesses (no segmentation) made by the CPU itself: descriptor tables, the
 * IDT/IVT, the TSS. Under paging they are supervisor accesses whatever the CPL.
 */
u64 bt_ld_lin(struct bt_cpu *cpu, u64 lin, unsigned size);
void bt_st_lin(struct bt_cpu *cpu, u64 lin, unsigned size, u64 val);
/* Raise a trap: the saved RIP is the next instruction's (INT n, INT3, INTO). */
NORETURN void bt_raise_trap(struct bt_cpu *cpu, u8 vector);
/* Fetch code bytes at a linear address for the decoder. Returns bytes available. */
unsigned bt_fetch(struct bt_cpu *cpu, u64 lin, u8 *buf, unsigned want, u64 *gpa);

void bt_push(struct bt_cpu *cpu, unsigned size, u64 v);
u64 bt_pop(struct bt_cpu *cpu, unsigned size);
/* Raise now what a push of size bytes would raise. */
void bt_probe_push(struct bt_cpu *cpu, unsigned size);
unsigned bt_stack_size(const struct bt_cpu *cpu);
void bt_jump(struct bt_cpu *cpu, u64 target);

/* Flags. */
void bt_flags_commit(struct bt_cpu *cpu);
bool bt_cond_slow(struct bt_cpu *cpu, unsigned cc);

static inline u64 bt_mask(unsigned size)
{
	return size == 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline u64 bt_sign(unsigned size)
{
	return 1ull << (size * 8 - 1);
}

/* Bits 63..47 all equal (48-bit linear addresses, SDM vol. 1 3.3.7.1). */
static inline bool bt_canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static inline s64 bt_sext(u64 v, unsigned size)
{
	unsigned sh = 64 - size * 8;

	return (s64)(v << sh) >> sh;
}

/* --------------------------------- system architecture (seg.c, intr.c, ops/sys.c) */

/* Current privilege level: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL (= CS.RPL). */
unsigned bt_cpu_cpl(const struct bt_cpu *cpu);
/* The 8-byte (16-byte) descriptor of sel from the GDT or LDT; false when past the limit. */
bool bt_desc_read(struct bt_cpu *cpu, u16 sel, u64 *desc);
bool bt_desc_read16(struct bt_cpu *cpu, u16 sel, u64 *lo, u64 *hi);
void bt_desc_unpack(u16 sel, u64 desc, struct cpu_segment *s);
void bt_desc_set_accessed(struct bt_cpu *cpu, u16 sel, u64 desc);
/* Rewrite a descriptor's type field (the TSS busy bit). */
void bt_desc_set_type(struct bt_cpu *cpu, u16 sel, u64 desc, unsigned type);
void bt_seg_set_null(struct cpu_segment *s, u16 sel);
/* Is [off, off+size) inside the segment (expand-up or expand-down)? */
bool bt_seg_off_ok(const struct cpu_segment *s, u64 off, unsigned size);
/* MOV/POP Sreg, LDS..LSS: load a data segment register or SS with every check. */
void bt_seg_load(struct bt_cpu *cpu, unsigned seg, u16 sel);
/* Load CS from a checked code descriptor with RPL = cpl (sets the accessed bit). */
void bt_seg_load_cs(struct bt_cpu *cpu, u16 sel, u64 desc, unsigned cpl);
/* Checks of the CS of a far transfer (#GP/#NP with the selector, | ext). */
void bt_seg_check_code(struct bt_cpu *cpu, u16 sel, u64 desc, u32 ext);
/*
 * Checks of an SS selector for privilege level cpl (RET/IRET to an outer level): #GP(sel) or
 * #SS(sel). Returns false for a null selector that null_ok allows (64-bit mode).
 */
bool bt_seg_check_ss(struct bt_cpu *cpu, u16 sel, unsigned cpl, bool null_ok, u64 *desc);
/* Commit a checked SS (desc valid when not null). */
void bt_seg_commit_ss(struct bt_cpu *cpu, u16 sel, unsigned cpl, bool null, u64 desc);
/* RET/IRET to an outer level: null the data segment registers the new CPL may not use. */
void bt_seg_check_data_on_return(struct bt_cpu *cpu, unsigned cpl);

enum bt_event {
	BT_EV_EXC,  /* an exception */
	BT_EV_SOFT, /* INT n, INT3, INTO: the gate's DPL is checked */
	BT_EV_EXT,  /* an external interrupt or NMI */
};

enum bt_ts_reason {
	BT_TS_JMP,
	BT_TS_CALL,
	BT_TS_IRET,
	BT_TS_INT,
};

/* Deliver an event now (st.rip is the address to return to). May raise. */
void bt_deliver(struct bt_cpu *cpu, u8 vector, bool has_error, u32 error, enum bt_event kind);
/* Deliver cpu->exc (raised), classing it against an event being delivered; false: shutdown. */
bool bt_exc_dispatch(struct bt_cpu *cpu);
/* At an instruction boundary: take a pending NMI or INTR if the CPU can. */
void bt_intr_poll(struct bt_cpu *cpu);
/* Task switch to the TSS selected by sel (SDM vol. 3A 7.3), 32-bit TSS. */
void bt_task_switch(struct bt_cpu *cpu, u16 sel, enum bt_ts_reason why, u32 ext);

/*
 * CPUs in parallel (smp.c). bt_run brackets itself with enter/leave; a CPU parks at a block
 * boundary while another holds an exclusive section; begin/end bracket one instruction that
 * must run with every other CPU stopped (a LOCKed access to MMIO or across pages). CPU thread.
 */
void bt_smp_enter(struct bt_cpu *cpu);
void bt_smp_leave(struct bt_cpu *cpu);
void bt_smp_park(struct bt_cpu *cpu);
void bt_exclusive_begin(struct bt_cpu *cpu);
void bt_exclusive_end(struct bt_cpu *cpu);
/* The CPU whose bt_run this thread is in, or NULL. */
struct bt_cpu *bt_smp_current(void);

/* After a machine call (port I/O, MMIO) that may have asked for a change: bt_mem_changes_sync. */
static inline void bt_mem_changes_pending(struct bt_cpu *cpu)
{
	if (__builtin_expect(__atomic_load_n(&cpu->mem->change_pending, __ATOMIC_ACQUIRE), 0))
		bt_mem_changes_sync(cpu);
}

/* Handler tables, indexed by opcode byte (ops/). NULL: #UD. */
extern const bt_handler_fn bt_ops_map1[256];
extern const bt_handler_fn bt_ops_map0f[256];
extern const bt_handler_fn bt_ops_map0f38[256];
extern const bt_handler_fn bt_ops_map0f3a[256];
extern const bt_handler_fn bt_ops_vex0f38[256];
extern const bt_handler_fn bt_ops_vex0f3a[256];
/* SSE handlers by 0F opcode (ops/sse.c); NULL: not an SSE opcode. */
extern const bt_handler_fn bt_ops_sse[256];
/* MMX handlers by 0F opcode without a 66/F2/F3 prefix (ops/mmx.c); NULL: not MMX. */
extern const bt_handler_fn bt_ops_mmx[256];

/* ------------------------------------------------ inline hot paths (exec.c, mmu.c) */

#define BT_HOT __attribute__((always_inline))

/* Segment-relative accesses with limit checks and translation; raise on a fault. */
u64 bt_ld_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size);
void bt_st_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, u64 val);
/* A load that is the first half of a read-modify-write: faults as a write. */
u64 bt_ld_rmw_slow(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size);

/*
 * The TLB hit path of a 64-bit-mode access: the host address of [off, off+size) when it is in
 * one page of RAM that the TLB allows acc for, else NULL (the slow path then does every check).
 * A tag only matches a canonical page, and a page-internal access has a canonical last byte.
 */
static inline BT_HOT u8 *bt_tlb_hit(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size,
				    enum bt_access acc)
{
	u64 lin = off;
	const struct bt_tlb_entry *e;

	if (unlikely(cpu->mode != BT_MODE_LONG64))
		return NULL;
	if (seg == CPU_FS || seg == CPU_GS)
		lin += cpu->st.seg[seg].base;
	e = &cpu->tlb[(cpu->st.seg[CPU_CS].selector & 3) == 3]
		     [(lin >> BT_PAGE_SHIFT) & (BT_TLB_SIZE - 1)];
	if (likely(e->tag[acc] == ((lin + size - 1) & BT_PAGE_MASK)))
		return (u8 *)(uintptr_t)(lin + e->addend);
	return NULL;
}

/* Host loads and stores of 1, 2, 4 or 8 bytes (unaligned; no call to memcpy). */
typedef u16 bt_u16_un __attribute__((aligned(1), may_alias));
typedef u32 bt_u32_un __attribute__((aligned(1), may_alias));
typedef u64 bt_u64_un __attribute__((aligned(1), may_alias));

static inline BT_HOT u64 bt_host_ld(const u8 *p, unsigned size)
{
	switch (size) {
	case 1:
		return *p;
	case 2:
		return *(const bt_u16_un *)p;
	case 4:
		return *(const bt_u32_un *)p;
	default:
		return *(const bt_u64_un *)p;
	}
}

static inline BT_HOT void bt_host_st(u8 *p, unsigned size, u64 v)
{
	switch (size) {
	case 1:
		*p = (u8)v;
		break;
	case 2:
		*(bt_u16_un *)p = (u16)v;
		break;
	case 4:
		*(bt_u32_un *)p = (u32)v;
		break;
	default:
		*(bt_u64_un *)p = v;
		break;
	}
}

static inline BT_HOT u64 bt_ld(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	const u8 *p = bt_tlb_hit(cpu, seg, off, size, BT_ACC_READ);

	return likely(p) ? bt_host_ld(p, size) : bt_ld_slow(cpu, seg, off, size);
}

static inline BT_HOT void bt_st(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size, u64 val)
{
	u8 *p = bt_tlb_hit(cpu, seg, off, size, BT_ACC_WRITE);

	if (likely(p))
		bt_host_st(p, size, val);
	else
		bt_st_slow(cpu, seg, off, size, val);
}

static inline BT_HOT u64 bt_ld_rmw(struct bt_cpu *cpu, unsigned seg, u64 off, unsigned size)
{
	const u8 *p = bt_tlb_hit(cpu, seg, off, size, BT_ACC_WRITE);

	return likely(p) ? bt_host_ld(p, size) : bt_ld_rmw_slow(cpu, seg, off, size);
}

/* Replace the bits in mask with those in val (eager flags). */
static inline void bt_flags_set(struct bt_cpu *cpu, u64 mask, u64 val)
{
	if ((mask & BT_ARITH) == BT_ARITH)
		cpu->lf_op = BT_LF_NONE; /* all six replaced: no need to compute the old ones */
	else
		bt_flags_commit(cpu);
	cpu->st.rflags = (cpu->st.rflags & ~mask) | (val & mask);
}

/* SF, ZF and PF of a result. */
static inline u64 bt_szp(unsigned size, u64 res)
{
	u64 f = 0;

	res &= bt_mask(size);
	if (!res)
		f |= BT_ZF;
	if (res & bt_sign(size))
		f |= BT_SF;
	if (!__builtin_parity((unsigned)(res & 0xff)))
		f |= BT_PF;
	return f;
}

/* CF from the lazy state (ADC, SBB, JB/JAE...). */
static inline bool bt_cf(const struct bt_cpu *cpu)
{
	u64 m = bt_mask(cpu->lf_size), r = cpu->lf_res & m, a = cpu->lf_a & m, b = cpu->lf_b & m;

	switch (cpu->lf_op) {
	case BT_LF_NONE:
		return cpu->st.rflags & BT_CF;
	case BT_LF_ADD:
		return r < a;
	case BT_LF_ADC:
		return r <= a;
	case BT_LF_SUB:
		return a < b;
	case BT_LF_SBB:
		return a <= b;
	case BT_LF_INC:
	case BT_LF_DEC:
		return cpu->lf_carry;
	case BT_LF_RES:
		return cpu->lf_a & BT_CF;
	case BT_LF_HOST:
		return (cpu->lf_res >> 8) & BT_CF;
	default:
		return false;
	}
}

static inline BT_HOT u64 bt_get_reg(const struct bt_cpu *cpu, unsigned r, unsigned size)
{
	if (size == 1 && r >= BT_REG_AH)
		return (cpu->st.gpr[r - BT_REG_AH] >> 8) & 0xff;
	return cpu->st.gpr[r] & bt_mask(size);
}

static inline BT_HOT void bt_set_reg(struct bt_cpu *cpu, unsigned r, unsigned size, u64 v)
{
	u64 *g;

	if (size == 1 && r >= BT_REG_AH) {
		g = &cpu->st.gpr[r - BT_REG_AH];
		*g = (*g & ~0xff00ull) | ((v & 0xff) << 8);
		return;
	}
	g = &cpu->st.gpr[r];
	switch (size) {
	case 1:
		*g = (*g & ~0xffull) | (v & 0xff);
		break;
	case 2:
		*g = (*g & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		*g = v & 0xffffffffu; /* 32-bit results zero-extend (SDM vol. 1 3.4.1.1) */
		break;
	default:
		*g = v;
	}
}

/* Effective (offset) address only. */
static inline BT_HOT u64 bt_ea_off(struct bt_cpu *cpu, const struct bt_insn *in)
{
	u64 a = (u64)in->disp;

	if (in->ea_kind == BT_EA_RIP)
		a += cpu->next_rip;
	if (in->base != BT_REG_NONE)
		a += cpu->st.gpr[in->base];
	if (in->index != BT_REG_NONE)
		a += cpu->st.gpr[in->index] << in->scale;
	return a & bt_mask(in->asz);
}

/* ModRM r/m operand. */
static inline BT_HOT u64 bt_rm_read(struct bt_cpu *cpu, const struct bt_insn *in, unsigned size)
{
	if (in->ea_kind == BT_EA_NONE)
		return bt_get_reg(cpu, in->rm, size);
	return bt_ld(cpu, in->seg, bt_ea_off(cpu, in), size);
}

static inline BT_HOT void bt_rm_write(struct bt_cpu *cpu, const struct bt_insn *in, unsigned size,
				      u64 v)
{
	if (in->ea_kind == BT_EA_NONE)
		bt_set_reg(cpu, in->rm, size, v);
	else
		bt_st(cpu, in->seg, bt_ea_off(cpu, in), size, v);
}

/* Read of a read-modify-write r/m operand. */
static inline BT_HOT u64 bt_rm_read_rmw(struct bt_cpu *cpu, const struct bt_insn *in, unsigned size)
{
	if (in->ea_kind == BT_EA_NONE)
		return bt_get_reg(cpu, in->rm, size);
	return bt_ld_rmw(cpu, in->seg, bt_ea_off(cpu, in), size);
}

static inline void bt_flags_set_lazy(struct bt_cpu *cpu, enum bt_lf_op op, unsigned size, u64 res,
				     u64 a, u64 b)
{
	if (op == BT_LF_INC || op == BT_LF_DEC)
		cpu->lf_carry = bt_cf(cpu) ? BT_CF : 0; /* INC/DEC keep CF */
	cpu->lf_op = op;
	cpu->lf_size = size;
	cpu->lf_res = res;
	cpu->lf_a = a;
	cpu->lf_b = b;
}

/* Condition cc (SDM vol. 1 appendix B) of the flags; CMP and TEST results inline. */
static inline bool bt_cond(struct bt_cpu *cpu, unsigned cc)
{
	unsigned size = cpu->lf_size;
	u64 m = bt_mask(size), a = cpu->lf_a & m, b = cpu->lf_b & m, res = cpu->lf_res & m;
	bool r;

	if (cpu->lf_op == BT_LF_SUB) {
		switch (cc >> 1) {
		case 1:
			r = a < b;
			break;
		case 2:
			r = a == b;
			break;
		case 3:
			r = a <= b;
			break;
		case 4:
			r = res & bt_sign(size);
			break;
		case 6:
			r = bt_sext(a, size) < bt_sext(b, size);
			break;
		case 7:
			r = bt_sext(a, size) <= bt_sext(b, size);
			break;
		default:
			return bt_cond_slow(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	if (cpu->lf_op == BT_LF_LOGIC) { /* CF = OF = 0 */
		switch (cc >> 1) {
		case 0:
		case 1:
			r = false;
			break;
		case 2:
		case 3:
			r = !res;
			break;
		case 4:
		case 6:
			r = res & bt_sign(size);
			break;
		case 7:
			r = !res || (res & bt_sign(size));
			break;
		default:
			return bt_cond_slow(cpu, cc);
		}
		return r ^ (cc & 1);
	}
	return bt_cond_slow(cpu, cc);
}

/*
 * Choose the handler of a decoded instruction (ops/table.c) and store it in in->fn: bt_op_ud for
 * a form the decoder marked invalid or an opcode the model lacks, else the opcode's handler or a
 * faster one specialised for the form (register operands, operand size). Returns in->fn.
 */
bt_handler_fn bt_ops_select(struct bt_insn *in, enum bt_mode mode);

/* Per-handler helpers shared between op files. */
void bt_op_ud(struct bt_cpu *cpu, const struct bt_insn *in);

#endif
