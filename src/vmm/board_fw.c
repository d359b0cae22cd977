// SPDX-License-Identifier: MIT
/*
 * The firmware interface of the PC board (board_fw.h): fw_cfg at 0x510 with
 *   - RAM_SIZE, NB_CPUS and MAX_CPUS, NOGRAPHIC, BOOT_MENU;
 *   - etc/e820: the RAM regions ({le64 address, le64 length, le32 type} entries; SeaBIOS and
 *     OVMF take the memory map from it, carving out their own areas);
 *   - etc/acpi/rsdp, etc/acpi/tables and etc/table-loader: the board's own ACPI tables
 *     (acpi.c), which the firmware places and patches, instead of tables of its own;
 *   - etc/smbios/smbios-tables and etc/smbios/smbios-anchor (smbios.c);
 *   - etc/sercon-port = 0x3f8 when the VM has no display, so SeaBIOS puts its console (the
 *     int 10h text output boot loaders use) on COM1, and etc/show-boot-menu = 0 (no "Press
 *     ESC for boot menu" prompt and its wait);
 *   - bootorder: the OpenFirmware paths of the disks with a boot_index, lowest first (the
 *     firmware boots the others after them, in its own order).
 *   - with boot.kernel: the setup, kernel, initrd and command-line items of that bzImage
 *     (boot_linux_fw), and the VMM's option ROM genroms/vmm-linuxboot.bin that boots them
 *     under SeaBIOS, first in bootorder (OVMF reads the items itself).
 * Other option ROMs (genroms/NAME) are added by the devices that bring them.
 *
 * With boot.firmware_vars, the firmware's variable store: the file is read whole into a
 * buffer that a writable CFI flash bank (pflash) maps right below the code image (which
 * boot/firmware.c maps as ROM ending at 4 GiB, where OVMF's flash layout puts it). Every
 * program and erase is written through to the file (pwrite of the changed bytes, on the vCPU
 * thread, before the guest can read the status back), so a crash of the VMM loses nothing the
 * firmware was told had completed; the file is synced (fdatasync) when the VM ends, so a
 * crash of the host loses at most what its page cache had not yet written. The contents
 * survive reboots (flash is non-volatile: a reset only returns the bank to read array mode).
 *
 * With debug.firmware_log, the firmware's debug port (debugcon, 0x402) goes to that file:
 * created with mode 0600 (a symbolic link in its place is refused), at most
 * BOARD_FW_LOG_MAX bytes (a guest cannot fill the host's disk), written a line at a time.
 */
#include "vmm/board_fw.h"

#include "devices/debugcon.h"
#include "devices/fw_cfg.h"
#include "devices/pflash.h"
#include "vmm/base/log.h"
#include "vmm/board_disks.h"
#include "vmm/boot/boot.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include "devices/device.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOARD_FW_COM1	    0x3f8
#define BOARD_FW_PATH_MAX   96
#define BOARD_FW_E820_ENTRY 20
#define BOARD_FW_LOG_MAX    (16u << 20)
#define BOARD_FW_LOG_LINE   256
#define BOARD_FW_FLASH_TOP  (1ull << 32)

struct board_fw {
	struct vm *vm;
	struct fw_cfg *fw_cfg;
	struct debugcon *debugcon;
	int log_fd;
	u64 log_bytes;
	char line[BOARD_FW_LOG_LINE];
	unsigned line_len;
	/* boot.firmware_vars */
	struct pflash *vars_flash;
	u8 *vars;
	u64 vars_size;
	int vars_fd;
};

static void board_fw_log_flush(struct board_fw *f)
{
	size_t done = 0;

	while (done < f->line_len) {
		ssize_t n = write(f->log_fd, f->line + done, f->line_len - done);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			log_warn("debug.firmware_log: write failed: %s; the log stops here",
				 n < 0 ? strerror(errno) : "nothing written");
			f->log_bytes = BOARD_FW_LOG_MAX;
			break;
		}
		done += (size_t)n;
	}
	f->line_len = 0;
}

