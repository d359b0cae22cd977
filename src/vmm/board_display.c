// SPDX-License-Identifier: MIT
/*
 * The display on the PC board (board_display.h): the stdvga card in the PCI slot after the
 * disks, with the VGA BIOS from display.rom in its expansion ROM, the display back end
 * (vmm/display) showing it, and VNC input fed to the i8042's keyboard and mouse under the
 * device lock. For guests started without firmware the board plays the VGA BIOS's part at
 * boot: 80x25 text mode with the BIOS image's 8x16 font, which the Linux loader announces to
 * the kernel (vgacon).
 */
#include "vmm/board_display.h"

#include "devices/i8042.h"
#include "devices/vga.h"
#include "vmm/base/log.h"
#include "vmm/display/display.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct board_display {
	struct vm *vm;
	struct vga *vga;
	struct i8042 *kbd;
	struct display *display;
	u8 *rom;
	size_t rom_len;
	const u8 *font; /* inside rom, or NULL */
};

/* The whole VGA BIOS file, at most SPEC_DISPLAY_ROM_MAX bytes. */
static int board_display_read_rom(const char *path, u8 **out, size_t *len, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	size_t got = 0;
	u8 *buf;

	if (fd < 0)
		return err_set(err, -errno, "display.rom: cannot open %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > SPEC_DISPLAY_ROM_MAX) {
		close(fd);
		return err_set(err, -EINVAL,
			       "display.rom: %s is not a regular file of 1 byte to %u KiB", path,
			       SPEC_DISPLAY_ROM_MAX >> 10);
	}
	buf = malloc((size_t)st.st_size);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		free(buf);
		return err_set(err, buf ? -EIO : -ENOMEM, "display.rom: cannot read %s", path);
	}
	*out = buf;
	*len = got;
	return 0;
}

static void board_display_key(void *opaque, unsigned key, bool down)
{
	struct board_display *d = opaque;

	pthread_mutex_lock(&d->vm->plat.dev_lock);
	if (!i8042_key(d->kbd, key, down))
		log_dbg(LOG_CAT_DEV, "%s: display: key %#x dropped (keyboard off or full)",
			d->vm->spec->name, key);
	pthread_mutex_unlock(&d->vm->plat.dev_lock);
}

static void board_display_mouse(void *opaque, s32 dx, s32 dy, s32 dz, u8 buttons)
{
	struct board_display *d = opaque;

	pthread_mutex_lock(&d->vm->plat.dev_lock);
	i8042_mouse(d->kbd, dx, dy, dz, buttons);
	pthread_mutex_unlock(&d->vm->plat.dev_lock);
}

int board_display_create(struct vm *vm, struct pci_host *pci, unsigned slot, struct i8042 *kbd,
			 struct board_display **out, struct err *err)
{
	const struct display_spec *ds = &vm->spec->display;
	struct board_display *d = calloc(1, sizeof(*d));
	struct vga_config vc = { .name = "vga0", .vram_mib = ds->vram_mib, .slot = slot };
	struct display_config dc;
	int ret;

	if (!d)
		return err_set(err, -ENOMEM, "display: out of memory");
	d->vm = vm;
	d->kbd = kbd;
	if (ds->rom) {
		ret = board_display_read_rom(ds->rom, &d->rom, &d->rom_len, err);
		if (ret < 0)
			goto err_free;
		d->font = vga_font_find(d->rom, d->rom_len);
		vc.rom = d->rom;
		vc.rom_len = d->rom_len;
	}
	ret = vga_create(&vm->plat, pci, &vc, &d->vga, err);
	if (ret < 0)
		goto err_free;
	ret = platform_add_dev(&vm->plat, &vga_device_ops, d->vga, vc.name);
	if (ret < 0) {
		err_set(err, ret, "%s: cannot register the device: %s", vc.name, strerror(-ret));
		goto err_vga;
	}
	dc = (struct display_config){
		.spec = ds,
		.name = vm->spec->name,
		.vga = d->vga,
		.lock = &vm->plat.dev_lock,
		.input = { .opaque = d, .key = board_display_key, .mouse = board_display_mouse }
	};
	ret = display_create(&dc, &d->display, err);
	if (ret < 0)
		goto err_del;
	*out = d;
	return 0;

err_del:
	platform_del_dev(&vm->plat, d->vga);
err_vga:
	vga_destroy(d->vga);
err_free:
	free(d->rom);
	free(d);
	return ret;
}

void board_display_destroy(struct board_display *d)
{
	if (!d)
		return;
	display_destroy(d->display);
	platform_del_dev(&d->vm->plat, d->vga);
	vga_destroy(d->vga);
	free(d->rom);
	free(d);
}

int board_display_attach(struct board_display *d, struct loop *l)
{
	return d ? display_attach(d->display, l) : 0;
}

void board_display_detach(struct board_display *d)
{
	if (d)
		display_detach(d->display);
}

bool board_display_boot(struct board_display *d, bool firmware)
{
	if (!d || firmware)
		return false; /* the firmware runs the VGA BIOS itself */
	if (!d->font)
		log_info("%s: display: %s; text mode shows no glyphs (display.rom names the VGA "
			 "BIOS whose font it uses)",
			 d->vm->spec->name,
			 d->rom ? "the VGA BIOS has no 8x16 font" : "no VGA BIOS given");
	pthread_mutex_lock(&d->vm->plat.dev_lock);
	vga_text_mode_init(d->vga, d->font, 16);
	pthread_mutex_unlock(&d->vm->plat.dev_lock);
	return true;
}

struct display *board_display_display(struct board_display *d)
{
	return d ? d->display : NULL;
}
