/* SPDX-License-Identifier: MIT */
/*
 * What the PC board gives firmware (boot.firmware): the fw_cfg device filled from the spec
 * and the board (RAM size and map, CPU count, the boot order of the disks, the board's ACPI
 * and SMBIOS tables with the loader script that places them, the serial console for
 * SeaBIOS, a kernel to boot with boot.kernel); docs/firmware.md lists every item.
 */
#ifndef VMM_BOARD_FW_H
#define VMM_BOARD_FW_H

#include "vmm/base/err.h"
#include "vmm/base/types.h"

struct vm;
struct acpi_config;
struct board_disks;
struct board_fw;

struct board_fw_config {
	const struct acpi_config *acpi; /* the board's ACPI description */
	const struct board_disks *disks;
	const char *product; /* SMBIOS product name of the machine ("vmm-pc") */
};

/*
 * Create and fill the firmware's devices of vm->spec's boot.firmware and register them on the
 * platform. -errno with a message (a file that cannot be read, too many items). Main thread,
 * before the vCPUs run.
 */
MUST_CHECK int board_fw_create(struct vm *vm, const struct board_fw_config *cfg,
			       struct board_fw **out, struct err *err);
void board_fw_destroy(struct board_fw *f);
/*
 * The variable store (boot.firmware_vars) as the flash holds it, the file's contents (every
 * change is written through): *size bytes, or NULL without a store (f may be NULL). Read it
 * only while no vCPU runs (a snapshot of the paused VM).
 */
const u8 *board_fw_vars(const struct board_fw *f, u64 *size);

#endif