/* A byte from the firmware's debug port. Device lock held, vCPU thread. */
static void board_fw_log_byte(void *opaque, u8 byte)
{
	struct board_fw *f = opaque;

	if (f->log_bytes >= BOARD_FW_LOG_MAX)
		return;
	if (++f->log_bytes == BOARD_FW_LOG_MAX) {
		log_warn("debug.firmware_log: %u MiB written; the rest is dropped",
			 BOARD_FW_LOG_MAX >> 20);
		board_fw_log_flush(f);
		return;
	}
	f->line[f->line_len++] = (char)byte;
	if (byte == '\n' || f->line_len == sizeof(f->line))
		board_fw_log_flush(f);
}

static int board_fw_create_log(struct board_fw *f, const char *path, struct err *err)
{
	struct debugcon_config cfg = { .name = "debugcon",
				       .port = DEBUGCON_DEFAULT_PORT,
				       .write = board_fw_log_byte,
				       .opaque = f };
	int ret;

	f->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->log_fd < 0)
		return err_set(err, -errno, "debug.firmware_log: %s: %s", path, strerror(errno));
	ret = debugcon_create(&f->vm->plat, &cfg, &f->debugcon, err);
	if (ret < 0)
		return ret;
	ret = platform_add_dev(&f->vm->plat, &debugcon_device_ops, f->debugcon, cfg.name);
	return ret < 0 ? err_set(err, ret, "%s: cannot register the device: %s", cfg.name,
				 strerror(-ret)) :
			 0;
}

