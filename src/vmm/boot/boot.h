/* SPDX-License-Identifier: MIT */
/*
 * Boot loaders, ACPI tables and the e820 memory map.
 *
 * Each loader reads its files, writes the guest's memory only through
 * gmem_write()/gmem_ptr() (vmm/gmem.h) and returns the initial state of the
 * boot vCPU in a struct cpu_state (vmm/cpu_state.h, KVM's unpacked segment
 * form):
 *  - boot_linux: the Linux/x86 64-bit boot protocol (Documentation/arch/x86/
 *    boot.rst, "64-bit Boot Protocol"; zero-page.rst), bzImage protocol 2.12+.
 *  - boot_multiboot: Multiboot 0.6.96 (sections 3.1 header, 3.2 machine state,
 *    3.3 boot information), ELF32/ELF64 or the a.out kludge.
 *  - boot_flat: a raw binary loaded below 1 MiB and started in real mode.
 *  - boot_firmware: a BIOS image mapped to end at 4 GiB (a new gmem region)
 *    and its last 128 KiB copied to 0xE0000; the vCPU starts at the reset
 *    vector.
 * acpi_build writes RSDP/RSDT/XSDT/FADT/FACS/DSDT/MADT (ACPI 6.x chapter 5.2)
 * into the BIOS area; e820_build derives the memory map from gmem's regions.
 *
 * Guest-physical layout used below 1 MiB (all constants below): GDT at
 * 0x500, Linux zero page at 0x7000, identity page tables at 0x9000-0xefff,
 * boot information area (cmdline, multiboot info) at 0x10000-0x8ffff, EBDA at
 * 0x9fc00, ACPI tables at 0xe0000 (reserved in e820).
 *
 * All functions: main thread, before any vCPU runs.
 */
#ifndef VMM_BOOT_BOOT_H
#define VMM_BOOT_BOOT_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/cpu_state.h"
#include "vmm/gmem.h"

#define BOOT_MAX_MODULES 16

struct boot_params_in {
	/* Linux */
	const char *kernel, *initrd, *cmdline;
	bool unpack_on_host; /* decompress the bzImage's payload here (linux_unpack.c) */
	/* Multiboot v1: the kernel, its command line is cmdline above */
	const char *multiboot;

	struct {
		const char *path, *cmdline;
	} modules[BOOT_MAX_MODULES];

	unsigned nr_modules;
	/* Flat binary: real mode, linear start address = load_address */
	const char *flat;
	u64 load_address;
	/* Firmware image (SeaBIOS bios.bin) */
	const char *firmware;
	unsigned nr_vcpus;
	/* Guest-physical address of the ACPI RSDP (from acpi_build), 0 if none. */
	u64 acpi_rsdp_gpa;
};

/*
 * Load a bzImage (and initrd) per the 64-bit boot protocol and fill *bsp with
 * the 64-bit entry state (RIP = load address + 0x200, RSI = zero page).
 * Returns 0, or a negative errno with err naming the file and the reason.
 */
MUST_CHECK int boot_linux(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
			  struct err *err);

/* Load a Multiboot v1 kernel and its modules; *bsp is the 32-bit entry state of spec 3.2. */
MUST_CHECK int boot_multiboot(struct gmem *mem, const struct boot_params_in *in,
			      struct cpu_state *bsp, struct err *err);

/* Load in->flat at in->load_address (below 1 MiB); *bsp is real mode at that address, DL=0x80. */
MUST_CHECK int boot_flat(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
			 struct err *err);

/*
 * Map a BIOS image (64 KiB multiple, at most 16 MiB) so it ends at 4 GiB, as a
 * new gmem region that gmem_destroy frees and e820 reports reserved; the
 * caller must map regions added here into the accelerator. Copies the last
 * 128 KiB to 0xE0000-0xFFFFF; *bsp gets the RESET state (F000:FFF0).
 */
MUST_CHECK int boot_firmware(struct gmem *mem, const struct boot_params_in *in,
			     struct cpu_state *bsp, struct err *err);

