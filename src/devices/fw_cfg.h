/* SPDX-License-Identifier: MIT */
/*
 * The firmware configuration device (fw_cfg.c): the interface through which QEMU-style
 * firmware (SeaBIOS, OVMF) and Linux's qemu_fw_cfg driver read what the VMM tells them --
 * RAM size, CPU count, the memory map, the boot order, the ACPI and SMBIOS tables, a kernel to
 * boot -- as numbered items and named files (QEMU's docs/specs/fw_cfg.rst describes the
 * interface; SeaBIOS src/fw/paravirt.c and OVMF's QemuFwCfgLib are its main readers).
 *
 * x86 ports: the 16-bit selector at base (0x510, write only), the 8-bit data port at base + 1,
 * and the DMA address register at base + 4 .. base + 11 (64 bits, big endian; writing the low
 * half at base + 8 starts the transfer; reading it returns "QEMU CFG").
 *
 * The board fills the items at creation (fw_cfg_add_*); items are copied and never change
 * after the vCPUs start, so they are configuration, not state. Nothing here is writable by
 * the guest: a DMA write sets the error bit, data-port writes are ignored.
 */
#ifndef DEVICES_FW_CFG_H
#define DEVICES_FW_CFG_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#include <stddef.h>

#define FW_CFG_DEFAULT_PORT 0x510
#define FW_CFG_SEL_DATA_LEN 2 /* selector (2 bytes, written as one word) and the data byte */
#define FW_CFG_DMA_OFFSET   4 /* the DMA register's first port, from the base */
#define FW_CFG_DMA_LEN	    8

/* Item keys (fw_cfg.rst "Selector Register"): the standard ones below 0x20, files from 0x20. */
#define FW_CFG_SIGNATURE      0x00
#define FW_CFG_ID	      0x01
#define FW_CFG_UUID	      0x02
#define FW_CFG_RAM_SIZE	      0x03
#define FW_CFG_NOGRAPHIC      0x04
#define FW_CFG_NB_CPUS	      0x05
#define FW_CFG_MACHINE_ID     0x06
#define FW_CFG_KERNEL_ADDR    0x07
#define FW_CFG_KERNEL_SIZE    0x08
#define FW_CFG_KERNEL_CMDLINE 0x09
#define FW_CFG_INITRD_ADDR    0x0a
#define FW_CFG_INITRD_SIZE    0x0b
#define FW_CFG_BOOT_DEVICE    0x0c
#define FW_CFG_NUMA	      0x0d
#define FW_CFG_BOOT_MENU      0x0e
#define FW_CFG_MAX_CPUS	      0x0f
#define FW_CFG_KERNEL_ENTRY   0x10
#define FW_CFG_KERNEL_DATA    0x11
#define FW_CFG_INITRD_DATA    0x12
#define FW_CFG_CMDLINE_ADDR   0x13
#define FW_CFG_CMDLINE_SIZE   0x14
#define FW_CFG_CMDLINE_DATA   0x15
#define FW_CFG_SETUP_ADDR     0x16
#define FW_CFG_SETUP_SIZE     0x17
#define FW_CFG_SETUP_DATA     0x18
#define FW_CFG_FILE_DIR	      0x19
#define FW_CFG_FILE_FIRST     0x20
#define FW_CFG_WRITE_CHANNEL  0x4000 /* selector flag of the old write interface: ignored */
#define FW_CFG_ARCH_LOCAL     0x8000 /* the architecture's own keys */
#define FW_CFG_IRQ0_OVERRIDE  (FW_CFG_ARCH_LOCAL + 0x02)
#define FW_CFG_HPET	      (FW_CFG_ARCH_LOCAL + 0x04)

#define FW_CFG_MAX_FILES     64
#define FW_CFG_FILE_NAME_MAX 55		  /* a directory entry holds 56 bytes, NUL included */
#define FW_CFG_MAX_ITEM	     (256u << 20) /* the largest item the board may add */

/* FW_CFG_ID bits */
#define FW_CFG_VERSION	   0x01 /* the traditional selector/data interface */
#define FW_CFG_VERSION_DMA 0x02

/* DMA control word (big endian in guest memory) */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10
#define FW_CFG_DMA_SIGNATURE  0x51454d5520434647ull /* "QEMU CFG" */

struct fw_cfg_config {
	const char *name; /* "fw-cfg" */
	u16 port;	  /* FW_CFG_DEFAULT_PORT */
};

struct fw_cfg;

/*
 * Map the ports; the signature and ID items exist from the start. -ENOMEM, -EBUSY with a
 * message. Main thread.
 */
MUST_CHECK int fw_cfg_create(struct platform *p, const struct fw_cfg_config *cfg,
			     struct fw_cfg **out, struct err *err);
void fw_cfg_destroy(struct fw_cfg *c);

/*
 * Set numbered item key (below FW_CFG_FILE_FIRST, or FW_CFG_ARCH_LOCAL + 0..0x1f) to a copy of
 * len bytes, replacing what it held. -EINVAL (a file's or the directory's key, too large),
 * -ENOMEM, with a message. Main thread, before the vCPUs run.
 */
MUST_CHECK int fw_cfg_add_item(struct fw_cfg *c, u16 key, const void *data, size_t len,
			       struct err *err);
/* Little-endian integer items. */
MUST_CHECK int fw_cfg_add_u16(struct fw_cfg *c, u16 key, u16 v, struct err *err);
MUST_CHECK int fw_cfg_add_u32(struct fw_cfg *c, u16 key, u32 v, struct err *err);
MUST_CHECK int fw_cfg_add_u64(struct fw_cfg *c, u16 key, u64 v, struct err *err);

/*
 * Add file name (1..FW_CFG_FILE_NAME_MAX characters, unique) holding a copy of len bytes; it
 * gets the next key from FW_CFG_FILE_FIRST. -EINVAL, -EEXIST, -ENOSPC, -ENOMEM with a message.
 * Main thread, before the vCPUs run.
 */
MUST_CHECK int fw_cfg_add_file(struct fw_cfg *c, const char *name, const void *data, size_t len,
			       struct err *err);
/* The key of file name, or -ENOENT. */
int fw_cfg_file_key(const struct fw_cfg *c, const char *name);

/* Power-on state of the interface: nothing selected, DMA address cleared. Device lock held. */
void fw_cfg_reset(struct fw_cfg *c);

extern const struct device_ops fw_cfg_device_ops;

#endif