/* pflash's write-through: bytes [off, off + len) of the store to the file. Device lock held. */
static int board_fw_vars_persist(void *opaque, u64 off, u64 len)
{
	struct board_fw *f = opaque;
	u64 done = 0;

	while (done < len) {
		ssize_t n =
			pwrite(f->vars_fd, f->vars + off + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (u64)n;
	}
	return 0;
}

/* boot.firmware_vars: the file in a buffer, a writable flash bank below the code image. */
static int board_fw_create_vars(struct board_fw *f, struct err *err)
{
	const struct boot_spec *b = &f->vm->spec->boot;
	struct pflash_config pc = { .name = "pflash-vars",
				    .block_size = SPEC_FLASH_BLOCK,
				    .persist = board_fw_vars_persist,
				    .persist_opaque = f };
	const char *fault;
	struct stat st;
	u64 code_size, done = 0;
	int ret;

	ret = boot_firmware_check(b->image, &code_size, err);
	if (ret < 0)
		return ret;
	f->vars_fd = open(b->firmware_vars, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (f->vars_fd < 0 || fstat(f->vars_fd, &st) < 0)
		return err_set(err, -errno, "boot.firmware_vars: cannot open %s for writing: %s",
			       b->firmware_vars, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return err_set(err, -EINVAL, "boot.firmware_vars: %s is not a regular file",
			       b->firmware_vars);
	fault = spec_firmware_flash_fault(code_size, (u64)st.st_size);
	if (fault)
		return err_set(err, -EINVAL,
			       "boot.firmware_vars: %s is %llu bytes, boot.firmware %llu: %s",
			       b->firmware_vars, (unsigned long long)st.st_size,
			       (unsigned long long)code_size, fault);
	f->vars_size = (u64)st.st_size;
	f->vars = malloc(f->vars_size);
	if (!f->vars)
		return err_set(err, -ENOMEM, "boot.firmware_vars: out of memory");
	while (done < f->vars_size) {
		ssize_t n = pread(f->vars_fd, f->vars + done, f->vars_size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(err, n < 0 ? -errno : -EIO,
				       "boot.firmware_vars: cannot read %s: %s", b->firmware_vars,
				       n < 0 ? strerror(errno) : "the file became shorter");
		done += (u64)n;
	}
	pc.base = BOARD_FW_FLASH_TOP - code_size - f->vars_size;
	pc.data = f->vars;
	pc.size = f->vars_size;
	ret = pflash_create(&f->vm->plat, &pc, &f->vars_flash, err);
	if (ret < 0)
		return ret;
	ret = platform_add_dev(&f->vm->plat, &pflash_device_ops, f->vars_flash, pc.name);
	if (ret < 0) {
		pflash_destroy(f->vars_flash);
		f->vars_flash = NULL;
		return err_set(err, ret, "%s: cannot register the device: %s", pc.name,
			       strerror(-ret));
	}
	log_info("boot.firmware_vars: %s: %llu KiB of firmware variables at %#llx-%#llx, "
		 "written through",
		 b->firmware_vars, (unsigned long long)(f->vars_size >> 10),
		 (unsigned long long)pc.base, (unsigned long long)(pc.base + pc.size - 1));
	return 0;
}

/* The end of the guest RAM region that holds 1 MiB (where the kernel goes), below 4 GiB. */
static u64 board_fw_ram_end(const struct gmem *mem)
{
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];

		if (!r->rom && r->gpa <= BOOT_FW_KERNEL_GPA && r->gpa + r->len > BOOT_FW_KERNEL_GPA)
			return MIN(r->gpa + r->len, 1ull << 32);
	}
	return 0;
}

static int board_fw_add_part(struct fw_cfg *c, const u16 keys[3], u32 gpa, const void *data,
			     u32 len, struct err *err)
{
	int ret = fw_cfg_add_u32(c, keys[0], gpa, err);

	if (!ret)
		ret = fw_cfg_add_u32(c, keys[1], len, err);
	if (!ret && len)
		ret = fw_cfg_add_item(c, keys[2], data, len, err);
	return ret;
}

/*
 * boot.kernel with boot.firmware: the setup, kernel, initrd and command-line items (each its
 * ADDR, SIZE and DATA) that OVMF reads, and for SeaBIOS the VMM's option ROM that loads them.
 */
static int board_fw_kernel(struct board_fw *f, struct err *err)
{
	static const u16 setup[3] = { FW_CFG_SETUP_ADDR, FW_CFG_SETUP_SIZE, FW_CFG_SETUP_DATA },
			 kernel[3] = { FW_CFG_KERNEL_ADDR, FW_CFG_KERNEL_SIZE, FW_CFG_KERNEL_DATA },
			 initrd[3] = { FW_CFG_INITRD_ADDR, FW_CFG_INITRD_SIZE, FW_CFG_INITRD_DATA },
			 cmdline[3] = { FW_CFG_CMDLINE_ADDR, FW_CFG_CMDLINE_SIZE,
					FW_CFG_CMDLINE_DATA };
	const struct boot_spec *b = &f->vm->spec->boot;
	struct boot_params_in in = { .kernel = b->fw_kernel,
				     .initrd = b->initrd,
				     .cmdline = b->cmdline };
	struct boot_fw_kernel k;
	int ret = boot_linux_fw(&in, board_fw_ram_end(&f->vm->plat.mem), &k, err);

	if (!ret)
		ret = board_fw_add_part(f->fw_cfg, setup, k.setup_gpa, k.setup, k.setup_len, err);
	if (!ret)
		ret = board_fw_add_part(f->fw_cfg, kernel, k.kernel_gpa, k.kernel, k.kernel_len,
					err);
	if (!ret)
		ret = board_fw_add_part(f->fw_cfg, initrd, k.initrd_gpa, k.initrd, k.initrd_len,
					err);
	if (!ret)
		ret = board_fw_add_part(f->fw_cfg, cmdline, k.cmdline_gpa, b->cmdline,
					k.cmdline_len, err);
	if (!ret)
		ret = fw_cfg_add_file(f->fw_cfg, BOOT_FW_ROM_FILE, boot_linuxboot_rom,
				      boot_linuxboot_rom_len, err);
	boot_fw_kernel_free(&k);
	return ret;
}

/*
 * bootorder: the kernel's option ROM first when there is one, then the disks with a
 * boot_index, lowest first, one OpenFirmware path a line.
 */
static int board_fw_bootorder(struct board_fw *f, const struct board_disks *disks, struct err *err)
{
	const struct vm_spec *spec = f->vm->spec;
	char *text = calloc(spec->nr_disks + 2, BOARD_FW_PATH_MAX), path[BOARD_FW_PATH_MAX];
	size_t len = 0;
	int ret = 0;

	if (!text)
		return err_set(err, -ENOMEM, "firmware: out of memory");
	if (spec->boot.fw_kernel)
		len += (size_t)snprintf(text, BOARD_FW_PATH_MAX, "/rom@%s\n", BOOT_FW_ROM_FILE);
	for (unsigned idx = 0; idx <= SPEC_BOOT_INDEX_MAX; idx++) {
		for (unsigned i = 0; i < spec->nr_disks; i++) {
			if (!spec->disks[i].has_boot_index || spec->disks[i].boot_index != idx)
				continue;
			if (board_disks_fw_path(disks, i, path, sizeof(path)) == 0)
				len += (size_t)snprintf(text + len, BOARD_FW_PATH_MAX, "%s\n",
							path);
		}
	}
	if (len) {
		text[len - 1] = '\0'; /* lines separated by newlines, then a NUL */
		log_dbg(LOG_CAT_BOOT, "firmware: boot order:\n%s", text);
		ret = fw_cfg_add_file(f->fw_cfg, "bootorder", text, len, err);
	}
	free(text);
	return ret;
}

static int board_fw_add_le16(struct fw_cfg *c, const char *name, u16 v, struct err *err)
{
	u8 b[2] = { (u8)v, (u8)(v >> 8) };

	return fw_cfg_add_file(c, name, b, sizeof(b), err);
}

/* etc/e820: every RAM region of the guest (the ROM is the firmware's own business). */
static int board_fw_e820(struct board_fw *f, struct err *err)
{
	const struct gmem *mem = &f->vm->plat.mem;
	u8 buf[GMEM_MAX_REGIONS * BOARD_FW_E820_ENTRY], *e = buf;

	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];

		if (r->rom)
			continue;
		for (unsigned b = 0; b < 8; b++) {
			e[b] = (u8)(r->gpa >> (8 * b));
			e[8 + b] = (u8)(r->len >> (8 * b));
		}
		e[16] = E820_RAM;
		e[17] = e[18] = e[19] = 0;
		e += BOARD_FW_E820_ENTRY;
	}
	return fw_cfg_add_file(f->fw_cfg, "etc/e820", buf, (size_t)(e - buf), err);
}