/*
 * Architectural state after RESET (SDM vol. 3A 9.1.1): real mode,
 * CS:IP = F000:FFF0 with CS.base 0xFFFF0000, x87/SSE control words at their
 * FINIT values, APIC enabled at 0xFEE00000 (BSP flag if bsp).
 *
 * The loaders do not call it: they overwrite the registers their protocol
 * defines (GPRs, RIP, RFLAGS, segments, GDTR/IDTR, TR/LDTR, CR0/2/3/4,
 * EFER, DR6/DR7) in the state they are given and leave the rest (APIC base,
 * FPU, MSRs) as the accelerator reported it.
 */
void boot_cpu_reset(struct cpu_state *cpu, bool bsp);

/* ---- e820 (ACPI 6.x chapter 15, INT 15h E820h address range types) ---- */
enum e820_type {
	E820_RAM = 1,
	E820_RESERVED = 2,
	E820_ACPI = 3,
	E820_NVS = 4,
	E820_UNUSABLE = 5,
};

struct e820_entry {
	u64 addr, size;
	u32 type;
} __attribute__((packed)); /* the 20-byte layout of zero-page.rst's e820_table */

#define E820_MAX_ENTRIES 128 /* the zero page holds 128 */

/* Where the fixed PC areas are. */
#define BOOT_EBDA_START 0x9fc00ull
#define BOOT_BIOS_END	0x100000ull
#define BOOT_ACPI_START 0xe0000ull /* ACPI tables, RSDP first; inside the BIOS area */
#define BOOT_ACPI_END	0xf0000ull

/*
 * The memory map of mem: RAM 0-0x9fc00, reserved 0x9fc00-1 MiB (EBDA, VGA,
 * option ROMs, BIOS, ACPI tables), RAM from 1 MiB to the top of the low
 * region, every other RAM region (above 4 GiB) as RAM; regions added inside
 * the 32-bit PCI hole (firmware ROM) as reserved. Sorted by address, no
 * overlaps. Returns 0, or -ENOSPC if more than max entries are needed.
 */
MUST_CHECK int e820_build(const struct gmem *mem, struct e820_entry *out, unsigned max,
			  unsigned *nr);

/* ---- ACPI ---- */
/* The PM block's ports and \_S5's SLP_TYP come from devices/acpi_pm.h. */
#define ACPI_SCI_IRQ	 9
#define ACPI_RESET_PORT	 0xcf9
#define ACPI_RESET_VALUE 0x06
#define ACPI_LAPIC_GPA	 0xfee00000u
#define ACPI_IOAPIC_GPA	 0xfec00000u
#define ACPI_MAX_VCPUS	 255

struct acpi_config {
	unsigned nr_vcpus; /* 1..ACPI_MAX_VCPUS; APIC IDs 0..n-1, IOAPIC ID n */
	u8 s5_slp_typ;	   /* SLP_TYP of \_S5: devices/acpi_pm.h ACPI_PM_SLP_TYP_S5 */
	bool com1;	   /* describe the 16550 at 0x3f8, IRQ 4 in the DSDT */
	bool pm_tmr_32bit; /* set FADT TMR_VAL_EXT: the PM timer counts 32 bits */
	/*
	 * Describe the PCI host bridge \_SB.PCI0 (PNP0A03, bus 0, config mechanism
	 * #1) with its windows and a _PRT: INTx pin P (0 = INTA) of the device in
	 * slot S is wired to GSI pci_intx_gsi[(S + P) % 4] (1..23, IOAPIC pins).
	 */
	bool pci_host;
	u8 pci_intx_gsi[4];
	/* Describe a pvpanic device (\_SB.PEVT, _HID "QEMU0001") at this I/O port; 0: none. */
	u16 pvpanic_port;
};

/* The 32-bit PCI memory window PCI0's _CRS gives the OS: the hole up to the IOAPIC. */
#define ACPI_PCI_MMIO_START 0xc0000000u
#define ACPI_PCI_MMIO_END   0xfebfffffu

/*
 * Build the tables at BOOT_ACPI_START and return the RSDP's address in
 * *rsdp_gpa. Returns 0, -EINVAL for a bad config (message in err) or
 * -EFAULT if the area is not RAM.
 */
MUST_CHECK int acpi_build(struct gmem *mem, const struct acpi_config *cfg, u64 *rsdp_gpa,
			  struct err *err);

#endif
