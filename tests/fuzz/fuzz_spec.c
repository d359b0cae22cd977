// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the VM spec parser (src/vmm/spec.c, spec_set.c).
 *
 * Input: the spec text, optionally followed by NUL-separated --set arguments
 * ("{...}\0memory_mib=64\0disks[0].path=a"). Whatever the input, the parser must not crash,
 * leak or misbehave under ASan/UBSan, must report a diagnostic whenever it rejects, and every
 * spec it accepts must satisfy the documented invariants of struct vm_spec (checked below;
 * a violation traps so the fuzzer records the input).
 *
 * Built two ways (docs/fuzzing.md): a libFuzzer binary in a -Dfuzz=true tree, and with replay.c
 * as a plain program that replays files and folders given on the command line (suite
 * 'fuzz-smoke'), so gcc builds run the corpus too.
 */
#include "fuzz.h"
#include "vmm/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_SETS 8

static bool fuzz_abs(const char *path)
{
	return path && path[0] == '/';
}

static void fuzz_check_spec(const struct vm_spec *s)
{
	FUZZ_CHECK(s->name && strlen(s->name) >= 1 && strlen(s->name) <= SPEC_NAME_MAX);
	FUZZ_CHECK(s->vcpus >= 1 && s->vcpus <= SPEC_VCPUS_MAX);
	FUZZ_CHECK(s->memory_mib >= 1 && s->memory_mib <= SPEC_MEMORY_MIB_MAX);
	FUZZ_CHECK(fuzz_abs(s->boot.image));
	FUZZ_CHECK(s->boot.cmdline && strlen(s->boot.cmdline) <= SPEC_CMDLINE_MAX);
	FUZZ_CHECK(s->boot.kind == BOOT_LINUX || !s->boot.initrd);
	FUZZ_CHECK(s->boot.kind == BOOT_MULTIBOOT || !s->boot.nr_modules);
	FUZZ_CHECK(s->boot.load_address <= 0xfffff);
	for (unsigned i = 0; i < s->boot.nr_modules; i++)
		FUZZ_CHECK(fuzz_abs(s->boot.modules[i].path) && s->boot.modules[i].cmdline);
	FUZZ_CHECK((s->serial.target == SERIAL_FILE || s->serial.target == SERIAL_UNIX) ==
		   fuzz_abs(s->serial.path));
	for (unsigned i = 0; i < s->nr_disks; i++) {
		const struct disk_spec *dk = &s->disks[i];

		FUZZ_CHECK(fuzz_abs(dk->path));
		FUZZ_CHECK(!dk->cdrom || (dk->readonly && dk->bus == DISK_BUS_AHCI));
		FUZZ_CHECK(!dk->serial || strlen(dk->serial) <= SPEC_DISK_SERIAL_MAX);
	}
	for (unsigned i = 0; i < s->nr_nics; i++) {
		FUZZ_CHECK(!(s->nics[i].mac[0] & 1));
		FUZZ_CHECK((s->nics[i].backend == NIC_BACKEND_TAP) == (s->nics[i].tap != NULL));
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(memcmp(s->nics[i].mac, s->nics[j].mac, 6) != 0);
	}
	/* A VNC display listens on exactly one of TCP and a unix socket; other types on none. */
	FUZZ_CHECK((s->display.type == DISPLAY_VNC) ==
		   ((s->display.listen_host != NULL) != (s->display.listen_path != NULL)));
	FUZZ_CHECK(s->display.type == DISPLAY_VNC ||
		   (!s->display.listen_host && !s->display.listen_path));
	FUZZ_CHECK(!s->display.listen_path || fuzz_abs(s->display.listen_path));
	FUZZ_CHECK(!s->control.path || fuzz_abs(s->control.path));
	FUZZ_CHECK(!s->debug.has_exit_port ||
		   (s->debug.exit_port != 0x3f8 && s->debug.exit_port != 0xcf9));
	/* The names must be printable for every value the parser produced. */
	FUZZ_CHECK(strcmp(spec_accel_name(s->accel), "?") != 0);
	FUZZ_CHECK(strcmp(boot_kind_name(s->boot.kind), "?") != 0);
	FUZZ_CHECK(strcmp(serial_target_name(s->serial.target), "?") != 0);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	const char *sets[FUZZ_MAX_SETS];
	struct diag d = DIAG_INIT;
	unsigned nr_sets = 0;
	struct vm_spec s;
	char *buf = malloc(size + 1);
	FILE *null;
	int ret;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	for (size_t o = strlen(buf) + 1; o < size && nr_sets < FUZZ_MAX_SETS;
	     o += strlen(buf + o) + 1)
		sets[nr_sets++] = buf + o;

	ret = spec_parse_string(buf, "/fuzz", sets, nr_sets, 0, &s, &d);
	if (ret == 0) {
		fuzz_check_spec(&s);
		spec_free(&s);
	} else {
		FUZZ_CHECK(d.nr + d.dropped > 0);
	}
	null = fopen("/dev/null", "w");
	if (null) {
		diag_print(&d, null);
		fclose(null);
	}
	diag_free(&d);
	free(buf);
	return 0;
}
