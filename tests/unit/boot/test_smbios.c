// SPDX-License-Identifier: MIT
/*
 * SMBIOS (src/vmm/boot/smbios.c): the entry point's checksums and counts match the
 * structures, every structure is well formed (header, strings ending in a double NUL) and the
 * types the firmware and OS expect are there (type 0 only without firmware); smbios_place
 * puts the entry point where an OS scans for it; and Debian's dmidecode decodes a dump of the
 * tables (its --from-dump format: entry point at 0, structures at 0x20) with the values set
 * (skipped without dmidecode).
 */
#include "boot_test_util.h"
#include "vmm/boot/boot.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define MiB (1ull << 20)

static void config(struct smbios_config *cfg, bool bios_info)
{
	static const u8 uuid[16] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
				     0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

	*cfg = (struct smbios_config){ .name = "test-vm",
				       .product = "vmm-pc",
				       .nr_vcpus = 3,
				       .ram_bytes = 5ull << 30,
				       .nr_ranges = 2,
				       .bios_info = bios_info };
	memcpy(cfg->uuid, uuid, 16);
	cfg->ranges[0].gpa = 0;
	cfg->ranges[0].len = 3ull << 30;
	cfg->ranges[1].gpa = 4ull << 30;
	cfg->ranges[1].len = 2ull << 30;
}

static u8 sum(const u8 *p, size_t n)
{
	u8 s = 0;

	for (size_t i = 0; i < n; i++)
		s = (u8)(s + p[i]);
	return s;
}

/* Walk the structures: counts per type, the largest one; fails on a malformed one. */
static void walk(const struct smbios_tables *t, unsigned counts[128], unsigned *nr,
		 unsigned *largest)
{
	size_t off = 0;

	*nr = 0;
	*largest = 0;
	memset(counts, 0, 128 * sizeof(counts[0]));
	while (off < t->tables_len) {
		const u8 *s = t->tables + off;
		size_t end = off + s[1];

		assert_true(s[1] >= 4 && end + 2 <= t->tables_len);
		while (t->tables[end] || t->tables[end + 1]) /* the string set ends "\0\0" */
			end++;
		end += 2;
		assert_true(s[0] < 128);
		counts[s[0]]++;
		(*nr)++;
		*largest = (unsigned)MAX((size_t)*largest, end - off);
		off = end;
		if (s[0] == 127)
			break;
	}
	assert_int_equal(off, t->tables_len);
}

static void test_structures(void **state)
{
	struct smbios_config cfg;
	struct smbios_tables t;
	unsigned counts[128], nr, largest;
	struct err err;

	(void)state;
	config(&cfg, false);
	assert_int_equal(smbios_build(&cfg, &t, &err), 0);
	walk(&t, counts, &nr, &largest);
	assert_int_equal(counts[0], 0); /* the firmware's own */
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[3], 1);
	assert_int_equal(counts[4], 3);
	assert_int_equal(counts[16], 1);
	assert_int_equal(counts[17], 1);
	assert_int_equal(counts[19], 2);
	assert_int_equal(counts[32], 1);
	assert_int_equal(counts[127], 1);
	/* the entry point: "_SM_", its length, 2.8, counts, both checksums */
	assert_memory_equal(t.anchor, "_SM_", 4);
	assert_memory_equal(t.anchor + 0x10, "_DMI_", 5);
	assert_int_equal(t.anchor[5], SMBIOS_ANCHOR_LEN);
	assert_int_equal(t.anchor[6], 2);
	assert_int_equal(t.anchor[7], 8);
	assert_int_equal(t.anchor[8] | t.anchor[9] << 8, largest);
	assert_int_equal(t.anchor[0x16] | t.anchor[0x17] << 8, t.tables_len);
	assert_int_equal(t.anchor[0x1c] | t.anchor[0x1d] << 8, nr);
	assert_int_equal(sum(t.anchor, SMBIOS_ANCHOR_LEN), 0);
	assert_int_equal(sum(t.anchor + 0x10, 0x0f), 0);
	smbios_tables_relocate(&t, 0x12345678);
	assert_int_equal(sum(t.anchor, SMBIOS_ANCHOR_LEN), 0);
	assert_int_equal(sum(t.anchor + 0x10, 0x0f), 0);
	smbios_tables_free(&t);

	config(&cfg, true);
	assert_int_equal(smbios_build(&cfg, &t, &err), 0);
	walk(&t, counts, &nr, &largest);
	assert_int_equal(counts[0], 1);
	smbios_tables_free(&t);

	cfg.nr_vcpus = 0;
	assert_int_equal(smbios_build(&cfg, &t, &err), -EINVAL);
}

