// SPDX-License-Identifier: MIT
/*
 * Flat binaries: the file is copied to load_address (below 1 MiB) and the
 * boot vCPU starts there in real mode (Intel SDM vol. 3A 20.1, real-address
 * mode), the way a BIOS starts a boot sector at 0000:7C00 with DL = 0x80
 * (the boot drive). CS:IP is 0000:addr when addr < 64 KiB, else
 * (addr >> 4):(addr & 0xf). The stack is SS = 0, SP = the load address (it
 * grows down, below the image) when there is room, else a 4 KiB stack right
 * above the image. Interrupts off, caches on (CR0 = ET only).
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>

#define FLAT_STACK_MIN 0x600ull /* above the IVT and the BIOS data area */

int boot_flat(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
	      struct err *err)
{
	struct boot_file f;
	u64 addr = in->load_address, end;
	u16 cs, ip, ss, sp;
	int ret;

	boot_cpu_prepare(bsp);
	ret = boot_file_open(&f, "flat image", in->flat, err);
	if (ret)
		return ret;
	end = addr + f.size;
	if (addr >= BOOT_BIOS_END || !f.size || f.size > BOOT_BIOS_END || end > BOOT_BIOS_END) {
		ret = err_set(
			err, -EINVAL,
			"flat image %s: %llu bytes at %#llx do not fit below 1 MiB (real mode)",
			f.path, (unsigned long long)f.size, (unsigned long long)addr);
		goto out_close;
	}
	if (!gmem_ptr(mem, addr, f.size)) {
		ret = err_set(err, -EINVAL, "flat image %s: %#llx-%#llx is not guest RAM", f.path,
			      (unsigned long long)addr, (unsigned long long)(end - 1));
		goto out_close;
	}
	ret = boot_file_load(&f, 0, f.size, mem, addr, err);
	if (ret)
		goto out_close;

	if (addr < 0x10000) {
		cs = 0;
		ip = (u16)addr;
	} else {
		cs = (u16)(addr >> 4);
		ip = (u16)(addr & 0xf);
	}
	if (addr >= FLAT_STACK_MIN) {
		ss = 0;
		sp = addr >= 0x10000 ? 0xfffe : (u16)addr;
	} else if (ALIGN_UP(end, 16) + 0x1000 <= BOOT_EBDA_START) {
		ss = (u16)(ALIGN_UP(end, 16) >> 4);
		sp = 0x1000;
	} else { /* the image fills low memory: the top of conventional memory */
		ss = 0x9000;
		sp = 0xf000;
	}
	boot_seg_real(&bsp->seg[CPU_CS], cs, true);
	for (unsigned i = 0; i < CPU_NR_SEGS; i++)
		if (i != CPU_CS)
			boot_seg_real(&bsp->seg[i], 0, false);
	boot_seg_real(&bsp->seg[CPU_SS], ss, false);
	bsp->rip = ip;
	bsp->gpr[CPU_RSP] = sp;
	bsp->gpr[CPU_RDX] = 0x80;
	bsp->cr0 = 0x10;
	bsp->idtr.limit = 0x3ff; /* the real-mode IVT at 0 */
	log_dbg(LOG_CAT_BOOT, "boot: flat %s at %#llx, CS:IP %04x:%04x SS:SP %04x:%04x", f.path,
		(unsigned long long)addr, cs, ip, ss, sp);
out_close:
	boot_file_close(&f);
	return ret;
}