static int board_fw_acpi(struct board_fw *f, const struct acpi_config *cfg, struct err *err)
{
	struct acpi_tables t;
	u8 *loader = NULL;
	size_t loader_len = 0;
	int ret = acpi_tables_build(cfg, &t, err);

	if (ret < 0)
		return ret;
	/*
	 * The blobs go with their checksum fields zero, as the loader script's ADD_CHECKSUM
	 * expects: OVMF stores the sum of the range there (SeaBIOS subtracts it from the field,
	 * which also works from zero), so a field left holding the sum for unpatched pointers
	 * makes every table's checksum wrong and OVMF installs none of them.
	 */
	for (unsigned i = 0; i < t.nr_sums; i++)
		(t.sums[i].blob == ACPI_BLOB_RSDP ? t.rsdp : t.tables)[t.sums[i].at] = 0;
	ret = acpi_tables_loader(&t, &loader, &loader_len, err);
	if (!ret)
		ret = fw_cfg_add_file(f->fw_cfg, ACPI_FILE_RSDP, t.rsdp, ACPI_RSDP_LEN, err);
	if (!ret)
		ret = fw_cfg_add_file(f->fw_cfg, ACPI_FILE_TABLES, t.tables, t.tables_len, err);
	if (!ret)
		ret = fw_cfg_add_file(f->fw_cfg, ACPI_FILE_LOADER, loader, loader_len, err);
	free(loader);
	acpi_tables_free(&t);
	return ret;
}

static int board_fw_smbios(struct board_fw *f, const char *product, struct err *err)
{
	const struct vm_spec *spec = f->vm->spec;
	const struct gmem *mem = &f->vm->plat.mem;
	struct smbios_config cfg = { .name = spec->name,
				     .product = product,
				     .nr_vcpus = spec->vcpus,
				     .ram_bytes = spec->memory_mib << 20 };
	struct smbios_tables t;
	int ret;

	for (unsigned i = 0; i < mem->nr && cfg.nr_ranges < SMBIOS_MAX_RANGES; i++) {
		if (mem->regions[i].rom)
			continue;
		cfg.ranges[cfg.nr_ranges].gpa = mem->regions[i].gpa;
		cfg.ranges[cfg.nr_ranges++].len = mem->regions[i].len;
	}
	ret = smbios_build(&cfg, &t, err);
	if (ret < 0)
		return ret;
	ret = fw_cfg_add_file(f->fw_cfg, SMBIOS_FILE_TABLES, t.tables, t.tables_len, err);
	if (!ret)
		ret = fw_cfg_add_file(f->fw_cfg, SMBIOS_FILE_ANCHOR, t.anchor, SMBIOS_ANCHOR_LEN,
				      err);
	smbios_tables_free(&t);
	return ret;
}

