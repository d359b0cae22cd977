// SPDX-License-Identifier: MIT
/*
 * spec_to_json (vm.info's "config"): for specs of each boot kind and with every section the
 * parser accepts, the JSON parses back to a spec whose JSON is the same text (a fixed point
 * after one round), defaults are written out, and paths come back absolute.
 */
#include "vmm/spec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *round_trip(const char *json)
{
	struct vm_spec a, b;
	struct diag d;
	char *ta, *tb;

	diag_init(&d);
	assert_int_equal(spec_parse_string(json, "/base", NULL, 0, 0, &a, &d), 0);
	ta = spec_to_json(&a);
	assert_non_null(ta);
	assert_int_equal(spec_parse_string(ta, "/elsewhere", NULL, 0, 0, &b, &d), 0);
	tb = spec_to_json(&b);
	assert_non_null(tb);
	assert_string_equal(ta, tb);
	assert_int_equal(d.nr, 0);
	assert_int_equal(a.vcpus, b.vcpus);
	assert_int_equal(a.memory_mib, b.memory_mib);
	assert_int_equal(a.boot.kind, b.boot.kind);
	assert_string_equal(a.boot.image, b.boot.image);
	assert_int_equal(a.nr_disks, b.nr_disks);
	spec_free(&a);
	spec_free(&b);
	free(tb);
	return ta;
}

static void test_linux(void **state)
{
	char *t;

	(void)state;
	t = round_trip("{\"name\": \"l\", \"vcpus\": 2, \"boot\": {\"kernel\": \"k\", \"initrd\": "
		       "\"i\", \"cmdline\": \"console=ttyS0\"}, \"serial\": {\"target\": \"unix\", "
		       "\"path\": \"s.sock\"}, \"on_reset\": \"exit\", \"on_triple_fault\": "
		       "\"reset\", \"disks\": [{\"path\": \"d.vmdk\", \"format\": \"vmdk\", "
		       "\"serial\": \"S1\"}, {\"path\": \"c.iso\", \"cdrom\": true}], \"control\": "
		       "{\"path\": \"api.sock\"}}");
	assert_non_null(strstr(t, "\"kernel\":\"/base/k\""));
	assert_non_null(strstr(t, "\"initrd\":\"/base/i\""));
	assert_non_null(strstr(t, "\"path\":\"/base/s.sock\""));
	assert_non_null(strstr(t, "\"decompress\":\"host\"")); /* the default, written out */
	assert_non_null(strstr(t, "\"memory_mib\":256"));
	assert_non_null(strstr(t, "\"bus\":\"ahci\",\"cache\":\"writeback\",\"readonly\":true,"
				  "\"cdrom\":true"));
	assert_non_null(strstr(t, "\"control\":{\"path\":\"/base/api.sock\"}"));
	free(t);
}

static void test_other_boot_kinds(void **state)
{
	char *t;

	(void)state;
	t = round_trip("{\"boot\": {\"multiboot\": \"/m.elf\", \"cmdline\": \"x\", \"modules\": "
		       "[{\"path\": \"/a\"}, {\"path\": \"b\", \"cmdline\": \"c\"}]}}");
	assert_non_null(strstr(t, "\"modules\":[{\"path\":\"/a\",\"cmdline\":\"\"},"
				  "{\"path\":\"/base/b\",\"cmdline\":\"c\"}]"));
	free(t);
	t = round_trip("{\"boot\": {\"flat\": \"f.bin\", \"load_address\": 4096}, \"debug\": "
		       "{\"exit_port\": 244, \"test_device\": true}, \"accel\": \"bt\"}");
	assert_non_null(strstr(t, "\"load_address\":\"0x1000\""));
	assert_non_null(strstr(t, "\"exit_port\":\"0xf4\""));
	free(t);
	t = round_trip("{\"boot\": {\"firmware\": \"/bios.bin\"}, \"machine\": \"q35\", "
		       "\"serial\": {\"target\": "
		       "\"none\"}, \"debug\": {\"firmware_log\": \"fw.log\"}, \"disks\": "
		       "[{\"path\": \"d\", \"boot_index\": 4}]}");
	assert_non_null(strstr(t, "\"boot\":{\"firmware\":\"/bios.bin\"}"));
	assert_non_null(strstr(t, "\"firmware_log\":\"/base/fw.log\""));
	assert_non_null(strstr(t, "\"boot_index\":4"));
	assert_non_null(strstr(t, "\"machine\":\"q35\""));
	free(t);
}

/* "cpu": the model and the features that differ from it come back; none without a section. */
static void test_cpu(void **state)
{
	static const char *const json = "{\"boot\": {\"flat\": \"f.bin\"}, \"cpu\": {\"model\": "
					"\"icelake\", \"features\": {\"avx2\": false, \"fma\": "
					"false, \"x2apic\": true}}}";
	struct vm_spec a, b;
	struct diag d;
	char *t, *t2;

	(void)state;
	diag_init(&d);
	assert_int_equal(spec_parse_string(json, "/base", NULL, 0, 0, &a, &d), 0);
	t = spec_to_json(&a);
	assert_non_null(t);
	/* x2apic is icelake's already: only what differs is written */
	assert_non_null(strstr(t, "\"cpu\":{\"model\":\"icelake\",\"features\":{\"fma\":false,"
				  "\"avx2\":false}}"));
	assert_int_equal(spec_parse_string(t, "/elsewhere", NULL, 0, 0, &b, &d), 0);
	assert_true(b.cpu.set);
	assert_string_equal(a.cpu.model.name, b.cpu.model.name);
	assert_memory_equal(a.cpu.model.features, b.cpu.model.features,
			    sizeof(a.cpu.model.features));
	spec_free(&a);
	spec_free(&b);
	free(t);
	t = round_trip("{\"boot\": {\"flat\": \"f.bin\"}, \"cpu\": {\"model\": \"k8\"}}");
	assert_non_null(strstr(t, "\"cpu\":{\"model\":\"k8\"}"));
	t2 = round_trip("{\"boot\": {\"flat\": \"f.bin\"}}");
	assert_null(strstr(t2, "\"cpu\""));
	free(t);
	free(t2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux),
		cmocka_unit_test(test_other_boot_kinds),
		cmocka_unit_test(test_cpu),
	};
	return cmocka_run_group_tests_name("spec_json", tests, NULL, NULL);
}
