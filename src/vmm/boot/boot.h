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
 * acpi_tables_build makes RSDP/RSDT/XSDT/FADT/FACS/DSDT/MADT (+HPET, MCFG) (ACPI 6.x
 * chapter 5.2), acpi_build places them in the BIOS area and acpi_tables_loader describes them
 * to firmware; e820_build derives the memory map from gmem's regions.
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
	/*
	 * The machine has a VGA left in 80x25 colour text mode (mode 3, 16-line font), as a VGA
	 * BIOS leaves it: screen_info says so, and the kernel's vgacon takes the screen.
	 */
	bool vga_text;
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

/*
 * A bzImage for the firmware to boot (boot.kernel with boot.firmware): the contents of
 * fw_cfg's kernel items. The setup part keeps the image's setup header, patched as a loader
 * would (type_of_loader, CAN_USE_HEAP with heap_end_ptr, cmd_line_ptr, ramdisk_image and
 * ramdisk_size); the firmware's loader (SeaBIOS's option ROM, OVMF) copies each part to its
 * address and enters the real-mode setup at setup_gpa with SS:SP = setup_gpa>>4 :
 * BOOT_FW_STACK_TOP; OVMF loads the kernel its own way and may ignore the addresses.
 */
struct boot_fw_kernel {
	u8 *setup, *kernel, *initrd;			    /* initrd NULL when there is none */
	u32 setup_len, kernel_len, initrd_len, cmdline_len; /* cmdline_len counts the NUL */
	u32 setup_gpa, kernel_gpa, initrd_gpa, cmdline_gpa;
};

#define BOOT_FW_SETUP_GPA   0x10000u
#define BOOT_FW_CMDLINE_GPA 0x20000u
#define BOOT_FW_KERNEL_GPA  0x100000u
#define BOOT_FW_STACK_TOP   0xe000u	 /* heap_end_ptr is 0x200 below */
#define BOOT_FW_RESERVE	    (4u << 20)	 /* RAM left to the firmware below the initrd */
#define BOOT_FW_MAX_ITEM    (256u << 20) /* fw_cfg's largest item (FW_CFG_MAX_ITEM) */

/*
 * Read in->kernel (boot protocol 2.12+ with a 64-bit entry, as boot_linux) and in->initrd,
 * check in->cmdline against the kernel's limit, and place them in guest RAM that ends at
 * ram_end (the end of the RAM that holds 1 MiB, below 4 GiB): the kernel at 1 MiB, the
 * initrd as high as initrd_addr_max allows leaving BOOT_FW_RESERVE to the firmware. -errno
 * with a message naming the file. boot_fw_kernel_free frees *out (also after an error).
 */
MUST_CHECK int boot_linux_fw(const struct boot_params_in *in, u64 ram_end,
			     struct boot_fw_kernel *out, struct err *err);
void boot_fw_kernel_free(struct boot_fw_kernel *k);

/*
 * The VMM's own option ROM for SeaBIOS (linuxboot_rom.S, built with the VMM): a PnP ROM whose
 * boot entry reads fw_cfg's setup, kernel, initrd and command-line items by DMA to their
 * addresses and enters the setup; fw_cfg file BOOT_FW_ROM_FILE, first in bootorder.
 */
extern const u8 boot_linuxboot_rom[];
extern const size_t boot_linuxboot_rom_len;
#define BOOT_FW_ROM_FILE "genroms/vmm-linuxboot.bin"

/* Load a Multiboot v1 kernel and its modules; *bsp is the 32-bit entry state of spec 3.2. */
MUST_CHECK int boot_multiboot(struct gmem *mem, const struct boot_params_in *in,
			      struct cpu_state *bsp, struct err *err);

/* Load in->flat at in->load_address (below 1 MiB); *bsp is real mode at that address, DL=0x80. */
MUST_CHECK int boot_flat(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
			 struct err *err);

/*
 * Map a firmware image (4 KiB multiple, 64 KiB to 16 MiB) as ROM ending at 4 GiB, a gmem
 * region that gmem_destroy frees and e820 reports reserved (the caller maps regions added
 * here into the accelerator; a second call, at a reboot, loads the image into the same
 * region). Copies its last 128 KiB to 0xE0000-0xFFFFF; *bsp gets the RESET state (F000:FFF0).
 */
MUST_CHECK int boot_firmware(struct gmem *mem, const struct boot_params_in *in,
			     struct cpu_state *bsp, struct err *err);
