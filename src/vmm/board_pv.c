// SPDX-License-Identifier: MIT
/*
 * The paravirtual devices of the PC board (board_pv.h). The backdoor's configuration comes
 * from the spec (uuid, guestinfo) and the accelerator (its TSC rate; whether it routes
 * high-bandwidth transfers); the APIC bus runs at 1 GHz under both accelerators (KVM's
 * in-kernel local APIC and the userspace one of board_irqchip.c).
 */
#include "vmm/board_pv.h"

#include "devices/vmport.h"
#include "vmm/base/log.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BOARD_PV_APIC_BUS_HZ 1000000000u

struct board_pv {
	struct vm *vm;
	struct vmport *vmport;
};

static int board_pv_create_vmport(struct board_pv *pv, struct err *err)
{
	struct vm *vm = pv->vm;
	const struct vm_spec *spec = vm->spec;
	struct vmport_config cfg = {
		.name = "vmport",
		.ram_bytes = spec->memory_mib << 20,
		.tsc_hz = vm->accel->tsc_khz ? (u64)vm->accel->tsc_khz(vm->avm) * 1000 : 0,
		.apic_bus_hz = BOARD_PV_APIC_BUS_HZ,
		.hb = vm->accel->backdoor_hb,
		.gi_keys = (const char *const *)spec->guestinfo.keys,
		.gi_values = (const char *const *)spec->guestinfo.values,
		.nr_gi = spec->guestinfo.nr,
	};
	int ret;

	memcpy(cfg.uuid, spec->uuid, sizeof(cfg.uuid));
	ret = vmport_create(&vm->plat, &cfg, &pv->vmport, err);
	if (ret < 0)
		return ret;
	ret = platform_add_dev(&vm->plat, &vmport_device_ops, pv->vmport, cfg.name);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot register the device: %s", cfg.name,
			       strerror(-ret));
	if (!cfg.hb)
		log_info("%s: %s hands no high-bandwidth transfers to the backdoor; the guest's "
			 "RPC messages move 4 bytes per call",
			 cfg.name, vm->accel->name);
	return 0;
}

int board_pv_create(struct vm *vm, struct board_pv **out, struct err *err)
{
	struct board_pv *pv = calloc(1, sizeof(*pv));
	int ret;

	if (!pv)
		return err_set(err, -ENOMEM, "board: out of memory");
	pv->vm = vm;
	if (vm->spec->hypercall.vmware_backdoor) {
		ret = board_pv_create_vmport(pv, err);
		if (ret < 0)
			goto err_destroy;
	}
	*out = pv;
	return 0;

err_destroy:
	board_pv_destroy(pv);
	return ret;
}

void board_pv_destroy(struct board_pv *pv)
{
	if (!pv)
		return;
	if (pv->vmport) {
		platform_del_dev(&pv->vm->plat, pv->vmport);
		vmport_destroy(pv->vmport);
	}
	free(pv);
}

struct vmport *board_pv_vmport(struct board_pv *pv)
{
	return pv ? pv->vmport : NULL;
}

void board_pv_backdoor(struct board_pv *pv, struct accel_backdoor *r)
{
	struct vmport_regs vr = { .rax = r->rax,
				  .rbx = r->rbx,
				  .rcx = r->rcx,
				  .rdx = r->rdx,
				  .rsi = r->rsi,
				  .rdi = r->rdi,
				  .rbp = r->rbp,
				  .hb = r->hb,
				  .hb_out = r->hb_out,
				  .hb_buf = r->hb_buf,
				  .hb_len = r->hb_len };

	if (!pv->vmport) {
		r->rax = ~0ull;
		return;
	}
	pthread_mutex_lock(&pv->vm->plat.dev_lock);
	vmport_call(pv->vmport, &vr);
	pthread_mutex_unlock(&pv->vm->plat.dev_lock);
	r->rax = vr.rax;
	r->rbx = vr.rbx;
	r->rcx = vr.rcx;
	r->rdx = vr.rdx;
	r->rsi = vr.rsi;
	r->rdi = vr.rdi;
	r->rbp = vr.rbp;
	r->hb_len = vr.hb_len;
}
