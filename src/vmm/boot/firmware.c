// SPDX-License-Identifier: MIT
/*
 * Firmware boot: a firmware image -- SeaBIOS's bios.bin / bios-256k.bin, or OVMF's code
 * volume (OVMF_CODE_4M.fd) from Debian's seabios and ovmf packages -- is mapped as ROM at the
 * top of the 32-bit address space, ending at 4 GiB, as the flash of a PC (the reset vector
 * at 0xFFFFFFF0), and its last 128 KiB are also copied to 0xE0000-0xFFFFF, the legacy BIOS
 * segment that real-mode code at F000:xxxx runs from (Intel SDM vol. 3A 9.1.4: the first
 * instruction is fetched at 0xFFFFFFF0 with CS.base 0xFFFF0000 until CS is reloaded). The
 * copy is what a chipset's PAM registers show there at power-on (the firmware unlocks PAM
 * and writes that RAM later; the copy here is plain RAM from the start).
 *
 * The ROM is a new gmem region (gmem_add_rom: anonymous memory owned by gmem, which
 * gmem_destroy unmaps) that the accelerator maps read-only and e820_build reports
 * reserved. A reboot loads the same image again into the same region and the low copy, so
 * the firmware starts from its pristine image and runs its POST again.
 *
 * The firmware's configuration (fw_cfg), its variable store (pflash) and its boot devices are
 * the board's.
 */
#include "vmm/boot/boot_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#define FIRMWARE_MIN_BYTES    (64ull << 10)
#define FIRMWARE_MAX_BYTES    (16ull << 20)
#define FIRMWARE_LOW_BYTES    (128ull << 10)
#define FIRMWARE_FV_SIGNATURE 40 /* EFI_FIRMWARE_VOLUME_HEADER.Signature */

int boot_firmware_check(const char *path, u64 *size, struct err *err)
{
	struct boot_file f;
	int ret = boot_file_open(&f, "firmware", path, err);

	if (ret)
		return ret;
	if (f.size < FIRMWARE_MIN_BYTES || f.size > FIRMWARE_MAX_BYTES || (f.size & 0xfff))
		ret = err_set(err, -EINVAL,
			      "firmware %s: size %llu is not a multiple of 4 KiB between 64 KiB "
			      "and 16 MiB",
			      f.path, (unsigned long long)f.size);
	else
		*size = f.size;
	boot_file_close(&f);
	return ret;
}

/* The ROM region for an image of size bytes: the one a previous boot made, or a new one. */
static int boot_firmware_rom(struct gmem *mem, const char *path, u64 size, u8 **hva,
			     struct err *err)
{
	u64 gpa = GMEM_HIGH_START - size;
	const struct gmem_region *r = gmem_region_at(mem, gpa);
	void *p;
	int ret;

	if (r && r->rom && r->len == size) {
		*hva = r->hva;
		return 0;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return err_set(err, -ENOMEM, "firmware %s: out of memory", path);
	ret = gmem_add_rom(mem, gpa, size, p);
	if (ret) {
		munmap(p, size);
		return err_set(err, ret, "firmware %s: %#llx-%#llx is already in use", path,
			       (unsigned long long)gpa, (unsigned long long)(GMEM_HIGH_START - 1));
	}
	*hva = p; /* from here on gmem owns the mapping */
	return 0;
}

int boot_firmware_uefi(const char *path, bool *uefi, struct err *err)
{
	struct boot_file f;
	u8 sig[4];
	int ret = boot_file_open(&f, "firmware", path, err);

	if (ret)
		return ret;
	*uefi = false;
	if (f.size >= FIRMWARE_FV_SIGNATURE + sizeof(sig)) {
		ret = boot_file_read(&f, FIRMWARE_FV_SIGNATURE, sig, sizeof(sig), err);
		*uefi = !ret && !memcmp(sig, "_FVH", sizeof(sig));
	}
	boot_file_close(&f);
	return ret;
}

int boot_firmware_wake(struct cpu_state *bsp)
{
	boot_cpu_prepare(bsp);
	log_dbg(LOG_CAT_BOOT, "boot: S3 resume through the firmware's reset vector");
	return 0;
}

int boot_firmware_reserve(struct gmem *mem, const char *path, struct err *err)
{
	u64 size;
	u8 *hva;
	int ret = boot_firmware_check(path, &size, err);

	return ret ? ret : boot_firmware_rom(mem, path, size, &hva, err);
}

int boot_firmware(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
		  struct err *err)
{
	struct boot_file f;
	u64 size, low_len;
	u8 *hva = NULL;
	int ret;

	boot_cpu_prepare(bsp); /* the RESET state is the firmware's entry state */
	ret = boot_firmware_check(in->firmware, &size, err);
	if (ret)
		return ret;
	ret = boot_file_open(&f, "firmware", in->firmware, err);
	if (ret)
		return ret;
	if (f.size != size) {
		ret = err_set(err, -EIO, "firmware %s: the file changed size while starting",
			      f.path);
		goto out_close;
	}
	ret = boot_firmware_rom(mem, f.path, size, &hva, err);
	if (!ret)
		ret = boot_file_read(&f, 0, hva, size, err);
	if (ret)
		goto out_close;
	low_len = MIN(size, FIRMWARE_LOW_BYTES);
	if (gmem_write(mem, BOOT_BIOS_END - low_len, hva + size - low_len, low_len) < 0) {
		ret = err_set(err, -EFAULT, "firmware %s: guest RAM does not reach 1 MiB", f.path);
		goto out_close;
	}
	log_dbg(LOG_CAT_BOOT, "boot: firmware %s at %#llx-%#llx and %#llx-%#llx", f.path,
		(unsigned long long)(GMEM_HIGH_START - size),
		(unsigned long long)(GMEM_HIGH_START - 1),
		(unsigned long long)(BOOT_BIOS_END - low_len),
		(unsigned long long)(BOOT_BIOS_END - 1));
out_close:
	boot_file_close(&f);
	return ret;
}
