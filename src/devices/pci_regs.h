/* SPDX-License-Identifier: MIT */
/*
 * PCI configuration space names, PCI Local Bus Specification 3.0 chapter 6
 * (type 0 header, figure 6-1; command 6.2.2; status 6.2.3; base address
 * registers 6.2.5.1; capabilities list 6.7) and PCI-to-PCI host access
 * mechanism #1 (3.2.2.3.2).
 */
#ifndef DEVICES_PCI_REGS_H
#define DEVICES_PCI_REGS_H

#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BIST		0x0f
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_NUM_BARS		6
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_ROM_ADDRESS		0x30
#define PCI_ROM_ADDRESS_ENABLE	0x01
#define PCI_ROM_ADDRESS_MASK	0xfffff800u
#define PCI_ROM_SLOT		6 /* bar_remap's index for the expansion ROM */
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CONFIG_HEADER_END	0x40
#define PCI_CONFIG_SPACE_SIZE	256

#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

/* Command register (6.2.2) */
#define PCI_COMMAND_IO		 0x0001
#define PCI_COMMAND_MEMORY	 0x0002
#define PCI_COMMAND_MASTER	 0x0004
#define PCI_COMMAND_SPECIAL	 0x0008
#define PCI_COMMAND_INVALIDATE	 0x0010
#define PCI_COMMAND_VGA_PALETTE	 0x0020
#define PCI_COMMAND_PARITY	 0x0040
#define PCI_COMMAND_SERR	 0x0100
#define PCI_COMMAND_FAST_BACK	 0x0200
#define PCI_COMMAND_INTX_DISABLE 0x0400

/* Status register (6.2.3) */
#define PCI_STATUS_INTERRUPT	    0x0008
#define PCI_STATUS_CAP_LIST	    0x0010
#define PCI_STATUS_66MHZ	    0x0020
#define PCI_STATUS_FAST_BACK	    0x0080
#define PCI_STATUS_PARITY	    0x0100
#define PCI_STATUS_DEVSEL_MEDIUM    0x0200
#define PCI_STATUS_SIG_TARGET_ABORT 0x0800
#define PCI_STATUS_REC_TARGET_ABORT 0x1000
#define PCI_STATUS_REC_MASTER_ABORT 0x2000
#define PCI_STATUS_SIG_SYSTEM_ERROR 0x4000
#define PCI_STATUS_DETECTED_PARITY  0x8000
#define PCI_STATUS_W1C                                                                   \
	(PCI_STATUS_PARITY | PCI_STATUS_SIG_TARGET_ABORT | PCI_STATUS_REC_TARGET_ABORT | \
	 PCI_STATUS_REC_MASTER_ABORT | PCI_STATUS_SIG_SYSTEM_ERROR | PCI_STATUS_DETECTED_PARITY)

/* Base address register low bits (6.2.5.1) */
#define PCI_BASE_ADDRESS_SPACE_IO     0x01
#define PCI_BASE_ADDRESS_MEM_TYPE_64  0x04
#define PCI_BASE_ADDRESS_MEM_PREFETCH 0x08
#define PCI_BASE_ADDRESS_IO_MASK      (~0x03u)
#define PCI_BASE_ADDRESS_MEM_MASK     (~0x0fu)

/* Capability IDs (PCI Code and ID Assignment Specification) */
#define PCI_CAP_ID_PM	0x01
#define PCI_CAP_ID_MSI	0x05
#define PCI_CAP_ID_VNDR 0x09
#define PCI_CAP_ID_EXP	0x10
#define PCI_CAP_ID_MSIX 0x11

/* Subsystem IDs of QEMU's virtual chipsets, by which firmware recognises a virtual board. */
#define PCI_SUBSYSTEM_VENDOR_QEMU 0x1af4 /* Red Hat, Inc. */
#define PCI_SUBSYSTEM_QEMU_VM	  0x1100 /* "QEMU virtual machine" */

/* Configuration mechanism #1 (3.2.2.3.2) */
#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT	0xcfc
#define PCI_CONFIG_ENABLE	0x80000000u
#define PCI_CONFIG_ADDRESS_MASK 0x80fffffcu /* enable, bus, device, function, register */

/* PIIX3 reset control register (82371SB datasheet 4.1.17 "RC"), inside 0xCF8-0xCFF */
#define PCI_RC_PORT 0xcf9
#define PCI_RC_SRST 0x02 /* 1: hard (system) reset, 0: soft reset (INIT) */
#define PCI_RC_RCPU 0x04 /* 0 -> 1 initiates the reset */

#endif
