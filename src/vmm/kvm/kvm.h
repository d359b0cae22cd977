/* SPDX-License-Identifier: MIT */
/*
 * The public face of the KVM accelerator besides `accel_kvm` (vmm/accel.h):
 * a host capability query for `vmm host-info` (vmm/hostinfo.c). Reads
 * /dev/kvm with KVM_GET_API_VERSION and KVM_CHECK_EXTENSION (kernel
 * Documentation/virt/kvm/api.rst 4.1 and 4.4). Does not include <linux/kvm.h>.
 */
#ifndef VMM_KVM_KVM_H
#define VMM_KVM_KVM_H

#include "vmm/base/types.h"

#include <signal.h>

struct err;

/*
 * The signal vcpu_kick sends to a vCPU thread (kvm_vcpu.c). The vCPU thread keeps it
 * blocked outside KVM_RUN; the rest of the VMM must neither use it nor ignore it.
 */
#define KVM_KICK_SIGNAL (SIGRTMIN + 4)

#define KVM_HOST_MAX_CAPS 64

struct kvm_host_cap {
	const char *name; /* "IRQCHIP", without the KVM_CAP_ prefix */
	int value;	  /* KVM_CHECK_EXTENSION result; 0 = absent */
};

struct kvm_host_caps {
	int api_version;
	unsigned nr_caps;
	struct kvm_host_cap caps[KVM_HOST_MAX_CAPS];
};

/*
 * Open /dev/kvm and read the API version and the capabilities this VMM knows by
 * name. 0, or a negative errno with the reason in err (cannot open, and why).
 * Any thread.
 */
int kvm_host_query(struct kvm_host_caps *out, struct err *err);

#endif