/* The size of the firmware image at path, checked as boot_firmware does. 0 or -errno. */
MUST_CHECK int boot_firmware_check(const char *path, u64 *size, struct err *err);
/*
 * Whether the image at path is UEFI firmware: it starts with a UEFI firmware volume (PI
 * specification, volume 3, 3.2.1: the header's signature "_FVH" at offset 40), as OVMF's
 * code volume does and SeaBIOS's image does not. 0 or -errno with a message.
 */
MUST_CHECK int boot_firmware_uefi(const char *path, bool *uefi, struct err *err);
/*
 * Wake from S3 with firmware: the boot vCPU in the RESET state at the reset vector, as at
 * power-on, with nothing loaded again (the ROM and the copy below 1 MiB stay as the firmware
 * left them: its resume path runs from there). Returns 0.
 */
int boot_firmware_wake(struct cpu_state *bsp);
/*
 * The ROM region boot_firmware would load the image at path into, made and left empty (for a
 * VM that takes a saved state: the state's memory brings the bytes; a reboot loads the image
 * into it). Only the file's size is read. 0 or -errno.
 */
MUST_CHECK int boot_firmware_reserve(struct gmem *mem, const char *path, struct err *err);

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
/*
 * The MTRRs as firmware leaves them for a boot without firmware (SeaBIOS's mtrr_setup): the
 * default type write-back, the fixed ranges write-back below 640 KiB, uncachable over the VGA
 * window and write-protected over the BIOS area, and variable ranges making [hole_start, 4 GiB)
 * (the PCI hole) uncachable, masks of phys_bits bits. Sets only MTRRs cpu->msrs carries (the
 * CPU model's); nothing when it has no MTRRdefType (no MTRRs). Every vCPU gets the same.
 */
void boot_cpu_mtrrs(struct cpu_state *cpu, u64 hole_start, unsigned phys_bits);

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
	bool s3;	   /* offer \_S3 (sleep with memory kept), SLP_TYP s3_slp_typ */
	u8 s3_slp_typ;	   /* devices/acpi_pm.h ACPI_PM_SLP_TYP_S3 */
	bool com1;	   /* describe the 16550 at 0x3f8, IRQ 4 in the DSDT */
	bool pm_tmr_32bit; /* set FADT TMR_VAL_EXT: the PM timer counts 32 bits */
	/*
	 * Describe the PCI host bridge \_SB.PCI0 (PNP0A03, or PNP0A08 when pcie; bus 0, config
	 * mechanism #1) with its windows and a _PRT: INTx pin P (0 = INTA) of the device in
	 * slot S is wired to GSI pci_intx_gsi[(S + P) % 4] (1..23, IOAPIC pins).
	 */
	bool pci_host;
	bool pcie;
	u8 pci_intx_gsi[4];
	/* The 32-bit PCI memory window of PCI0's _CRS; both 0: ACPI_PCI_MMIO_START..END. */
	u32 pci_mmio_start, pci_mmio_end;
	/* Describe a pvpanic device (\_SB.PEVT, _HID "QEMU0001") at this I/O port; 0: none. */
	u16 pvpanic_port;
	/* An HPET at hpet_gpa (0: none), its GCAP_ID bits 31:0 (HPET table, \_SB.HPET). */
	u64 hpet_gpa;
	u32 hpet_id;
	/* PCI Express ECAM at mcfg_gpa for buses 0..mcfg_last_bus (the MCFG table); 0: none. */
	u64 mcfg_gpa;
	u8 mcfg_last_bus;
};

/* The 32-bit PCI memory window PCI0's _CRS gives the OS by default: the hole up to the IOAPIC. */
#define ACPI_PCI_MMIO_START 0xc0000000u
#define ACPI_PCI_MMIO_END   0xfebfffffu

#define ACPI_RSDP_LEN	 36
#define ACPI_MAX_FIXUPS	 32
#define ACPI_FILE_RSDP	 "etc/acpi/rsdp"
#define ACPI_FILE_TABLES "etc/acpi/tables"
#define ACPI_FILE_LOADER "etc/table-loader"

enum acpi_blob {
	ACPI_BLOB_RSDP,
	ACPI_BLOB_TABLES,
};

/* A pointer field of size bytes at offset in blob; it holds an offset into the tables blob. */
struct acpi_pointer {
	u8 blob, size;
	u32 offset;
};

/* A checksum byte at `at` in blob, making the sum of [start, start + len) zero. */
struct acpi_checksum {
	u8 blob;
	u32 at, start, len;
};

