/* SPDX-License-Identifier: MIT */
/*
 * Intel 82093AA I/O APIC registers (82093AA datasheet, section 3.0
 * "Register Description": IOREGSEL, IOWIN, IOAPICID, IOAPICVER, IOAPICARB,
 * IOREDTBL) and the MSI address/data layout (Intel SDM vol. 3A, 11.11
 * "Message Signalled Interrupts").
 */
#ifndef DEVICES_IOAPIC_REGS_H
#define DEVICES_IOAPIC_REGS_H

#define IOAPIC_DEFAULT_BASE 0xfec00000ull
#define IOAPIC_MMIO_SIZE    0x20
#define IOAPIC_IOREGSEL	    0x00
#define IOAPIC_IOWIN	    0x10

#define IOAPIC_REG_ID	     0x00
#define IOAPIC_REG_VER	     0x01
#define IOAPIC_REG_ARB	     0x02
#define IOAPIC_REG_REDTBL    0x10 /* entry n: low dword at 0x10 + 2n, high at 0x11 + 2n */
#define IOAPIC_NR_PINS	     24
#define IOAPIC_VERSION	     0x11
#define IOAPIC_ID_SHIFT	     24
#define IOAPIC_ID_MASK	     0x0f000000u
#define IOAPIC_VER_MAX_SHIFT 16

/* Redirection table entry */
#define IOAPIC_RTE_VECTOR_MASK	 0xffull
#define IOAPIC_RTE_DELMOD_SHIFT	 8
#define IOAPIC_RTE_DELMOD_MASK	 (7ull << 8)
#define IOAPIC_RTE_DESTMOD	 (1ull << 11) /* 1 = logical */
#define IOAPIC_RTE_DELIVS	 (1ull << 12) /* read-only */
#define IOAPIC_RTE_INTPOL	 (1ull << 13) /* 1 = active low */
#define IOAPIC_RTE_REMOTE_IRR	 (1ull << 14) /* read-only */
#define IOAPIC_RTE_TRIGGER_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED	 (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT	 56
#define IOAPIC_RTE_RO_BITS	 (IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

/* APIC delivery modes (SDM vol. 3A, 11.6.1 ICR and 11.5.1 LVT) */
#define APIC_DM_FIXED	0
#define APIC_DM_LOWEST	1
#define APIC_DM_SMI	2
#define APIC_DM_NMI	4
#define APIC_DM_INIT	5
#define APIC_DM_STARTUP 6
#define APIC_DM_EXTINT	7

/* MSI address (0xFEExxxxx) and data */
#define MSI_ADDR_BASE	      0xfee00000ull
#define MSI_ADDR_BASE_MASK    0xfff00000ull
#define MSI_ADDR_DEST_SHIFT   12
#define MSI_ADDR_DEST_MASK    0xff
#define MSI_ADDR_RH	      (1u << 3)
#define MSI_ADDR_DM	      (1u << 2)
#define MSI_DATA_VECTOR_MASK  0xff
#define MSI_DATA_DELMOD_SHIFT 8
#define MSI_DATA_LEVEL	      (1u << 14) /* assert */
#define MSI_DATA_TRIGGER      (1u << 15) /* 1 = level */

#endif
