// SPDX-License-Identifier: MIT
/*
 * The VM's side of the guest's VMware tools (vm.h, docs/hypercall.md): the guestinfo
 * variables and the requests to the tools (TCLO OS_Halt, OS_Reboot) for the control API. The
 * backdoor device (devices/vmport.h) holds them; every call here takes the device lock the
 * vCPUs' backdoor calls take. Main thread.
 */
#include "vmm/vm_internal.h"

#include "devices/vmport.h"
#include "vmm/base/log.h"
#include "vmm/board_pc.h"
#include "vmm/board_pv.h"
#include "vmm/spec.h"

#include <errno.h>
#include <pthread.h>

static struct vmport *vm_vmport(struct vm *vm, struct err *err)
{
	struct board_pv *pv = vm->board ? board_pc_pv(vm->board) : NULL;
	struct vmport *v = pv ? board_pv_vmport(pv) : NULL;

	if (!v)
		err_set(err, -ENOTSUP,
			"%s: no VMware backdoor: the spec does not set hypercall.vmware_backdoor",
			vm->spec->name);
	return v;
}

struct vm_guestinfo_ctx {
	vm_guestinfo_fn fn;
	void *opaque;
};

static void vm_guestinfo_one(void *opaque, const char *key, const char *value)
{
	struct vm_guestinfo_ctx *c = opaque;

	c->fn(c->opaque, key, value);
}

int vm_guestinfo_each(struct vm *vm, vm_guestinfo_fn fn, void *opaque, struct err *err)
{
	struct vm_guestinfo_ctx c = { fn, opaque };
	struct vmport *v = vm_vmport(vm, err);

	if (!v)
		return -ENOTSUP;
	pthread_mutex_lock(&vm->plat.dev_lock);
	vmport_guestinfo_each(v, vm_guestinfo_one, &c);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	return 0;
}

int vm_guestinfo_set(struct vm *vm, const char *key, const char *value, struct err *err)
{
	struct vmport *v = vm_vmport(vm, err);
	int ret;

	if (!v)
		return -ENOTSUP;
	pthread_mutex_lock(&vm->plat.dev_lock);
	ret = vmport_guestinfo_set(v, key, value, err);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	if (ret < 0)
		return err_prefix(err, "%s", vm->spec->name), ret;
	log_info("%s: guestinfo.%s %s through the API", vm->spec->name, key,
		 value ? "set" : "removed");
	return 0;
}

int vm_tools_request(struct vm *vm, enum vm_tools_req req, struct err *err)
{
	static const enum vmport_tools_req map[] = {
		[VM_TOOLS_HALT] = VMPORT_TOOLS_HALT, [VM_TOOLS_REBOOT] = VMPORT_TOOLS_REBOOT
	};

	static const char *const names[] = {
		[VM_TOOLS_HALT] = "OS_Halt", [VM_TOOLS_REBOOT] = "OS_Reboot"
	};
	struct vmport *v;
	int ret;

	v = vm_vmport(vm, err);
	if (!v)
		return -ENOTSUP;
	if (vm_state(vm) != VM_STATE_RUNNING)
		return err_set(err, -EBUSY, "%s: cannot ask the guest's tools: the VM is %s",
			       vm->spec->name, vm_state_name(vm_state(vm)));
	pthread_mutex_lock(&vm->plat.dev_lock);
	ret = vmport_tools_request(v, map[req], err);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	if (ret < 0)
		return err_prefix(err, "%s", names[req]), ret;
	log_info("%s: %s sent to the guest's tools", vm->spec->name, names[req]);
	return 0;
}