/* The numbered items: what QEMU-style firmware reads before anything else. */
static int board_fw_items(struct board_fw *f, struct err *err)
{
	const struct vm_spec *spec = f->vm->spec;
	struct fw_cfg *c = f->fw_cfg;
	int ret;

	ret = fw_cfg_add_u64(c, FW_CFG_RAM_SIZE, spec->memory_mib << 20, err);
	if (!ret)
		ret = fw_cfg_add_u16(c, FW_CFG_NB_CPUS, (u16)spec->vcpus, err);
	if (!ret)
		ret = fw_cfg_add_u16(c, FW_CFG_MAX_CPUS, (u16)spec->vcpus, err);
	if (!ret)
		ret = fw_cfg_add_u16(c, FW_CFG_NOGRAPHIC, spec->display.type == DISPLAY_NONE, err);
	if (!ret)
		ret = fw_cfg_add_u16(c, FW_CFG_BOOT_MENU, 0, err);
	return ret;
}

/* The console and the boot menu of SeaBIOS (src/sercon.c, src/boot.c read these files). */
static int board_fw_console(struct board_fw *f, struct err *err)
{
	int ret = 0;

	if (f->vm->spec->display.type == DISPLAY_NONE)
		ret = board_fw_add_le16(f->fw_cfg, "etc/sercon-port", BOARD_FW_COM1, err);
	if (!ret)
		ret = board_fw_add_le16(f->fw_cfg, "etc/show-boot-menu", 0, err);
	return ret;
}

int board_fw_create(struct vm *vm, const struct board_fw_config *cfg, struct board_fw **out,
		    struct err *err)
{
	struct fw_cfg_config fc = { .name = "fw-cfg", .port = FW_CFG_DEFAULT_PORT };
	struct board_fw *f = calloc(1, sizeof(*f));
	int ret;

	if (!f)
		return err_set(err, -ENOMEM, "firmware: out of memory");
	f->vm = vm;
	f->log_fd = -1;
	f->vars_fd = -1;
	ret = fw_cfg_create(&vm->plat, &fc, &f->fw_cfg, err);
	if (ret < 0)
		goto err_free;
	ret = platform_add_dev(&vm->plat, &fw_cfg_device_ops, f->fw_cfg, fc.name);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot register the device: %s", fc.name, strerror(-ret));
		goto err_destroy;
	}
	ret = board_fw_items(f, err);
	if (!ret)
		ret = board_fw_e820(f, err);
	if (!ret)
		ret = board_fw_acpi(f, cfg->acpi, err);
	if (!ret)
		ret = board_fw_smbios(f, cfg->product, err);
	if (!ret)
		ret = board_fw_console(f, err);
	if (!ret && vm->spec->boot.fw_kernel)
		ret = board_fw_kernel(f, err);
	if (!ret)
		ret = board_fw_bootorder(f, cfg->disks, err);
	if (!ret && vm->spec->debug.firmware_log)
		ret = board_fw_create_log(f, vm->spec->debug.firmware_log, err);
	if (!ret && vm->spec->boot.firmware_vars)
		ret = board_fw_create_vars(f, err);
	if (ret < 0)
		goto err_destroy;
	*out = f;
	return 0;

err_destroy:
	board_fw_destroy(f);
	return ret;
err_free:
	free(f);
	return ret;
}

const u8 *board_fw_vars(const struct board_fw *f, u64 *size)
{
	*size = f && f->vars_flash ? f->vars_size : 0;
	return f && f->vars_flash ? f->vars : NULL;
}

void board_fw_destroy(struct board_fw *f)
{
	if (!f)
		return;
	platform_del_dev(&f->vm->plat, f->debugcon);
	debugcon_destroy(f->debugcon);
	if (f->log_fd >= 0) {
		board_fw_log_flush(f);
		close(f->log_fd);
	}
	platform_del_dev(&f->vm->plat, f->fw_cfg);
	fw_cfg_destroy(f->fw_cfg);
	if (f->vars_flash) {
		platform_del_dev(&f->vm->plat, f->vars_flash);
		pflash_destroy(f->vars_flash);
	}
	if (f->vars_fd >= 0) {
		if (f->vars_flash && fdatasync(f->vars_fd) < 0)
			log_warn("boot.firmware_vars: %s: cannot sync: %s",
				 f->vm->spec->boot.firmware_vars, strerror(errno));
		close(f->vars_fd);
	}
	free(f->vars);
	free(f);
}