static void test_place(void **state)
{
	struct smbios_config cfg;
	struct gmem mem;
	struct err err;
	u8 a[SMBIOS_ANCHOR_LEN];
	u64 scan;

	(void)state;
	config(&cfg, true);
	cfg.nr_ranges = 1;
	cfg.ranges[0].len = cfg.ram_bytes = 64 * MiB;
	bt_gmem_init(&mem, 64 * MiB);
	assert_int_equal(smbios_place(&mem, &cfg, &err), 0);
	/* an OS scans 0xf0000-0xfffff on 16-byte boundaries for "_SM_" */
	for (scan = 0xf0000; scan < 0x100000; scan += 16) {
		bt_read(&mem, scan, a, sizeof(a));
		if (!memcmp(a, "_SM_", 4))
			break;
	}
	assert_int_equal(scan, BOOT_SMBIOS_GPA);
	assert_int_equal(sum(a, sizeof(a)), 0);
	assert_int_equal(bt_read32(&mem, scan + 0x18), BOOT_SMBIOS_GPA + 32);
	assert_int_equal(bt_read32(&mem, BOOT_SMBIOS_GPA + 32) & 0xff, 0); /* type 0 first */
	gmem_destroy(&mem);
}

static void test_dmidecode(void **state)
{
	char dir[] = "/tmp/vmm-smbios-XXXXXX", path[600], cmd[1400], line[512];
	const char *want[] = { "SMBIOS 2.8 present.",
			       "Manufacturer: vmm",
			       "Product Name: vmm-pc",
			       "Serial Number: test-vm",
			       "UUID: 12345678-9abc-def0-0123-456789abcdef",
			       "Socket Designation: CPU 2",
			       "Maximum Capacity: 5 GB",
			       "Size: 5 GB",
			       "Ending Address: 0x0017FFFFFFF",
			       "Starting Address: 0x00100000000",
			       "Status: No errors detected" };
	bool found[sizeof(want) / sizeof(want[0])] = { 0 };
	struct smbios_config cfg;
	struct smbios_tables t;
	struct err err;
	FILE *f;
	u8 *dump;

	(void)state;
	if (system("dmidecode --version >/dev/null 2>&1 || "
		   "/usr/sbin/dmidecode --version >/dev/null 2>&1") != 0) {
		print_message("dmidecode not installed (apt-get install dmidecode), skipping\n");
		skip();
	}
	config(&cfg, false);
	assert_int_equal(smbios_build(&cfg, &t, &err), 0);
	smbios_tables_relocate(&t, 32); /* dmidecode's dump layout */
	dump = calloc(1, 32 + t.tables_len);
	memcpy(dump, t.anchor, SMBIOS_ANCHOR_LEN);
	memcpy(dump + 32, t.tables, t.tables_len);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/dump.bin", dir);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(dump, 1, 32 + t.tables_len, f), 32 + t.tables_len);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "PATH=$PATH:/usr/sbin dmidecode --from-dump '%s' 2>&1; rm -rf '%s'", path, dir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "Invalid") || strstr(line, "invalid") ||
		    strstr(line, "truncated") || strstr(line, "Wrong"))
			fail_msg("dmidecode: %s", line);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
			if (strstr(line, want[i]))
				found[i] = true;
	}
	assert_int_equal(pclose(f), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!found[i])
			fail_msg("dmidecode does not show \"%s\"", want[i]);
	free(dump);
	smbios_tables_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structures),
		cmocka_unit_test(test_place),
		cmocka_unit_test(test_dmidecode),
	};

	return cmocka_run_group_tests_name("boot_smbios", tests, NULL, NULL);
}
