/* SPDX-License-Identifier: MIT */
/*
 * Host capability detection for `vmm host-info` and `accel: auto`: is
 * /dev/kvm there and usable, its API version and capabilities, and whether
 * the CPU offers hardware virtualization (Intel VT-x "vmx" or AMD-V "svm"
 * in /proc/cpuinfo flags; Intel SDM vol. 3C 23.6, AMD APM vol. 2 15.4)
 * with the matching KVM module loaded (/sys/module/kvm_intel, kvm_amd).
 * KVM's PVM flavour (kvm_pvm) runs guests without hardware assist and is
 * reported as such.
 */
#ifndef VMM_HOSTINFO_H
#define VMM_HOSTINFO_H

#include "vmm/base/types.h"
#include "vmm/kvm/kvm.h"

#include <stdio.h>

struct host_info {
	char cpu_model[128];   /* /proc/cpuinfo "model name", "" if unknown */
	bool cpu_vmx, cpu_svm; /* CPU flags */
	bool mod_kvm, mod_kvm_intel, mod_kvm_amd, mod_kvm_pvm; /* /sys/module/<name> */
	bool kvm_present;				       /* /dev/kvm exists */
	bool kvm_usable;     /* opened and answered KVM_GET_API_VERSION */
	char kvm_error[256]; /* why not, when !kvm_usable */
	struct kvm_host_caps kvm;
};

/* Fill hi from /proc, /sys and /dev/kvm. Never fails: what cannot be read is reported as absent. */
void host_info_probe(struct host_info *hi);

/* Human-readable report for `vmm host-info`. */
void host_info_print(const struct host_info *hi, FILE *out);

/*
 * True when KVM runs guests with hardware assist: vmx or svm in the CPU flags
 * AND kvm_intel or kvm_amd loaded AND /dev/kvm usable. why (may be NULL) gets
 * a one-line reason either way, e.g. "no vmx/svm CPU flag; kvm_pvm is loaded
 * (software-only KVM, not hardware assist)".
 */
bool host_info_hw_assist(const struct host_info *hi, char *why, size_t why_len);

#endif
