/* SPDX-License-Identifier: MIT */
/*
 * Choosing the accelerator: `accel: kvm` and `accel: bt` name one; `auto`
 * picks KVM only when the host has real hardware assist (VT-x or AMD-V with
 * kvm_intel/kvm_amd loaded) and the BT engine otherwise, and says why.
 */
#ifndef VMM_ACCEL_SELECT_H
#define VMM_ACCEL_SELECT_H

#include "vmm/accel.h"
#include "vmm/spec.h"

/*
 * Pick and probe the accelerator for want. On success *out is set and why holds a one-line
 * reason for the choice. -ENODEV etc. with err naming the accelerator and the reason.
 * Main thread.
 */
MUST_CHECK int accel_select(enum spec_accel want, const struct accel_ops **out, char *why,
			    size_t why_len, struct err *err);

/* Which accelerator auto would pick on this host, and why (for host-info). */
const struct accel_ops *accel_select_auto(char *why, size_t why_len);

#endif
