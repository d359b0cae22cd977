// SPDX-License-Identifier: MIT
/* Accelerator choice for `accel: auto | kvm | bt`, with the reason in words. */
#include "vmm/accel_select.h"

#include "vmm/base/err.h"
#include "vmm/hostinfo.h"

#include <errno.h>
#include <stdio.h>

const struct accel_ops *accel_select_auto(char *why, size_t why_len)
{
	struct host_info hi;
	char reason[256];

	host_info_probe(&hi);
	if (host_info_hw_assist(&hi, reason, sizeof(reason))) {
		snprintf(why, why_len, "accel auto: %s; using KVM", reason);
		return &accel_kvm;
	}
	snprintf(why, why_len, "accel auto: no hardware virtualization (%s); using the BT engine",
		 reason);
	return &accel_bt;
}

int accel_select(enum spec_accel want, const struct accel_ops **out, char *why, size_t why_len,
		 struct err *err)
{
	const struct accel_ops *ops;
	struct err probe_err = { 0 };
	int ret;

	switch (want) {
	case SPEC_ACCEL_KVM:
		ops = &accel_kvm;
		snprintf(why, why_len, "accel kvm: chosen by the spec");
		break;
	case SPEC_ACCEL_BT:
		ops = &accel_bt;
		snprintf(why, why_len, "accel bt: chosen by the spec");
		break;
	default:
		ops = accel_select_auto(why, why_len);
		break;
	}
	ret = ops->probe(&probe_err);
	if (ret < 0)
		return err_set(err, ret, "%s; but the %s accelerator is not available: %s", why,
			       ops->name, probe_err.msg[0] ? probe_err.msg : "unknown reason");
	*out = ops;
	return 0;
}
