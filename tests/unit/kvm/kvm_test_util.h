/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the KVM unit tests and the guest-program runner: decide
 * whether /dev/kvm is usable (else the executable exits 77, meson's skip),
 * and build a real-mode start state for a flat program.
 */
#ifndef TESTS_UNIT_KVM_KVM_TEST_UTIL_H
#define TESTS_UNIT_KVM_KVM_TEST_UTIL_H

#include "vmm/accel.h"
#include "vmm/base/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KVM_TEST_SKIP 77

/* Exit 77 with the reason when accel_kvm cannot run here. */
static inline void kvm_test_require_kvm(const char *prog)
{
	struct err why = { 0 };

	if (accel_kvm.probe(&why) < 0) {
		fprintf(stderr, "%s: SKIP: KVM unusable: %s\n", prog, why.msg);
		exit(KVM_TEST_SKIP);
	}
}

/* Real mode, CS:IP = 0:ip (ip < 64 KiB), flat 64 KiB data segments, IF=0. */
static inline void kvm_test_real_mode(struct cpu_state *st, u16 ip, u16 sp)
{
	for (int i = 0; i < CPU_NR_SEGS; i++) {
		st->seg[i].base = 0;
		st->seg[i].selector = 0;
		st->seg[i].limit = 0xffff;
		st->seg[i].present = 1;
		st->seg[i].s = 1;
		st->seg[i].type = i == CPU_CS ? 0xb : 0x3;
		st->seg[i].db = 0;
		st->seg[i].g = 0;
		st->seg[i].l = 0;
		st->seg[i].dpl = 0;
		st->seg[i].unusable = 0;
	}
	st->cr0 = 0x60000010; /* CD, NW, ET: the reset value */
	st->cr3 = st->cr4 = 0;
	st->efer = 0;
	st->rip = ip;
	st->rflags = 0x2;
	st->gpr[CPU_RSP] = sp;
}

#endif
