// SPDX-License-Identifier: MIT
/*
 * Firmware boot: a BIOS image (SeaBIOS's bios.bin / bios-256k.bin from
 * Debian's seabios package) is mapped at the top of the 32-bit address space,
 * ending at 4 GiB, as on a PC (the flash's reset vector at 0xFFFFFFF0), and
 * its last 128 KiB are also copied to 0xE0000-0xFFFFF, the legacy BIOS
 * segment that real-mode code at F000:xxxx runs from (Intel SDM vol. 3A
 * 9.1.4: the first instruction is fetched at 0xFFFFFFF0 with CS.base
 * 0xFFFF0000 until CS is reloaded).
 *
 * The high copy is a new gmem region (anonymous memory owned by gmem:
 * gmem_destroy unmaps it) that e820_build reports as reserved. Not done: the
 * high copy is writable RAM, not ROM (gmem has no read-only regions), and
 * the firmware configuration interface (fw_cfg) belongs to src/devices.
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <sys/mman.h>

#define FIRMWARE_MAX_BYTES (16ull << 20)
#define FIRMWARE_LOW_BYTES (128ull << 10)

int boot_firmware(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
		  struct err *err)
{
	struct boot_file f;
	u64 low_len, gpa;
	void *hva;
	int ret;

	boot_cpu_prepare(bsp); /* the RESET state is the firmware's entry state */
	ret = boot_file_open(&f, "firmware", in->firmware, err);
	if (ret)
		return ret;
	if (f.size < 0x10000 || f.size > FIRMWARE_MAX_BYTES || (f.size & 0xffff)) {
		ret = err_set(
			err, -EINVAL,
			"firmware %s: size %llu is not a multiple of 64 KiB between 64 KiB and 16 MiB",
			f.path, (unsigned long long)f.size);
		goto out_close;
	}
	gpa = GMEM_HIGH_START - f.size;
	hva = gmem_ptr(mem, gpa, f.size);
	if (hva) {
		/*
		 * A reset in place (vm.reboot): [4 GiB - size, 4 GiB) is never RAM, so this is the
		 * ROM region of the first boot; load the image into it again.
		 */
		ret = boot_file_read(&f, 0, hva, f.size, err);
		if (ret)
			goto out_close;
	} else {
		hva = mmap(NULL, f.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			   0);
		if (hva == MAP_FAILED) {
			ret = err_set(err, -ENOMEM, "firmware %s: out of memory", f.path);
			goto out_close;
		}
		ret = boot_file_read(&f, 0, hva, f.size, err);
		if (ret)
			goto out_unmap;
		ret = gmem_add(mem, gpa, f.size, hva);
		if (ret) {
			err_set(err, ret, "firmware %s: %#llx-%#llx is already in use", f.path,
				(unsigned long long)gpa, (unsigned long long)(GMEM_HIGH_START - 1));
			goto out_unmap;
		}
	}
	/* From here on gmem owns the mapping. */
	low_len = MIN(f.size, FIRMWARE_LOW_BYTES);
	if (gmem_write(mem, BOOT_BIOS_END - low_len, (u8 *)hva + f.size - low_len, low_len) < 0) {
		ret = err_set(err, -EFAULT, "firmware %s: guest RAM does not reach 1 MiB", f.path);
		goto out_close;
	}
	log_dbg(LOG_CAT_BOOT, "boot: firmware %s at %#llx-%#llx and %#llx-%#llx", f.path,
		(unsigned long long)gpa, (unsigned long long)(GMEM_HIGH_START - 1),
		(unsigned long long)(BOOT_BIOS_END - low_len),
		(unsigned long long)(BOOT_BIOS_END - 1));
	goto out_close;

out_unmap:
	munmap(hva, f.size);
out_close:
	boot_file_close(&f);
	return ret;
}