/* Every table as two blobs and the fix-ups that place them (acpi.c). */
struct acpi_tables {
	u8 rsdp[ACPI_RSDP_LEN];
	u8 *tables; /* FACS first (64-byte aligned), DSDT, FADT, MADT, HPET, MCFG, RSDT, XSDT */
	size_t tables_len;
	struct acpi_pointer ptrs[ACPI_MAX_FIXUPS];
	unsigned nr_ptrs;
	struct acpi_checksum sums[ACPI_MAX_FIXUPS];
	unsigned nr_sums;
};

/*
 * Build the tables for cfg; pointers hold offsets into t->tables and the checksums are right
 * for that. 0, -EINVAL for a bad config or -ENOMEM, with a message. acpi_tables_free after.
 */
MUST_CHECK int acpi_tables_build(const struct acpi_config *cfg, struct acpi_tables *t,
				 struct err *err);
/* Add tables_gpa (where t->tables will live) to every pointer and redo the checksums. Once. */
void acpi_tables_relocate(struct acpi_tables *t, u64 tables_gpa);
void acpi_tables_free(struct acpi_tables *t);
/*
 * The linker/loader script for firmware that reads the blobs as fw_cfg files ACPI_FILE_RSDP
 * and ACPI_FILE_TABLES: a malloc'd array of 128-byte commands in *out (*len bytes). 0 or
 * -ENOMEM.
 */
MUST_CHECK int acpi_tables_loader(const struct acpi_tables *t, u8 **out, size_t *len,
				  struct err *err);

/*
 * Build the tables and place them at BOOT_ACPI_START (the RSDP first) for a boot without
 * firmware; *rsdp_gpa is the RSDP. 0, -EINVAL for a bad config (message in err) or -EFAULT if
 * the area is not RAM.
 */
MUST_CHECK int acpi_build(struct gmem *mem, const struct acpi_config *cfg, u64 *rsdp_gpa,
			  struct err *err);

/* Where acpi_build puts the FACS: the tables blob starts with it, 64-byte aligned after the RSDP. */
#define ACPI_BUILD_FACS_GPA	(BOOT_ACPI_START + 64)
#define ACPI_FACS_WAKING_VECTOR 12 /* Firmware Waking Vector, 32 bits (ACPI 6.5 5.2.10) */

/*
 * Resume from S3 without firmware: the boot vCPU's state at the waking vector the OS wrote
 * into the FACS acpi_build placed, in real mode (CS = vector >> 4, IP = vector & 0xf, ACPI 6.5
 * 5.2.10), the rest as at power-on. -ENOENT when the vector is 0 (the OS set none), -EFAULT
 * when the FACS is not RAM.
 */
MUST_CHECK int boot_s3_resume(struct gmem *mem, struct cpu_state *bsp, struct err *err);

/* ---- SMBIOS (smbios.c) ---- */
#define SMBIOS_ANCHOR_LEN  31 /* the SMBIOS 2.1 32-bit entry point */
#define SMBIOS_MAX_RANGES  4
#define BOOT_SMBIOS_GPA	   0xf0000ull /* without firmware: in the BIOS area e820 reserves */
#define SMBIOS_FILE_TABLES "etc/smbios/smbios-tables"
#define SMBIOS_FILE_ANCHOR "etc/smbios/smbios-anchor"

struct smbios_config {
	const char *name;    /* the VM's name: type 1's serial number */
	const char *product; /* type 1's product name ("vmm-pc") */
	u8 uuid[16];	     /* type 1's UUID, in RFC 4122 byte order */
	unsigned nr_vcpus;
	u64 ram_bytes;

	struct {
		u64 gpa, len;
	} ranges[SMBIOS_MAX_RANGES]; /* the RAM regions (type 19) */

	unsigned nr_ranges;
	bool bios_info; /* add a type 0 (boots without firmware; firmware adds its own) */
};

struct smbios_tables {
	u8 anchor[SMBIOS_ANCHOR_LEN]; /* the entry point; structure table address 0 */
	u8 *tables;		      /* the structures, type 127 last */
	size_t tables_len;
};

/* Build the structures and the entry point. 0, -EINVAL, -E2BIG, -ENOMEM with a message. */
MUST_CHECK int smbios_build(const struct smbios_config *cfg, struct smbios_tables *t,
			    struct err *err);
/* Point the entry point at tables_gpa and redo its checksums. */
void smbios_tables_relocate(struct smbios_tables *t, u32 tables_gpa);
void smbios_tables_free(struct smbios_tables *t);
/* Build and place them at BOOT_SMBIOS_GPA for a boot without firmware. 0 or -errno. */
MUST_CHECK int smbios_place(struct gmem *mem, const struct smbios_config *cfg, struct err *err);

#endif
