// SPDX-License-Identifier: MIT
/*
 * The "bt" accelerator (vmm/accel.h). BT part 1 provides the CPU core
 * (decoder, block cache, user-level executor); running whole guests needs
 * the system architecture (paging, descriptor tables, IDT delivery, the
 * userspace interrupt controllers) which is BT part 2 (issue 5). Until
 * then every entry fails cleanly with the same message.
 */
#include "vmm/accel.h"

#include "vmm/base/err.h"

#include <errno.h>

#define ACCEL_BT_WHY                                                                          \
	"the BT engine cannot run whole guests yet: its system emulation (BT part 2) is not " \
	"implemented"

static int accel_bt_probe(struct err *why_not)
{
	return err_set(why_not, -ENOSYS, ACCEL_BT_WHY);
}

static int accel_bt_vm_create(const struct accel_config *cfg, struct accel_vm **out,
			      struct err *err)
{
	(void)cfg;
	*out = NULL;
	return err_set(err, -ENOSYS, ACCEL_BT_WHY);
}

static void accel_bt_vm_destroy(struct accel_vm *avm)
{
	(void)avm;
}

static int accel_bt_map_ram(struct accel_vm *avm, u64 gpa, u64 len, void *hva, unsigned flags)
{
	(void)avm, (void)gpa, (void)len, (void)hva, (void)flags;
	return -ENOSYS;
}

static int accel_bt_dirty_log(struct accel_vm *avm, u64 gpa, u64 len, unsigned long *bitmap)
{
	(void)avm, (void)gpa, (void)len, (void)bitmap;
	return -ENOSYS;
}

static int accel_bt_vcpu_create(struct accel_vm *avm, unsigned index, const struct accel_io *io,
				struct accel_vcpu **out, struct err *err)
{
	(void)avm, (void)index, (void)io;
	*out = NULL;
	return err_set(err, -ENOSYS, ACCEL_BT_WHY);
}

static void accel_bt_vcpu_destroy(struct accel_vcpu *v)
{
	(void)v;
}

static int accel_bt_vcpu_run(struct accel_vcpu *v, enum vcpu_stop *why)
{
	(void)v;
	*why = VCPU_STOP_FAILED;
	return -ENOSYS;
}

static void accel_bt_vcpu_kick(struct accel_vcpu *v)
{
	(void)v;
}

static void accel_bt_vcpu_set_intr(struct accel_vcpu *v, bool level)
{
	(void)v, (void)level;
}

static int accel_bt_vcpu_get(struct accel_vcpu *v, struct cpu_state *st)
{
	(void)v, (void)st;
	return -ENOSYS;
}

static int accel_bt_vcpu_set(struct accel_vcpu *v, const struct cpu_state *st)
{
	(void)v, (void)st;
	return -ENOSYS;
}

const struct accel_ops accel_bt = {
	.name = "bt",
	.has_irqchip = false,
	.probe = accel_bt_probe,
	.vm_create = accel_bt_vm_create,
	.vm_destroy = accel_bt_vm_destroy,
	.map_ram = accel_bt_map_ram,
	.dirty_log = accel_bt_dirty_log,
	.irq_line = NULL,
	.msi = NULL,
	.vcpu_create = accel_bt_vcpu_create,
	.vcpu_destroy = accel_bt_vcpu_destroy,
	.vcpu_run = accel_bt_vcpu_run,
	.vcpu_kick = accel_bt_vcpu_kick,
	.vcpu_set_intr = accel_bt_vcpu_set_intr,
	.vcpu_get = accel_bt_vcpu_get,
	.vcpu_set = accel_bt_vcpu_set,
};
