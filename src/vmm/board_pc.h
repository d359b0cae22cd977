/* SPDX-License-Identifier: MIT */
/*
 * The PC board: creates the platform devices in order, hands each its
 * interrupt lines, and wires the serial console. Interrupt lines end in the
 * accelerator's in-kernel irqchip when it has one (KVM: GSI n is routed to
 * both the 8259 pair and the IOAPIC pin n), otherwise in the userspace
 * interrupt controllers of src/devices (BT), wired by board_irqchip.c.
 *
 * Fixed layout: COM1 0x3f8 IRQ4, RTC 0x70 IRQ8, i8042 0x60/0x64 IRQ1/IRQ12,
 * ACPI PM at 0x600 with SCI on IRQ9, reset control 0xCF9, PCI config
 * mechanism #1 at 0xCF8, debug-exit and test device where the spec says.
 *
 * The chipset is the spec's machine: "pc", the i440FX host bridge and PIIX3 ISA bridge
 * (devices/piix.h); "q35", the Q35 MCH with its PCI Express ECAM window and the ICH9 LPC
 * bridge at 00:1f.0 with the AHCI controller at 00:1f.2 (devices/mch.h, ich9_lpc.h), which
 * the ACPI tables then describe (PNP0A08 host bridge, MCFG).
 */
#ifndef VMM_BOARD_PC_H
#define VMM_BOARD_PC_H

#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/irq.h"

#include <stddef.h>

struct vm;
struct vm_spec;
struct board_pc;
struct board_irqchip;
struct board_disks;
struct board_fw;
struct loop;
struct vcpu_hooks;
struct nic_spec;

/*
 * PCI INTx routing, as the DSDT's _PRT describes it: pin P (0 = INTA) of the device in slot S
 * is GSI BOARD_PC_PCI_GSI_BASE + (S + P) % 4 -- IOAPIC-only pins, clear of every ISA IRQ.
 */
#define BOARD_PC_PCI_GSI_BASE	    16
#define BOARD_PC_PCI_INTA_GSI(slot) (BOARD_PC_PCI_GSI_BASE + (slot) % 4)

/*
 * Where guest RAM below 4 GiB ends at most on the spec's machine: 3 GiB on the PC; on Q35 the
 * ECAM window at 0xB0000000 comes first (all of it below, or 2 GiB when more RAM than that).
 */
u64 board_pc_low_ram_max(const struct vm_spec *spec);

/* The interrupt line for GSI gsi: the in-kernel irqchip under KVM. Main thread. */
struct irq_line board_pc_gsi_line(struct vm *vm, unsigned gsi);

/* The userspace interrupt controllers, or NULL when the accelerator has its own (KVM). */
struct board_irqchip *board_pc_irqchip(struct board_pc *b);
/* The board's disks (board_disks.h), in spec order. */
struct board_disks *board_pc_disks(struct board_pc *b);
/* What the board gives firmware (board_fw.h), or NULL without boot.firmware. */
struct board_fw *board_pc_fw(struct board_pc *b);
/* A message-signalled interrupt for the userspace irqchip (platform.msi). Device lock held. */
void board_pc_msi(struct board_pc *b, u64 addr, u32 data);

struct board_display;

/* The display, or NULL when the spec has none. */
struct board_display *board_pc_display(struct board_pc *b);

/* Create every device the spec asks for. Main thread, before the vCPUs run. */
MUST_CHECK int board_pc_create(struct vm *vm, struct board_pc **out, struct err *err);
void board_pc_destroy(struct board_pc *b);

/* Watch the board's back ends (disk completions) on the main loop, and stop. Main thread. */
MUST_CHECK int board_pc_attach(struct board_pc *b, struct loop *l);
void board_pc_detach(struct board_pc *b);

/* Link up or down of NIC id ("net0"...): board_nics_set_link. Main thread. */
MUST_CHECK int board_pc_set_link(struct board_pc *b, const char *id, bool up, struct err *err);
/* One more NIC before boot (board_nics_add): index is its place in the spec. Main thread. */
MUST_CHECK int board_pc_add_nic(struct board_pc *b, const struct nic_spec *ns, unsigned index,
				int tap_fd, struct err *err);
/* The paravirtual devices (board_pv.h). */
struct board_pv *board_pc_pv(struct board_pc *b);

/* What each vCPU needs of the board's per-CPU devices (vcpu.h); valid while b lives. */
const struct vcpu_hooks *board_pc_vcpu_hooks(struct board_pc *b);

/*
 * Board reset (vm_reboot): every registered device to its power-on state (device_ops.reset,
 * in registration order), then the userspace irqchip's wiring state. Device lock held, every
 * vCPU paused.
 */
void board_pc_reset(struct board_pc *b);

/*
 * Press the ACPI power button (PWRBTN_STS, SCI if the guest enabled it; in S3 it wakes the
 * machine). Takes the device lock.
 */
void board_pc_power_button(struct board_pc *b);

/*
 * ACPI S3: the machine goes to sleep (with firmware, the CMOS shutdown status byte 0x0f says
 * 0xfe, "S3 resume", as the firmware's POST looks for it on the way back); a wake event is
 * pending and enabled (the RTC alarm with RTC_EN, the power button); and the reset of S3
 * resume: every registered device but the RTC and the ACPI block (their power well stays on)
 * to power-on, the irqchip's wiring, WAK_STS. Device lock held, every vCPU stopped.
 */
void board_pc_s3_suspend(struct board_pc *b);
bool board_pc_wake_event(struct board_pc *b);
void board_pc_s3_resume(struct board_pc *b);

/*
 * Before a boot without firmware: program what firmware would (Q35: the ECAM window at
 * MCH_ECAM_DEFAULT_BASE). Main thread, every vCPU paused.
 */
void board_pc_prepare_direct_boot(struct board_pc *b);

/* Write the ACPI tables describing this board into guest RAM; *rsdp_gpa is the RSDP. Main thread. */
MUST_CHECK int board_pc_build_acpi(struct board_pc *b, u64 *rsdp_gpa, struct err *err);

/* Console input for the guest's COM1; returns the bytes accepted. Main thread. */
size_t board_pc_console_input(void *vm, const u8 *buf, size_t len);

#endif
