/* SPDX-License-Identifier: MIT */
/*
 * src/vmm/hostinfo.c: the `accel: auto` decision on synthetic host
 * descriptions (hardware assist needs vmx/svm AND kvm_intel/kvm_amd AND a
 * usable /dev/kvm; kvm_pvm is not hardware assist), and a probe of the real
 * host checked against accel_kvm.probe and /proc/cpuinfo.
 */
#include "vmm/hostinfo.h"

#include "vmm/accel.h"
#include "vmm/base/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_hw_assist_rules(void **state)
{
	struct host_info hi;
	char why[256];

	(void)state;
	memset(&hi, 0, sizeof(hi));
	hi.cpu_vmx = true;
	hi.mod_kvm_intel = true;
	hi.kvm_usable = true;
	assert_true(host_info_hw_assist(&hi, why, sizeof(why)));
	assert_non_null(strstr(why, "kvm_intel"));

	memset(&hi, 0, sizeof(hi));
	hi.mod_kvm_pvm = true;
	hi.kvm_usable = true;
	assert_false(host_info_hw_assist(&hi, why, sizeof(why)));
	assert_non_null(strstr(why, "no vmx/svm"));
	assert_non_null(strstr(why, "kvm_pvm"));

	memset(&hi, 0, sizeof(hi));
	hi.cpu_svm = true;
	hi.kvm_usable = true;
	assert_false(host_info_hw_assist(&hi, why, sizeof(why)));
	assert_non_null(strstr(why, "neither kvm_intel nor kvm_amd"));

	memset(&hi, 0, sizeof(hi));
	hi.cpu_svm = true;
	hi.mod_kvm_amd = true;
	snprintf(hi.kvm_error, sizeof(hi.kvm_error), "cannot open /dev/kvm: permission denied");
	assert_false(host_info_hw_assist(&hi, why, sizeof(why)));
	assert_non_null(strstr(why, "permission denied"));
	assert_false(host_info_hw_assist(&hi, NULL, 0));
}

/* Is word a whole word of the first "flags" line of /proc/cpuinfo? */
static bool cpuinfo_flag(const char *word)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192], pat[32];
	bool found = false;

	if (!f)
		return false;
	snprintf(pat, sizeof(pat), " %s ", word);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) == 0) {
			line[strcspn(line, "\n")] = ' ';
			found = strstr(line, pat) != NULL;
			break;
		}
	}
	fclose(f);
	return found;
}

static void test_probe_real_host(void **state)
{
	struct host_info hi;
	struct err why = { 0 };
	bool kvm_ok = accel_kvm.probe(&why) == 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	host_info_probe(&hi);
	assert_int_equal(hi.cpu_vmx, cpuinfo_flag("vmx"));
	assert_int_equal(hi.cpu_svm, cpuinfo_flag("svm"));
	if (kvm_ok) {
		assert_true(hi.kvm_present);
		assert_true(hi.kvm_usable);
		assert_int_equal(hi.kvm.api_version, 12);
		assert_true(hi.kvm.nr_caps > 10);
		assert_string_equal(hi.kvm.caps[0].name, "IRQCHIP");
		assert_true(hi.kvm.caps[0].value > 0);
	}
	out = open_memstream(&text, &len);
	assert_non_null(out);
	host_info_print(&hi, out);
	fclose(out);
	assert_non_null(strstr(text, "hardware assist: "));
	if (host_info_hw_assist(&hi, NULL, 0))
		assert_non_null(strstr(text, "accel auto: kvm"));
	else
		assert_non_null(strstr(text, "accel auto: bt"));
	if (kvm_ok)
		assert_non_null(strstr(text, "kvm api version: 12"));
	/* A host without vmx/svm never counts as hardware assist, whatever KVM flavour it has. */
	if (!hi.cpu_vmx && !hi.cpu_svm)
		assert_false(host_info_hw_assist(&hi, NULL, 0));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hw_assist_rules),
		cmocka_unit_test(test_probe_real_host),
	};

	return cmocka_run_group_tests_name("hostinfo", tests, NULL, NULL);
}
