/* SPDX-License-Identifier: MIT */
/*
 * The CPUID filtering policy of src/vmm/kvm/kvm_cpuid.c, checked on a
 * synthetic "supported" table with every feature bit set (no /dev/kvm
 * needed). Leaf and bit numbers: Intel SDM vol. 2A "CPUID", AMD APM vol. 3
 * appendix E, kernel Documentation/virt/kvm/x86/cpuid.rst.
 */
#include "vmm/kvm/kvm_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define B(n) (1u << (n))

/* The entry for leaf fn.idx; a missing one fails the test (and reads as all zero). */
static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *c, u32 fn, u32 idx)
{
	static const struct kvm_cpuid_entry2 missing;

	for (u32 i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	fail_msg("CPUID leaf %#x.%u missing", fn, idx);
	return &missing;
}

static struct kvm_cpuid2 *make_supported(void)
{
	static const u32 leaves[][2] = {
		{ 0x0, 0 },	   { 0x1, 0 },	      { 0x5, 0 },	 { 0x6, 0 },
		{ 0x7, 0 },	   { 0x7, 1 },	      { 0xa, 0 },	 { 0xb, 0 },
		{ 0xb, 1 },	   { 0xd, 0 },	      { 0xd, 1 },	 { 0x1f, 0 },
		{ 0x40000000, 0 }, { 0x40000001, 0 }, { 0x80000000, 0 }, { 0x80000001, 0 },
		{ 0x8000001e, 0 },
	};
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + ARRAY_SIZE(leaves) * sizeof(c->entries[0]));

	assert_non_null(c);
	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

		e->function = leaves[i][0];
		e->index = leaves[i][1];
		e->eax = e->ebx = e->ecx = e->edx = 0xffffffffu;
	}
	c->entries[0].eax = 0x1f; /* max basic leaf */
	memcpy(&c->entries[0].ebx, "Genu", 4);
	return c;
}

static void test_features_removed(void **state)
{
	struct kvm_cpuid2 *sup = make_supported();
	struct kvm_cpuid2 *c = kvm_cpuid_build(sup, 2, 4, false);
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	if (!c)
		fail_msg("kvm_cpuid_build: out of memory");
	e = find(c, 0x1, 0);
	assert_int_equal(e->ecx & (B(3) | B(5) | B(12) | B(26) | B(27) | B(28) | B(29)), 0);
	assert_int_equal(e->ecx & B(24), 0); /* TSC deadline not offered: tsc_deadline false */
	assert_true(e->ecx & B(31));	     /* hypervisor */
	assert_true(e->ecx & B(0));	     /* SSE3 kept */
	assert_true(e->edx & B(25));	     /* SSE kept */
	assert_int_equal(e->edx & (B(22) | B(29) | B(31)), 0);
	assert_int_equal(e->ebx >> 24, 2);	    /* APIC id = vCPU index */
	assert_int_equal((e->ebx >> 16) & 0xff, 4); /* logical processors */
	assert_true(e->edx & B(28));		    /* HTT with more than one */
	e = find(c, 0x7, 0);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx & (B(5) | B(16) | B(31)), 0); /* AVX2, AVX512F/VL */
	assert_true(e->ebx & B(0));			      /* FSGSBASE kept */
	assert_int_equal(e->ecx & (B(3) | B(4)), 0);	      /* PKU, OSPKE */
	e = find(c, 0x7, 1);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	e = find(c, 0x5, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0); /* MONITOR leaf */
	e = find(c, 0x6, 0);
	assert_int_equal(e->eax, B(2)); /* only ARAT */
	e = find(c, 0xa, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0); /* no PMU */
	e = find(c, 0xd, 1);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0); /* no XSAVE */
	e = find(c, 0x80000001, 0);
	assert_int_equal(e->ecx & (B(2) | B(11) | B(16) | B(22) | B(23) | B(29)), 0);
	assert_true(e->edx & B(29)); /* long mode kept */
	e = find(c, 0x8000001e, 0);
	assert_int_equal(e->eax | e->ebx | e->ecx | e->edx, 0);
	e = find(c, 0x40000001, 0);
	assert_int_equal(e->eax & (B(15) | B(16) | B(17)), 0);
	assert_true(e->eax & B(3)); /* kvmclock2 kept */
	assert_int_equal(e->edx, 0);
	e = find(c, 0x40000000, 0);
	assert_memory_equal(&e->ebx, "KVMK", 4);
	assert_memory_equal(&e->ecx, "VMKV", 4);
	assert_memory_equal(&e->edx, "M\0\0\0", 4);
	e = find(c, 0x0, 0);
	assert_memory_equal(&e->ebx, "Genu", 4); /* vendor kept */
	free(c);
	free(sup);
}

static void test_topology_leaves(void **state)
{
	struct kvm_cpuid2 *sup = make_supported();
	struct kvm_cpuid2 *c = kvm_cpuid_build(sup, 3, 5, true);
	const struct kvm_cpuid_entry2 *e;

	(void)state;
	if (!c)
		fail_msg("kvm_cpuid_build: out of memory");
	assert_true(find(c, 0x1, 0)->ecx & B(24)); /* TSC deadline offered */
	for (u32 fn = 0xb; fn <= 0x1f; fn += 0x1f - 0xb) {
		e = find(c, fn, 0);
		assert_int_equal(e->edx, 3); /* x2APIC id */
		assert_int_equal(e->ebx, 1);
		assert_int_equal((e->ecx >> 8) & 0xff, 1); /* SMT level */
		assert_true(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
		e = find(c, fn, 1);
		assert_int_equal(e->eax, 3); /* 5 vCPUs need 3 APIC id bits */
		assert_int_equal(e->ebx, 5);
		assert_int_equal((e->ecx >> 8) & 0xff, 2); /* core level */
		e = find(c, fn, 2);
		assert_int_equal((e->ecx >> 8) & 0xff, 0); /* end of levels */
	}
	free(c);
	free(sup);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_removed),
		cmocka_unit_test(test_topology_leaves),
	};

	return cmocka_run_group_tests_name("kvm_cpuid", tests, NULL, NULL);
}
