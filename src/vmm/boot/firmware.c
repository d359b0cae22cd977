// SPDX-License-Identifier: MIT
/*
 * Firmware boot (a BIOS image such as SeaBIOS's bios.bin mapped below 4 GiB
 * and at 0xe0000/0xf0000, reset vector F000:FFF0): not implemented yet; the
 * ROM mapping needs a read-only region kind in gmem and fw_cfg in devices.
 */
#include "vmm/boot/boot.h"

#include <errno.h>

int boot_firmware(struct gmem *mem, const struct boot_params_in *in, struct cpu_state *bsp,
		  struct err *err)
{
	(void)mem;
	(void)bsp;
	return err_set(err, -ENOSYS, "firmware %s: firmware boot is not implemented yet",
		       in->firmware ? in->firmware : "(none)");
}
