// SPDX-License-Identifier: MIT
/*
 * Snapshots in the VMM process (snapshot.h "In a vmm"): vm.snapshot and vm.restore, vmmctl
 * snapshot and vmm run --restore all come here.
 *
 * Taking one: a Running VM is paused (and resumed afterwards when asked), the state saved and
 * the disks frozen on the main thread (snapshot_prepare), then the vmm's worker thread
 * (worker.h) writes the files while the loop goes on serving the API; the VM is held Paused
 * with its RAM unchanged meanwhile (VM_HOLD_FROZEN) and the operation registered with the
 * vmm, which cancels it (the worker stops and is joined) before the VM is destroyed or the
 * process ends. The worker hands its result back with loop_post.
 *
 * Restoring one: into a VMM without a VM, on the main thread (the RAM is read while nothing
 * else can happen to the VM).
 */
#include "vmm/snapshot.h"

#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"
#include "vmm/worker.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct snapshot_op {
	struct vmm *m;
	struct snapshot_job *job;
	bool resume; /* the VM was Running and is resumed afterwards */
	bool cancelled;
	int ret;
	struct err err;
	struct snapshot_mem_stats stats;
	snapshot_done_fn done;
	void *opaque;
};

/* Release the VM and tell the caller. Main thread, the worker joined. */
static void snapshot_op_report(struct snapshot_op *op)
{
	struct vm *vm = vmm_vm(op->m);
	struct err rerr = { 0 };
	char msg[160];

	vm_set_hold(vm, VM_HOLD_NONE, NULL);
	if (op->ret == 0) {
		snprintf(msg, sizeof(msg), "snapshot written: %llu of %llu MiB of RAM in %llu ms",
			 (unsigned long long)(op->stats.data_bytes >> 20),
			 (unsigned long long)(op->stats.ram_bytes >> 20),
			 (unsigned long long)(op->stats.ns / 1000000));
		log_info("%s: %s", vmm_spec(op->m)->name, msg);
		vmm_event(op->m, "snapshotted", "api", msg);
	} else {
		log_err("%s", op->err.msg);
	}
	if (op->resume && vm_resume(vm, &rerr) < 0)
		log_err("%s", rerr.msg);
	if (op->done)
		op->done(op->opaque, op->ret, &op->err, &op->stats);
}

static void snapshot_op_finish(void *opaque)
{
	struct snapshot_op *op = opaque;

	if (!op->cancelled) {
		vmm_end_operation(op->m);
		snapshot_op_report(op);
	}
	snapshot_job_free(op->job);
	free(op);
}

/* On the worker. */
static void snapshot_op_job(void *arg)
{
	struct snapshot_op *op = arg;

	op->ret = worker_lockdown();
	if (op->ret < 0)
		err_set(&op->err, op->ret, "the worker thread cannot lock itself down");
	else
		op->ret = snapshot_write(op->job, &op->stats, &op->err);
	while (loop_post(vmm_loop(op->m), snapshot_op_finish, op) < 0)
		usleep(1000); /* out of memory: try again */
}

/* The vmm ends the operation (the VM is going): stop the worker, report, free at finish. */
static void snapshot_op_cancel(void *opaque)
{
	struct snapshot_op *op = opaque;

	snapshot_cancel(op->job);
	worker_wait(vmm_worker(op->m));
	op->cancelled = true;
	if (op->ret == 0)
		op->ret = err_set(&op->err, -ECANCELED, "the snapshot was cancelled");
	op->resume = false;
	snapshot_op_report(op);
}

int snapshot_take(struct vmm *m, const char *dir, bool resume, snapshot_done_fn done, void *opaque,
		  struct err *err)
{
	struct vm *vm = vmm_vm(m);
	struct snapshot_op *op;
	bool paused_here = false;
	int ret;

	if (!vm)
		return err_set(err, -ENOENT, "no VM to snapshot");
	if (!vmm_worker(m))
		return err_set(err, -ENOTSUP, "snapshots are taken through the control API");
	if (vmm_operation(m))
		return err_set(err, -EBUSY, "%s: cannot snapshot: %s is in progress",
			       vmm_spec(m)->name, vmm_operation(m));
	if (vm_state(vm) == VM_STATE_RUNNING) {
		ret = vm_pause(vm, err);
		if (ret < 0)
			return ret;
		paused_here = true;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_resume;
	}
	op->m = m;
	op->resume = paused_here && resume;
	op->done = done;
	op->opaque = opaque;
	ret = snapshot_prepare(vm, vmm_spec(m), dir, &op->job, err);
	if (ret < 0)
		goto err_free;
	ret = vmm_begin_operation(m, "a snapshot", snapshot_op_cancel, op, err);
	if (ret < 0)
		goto err_free;
	vm_set_hold(vm, VM_HOLD_FROZEN, "a snapshot is being written");
	ret = worker_run(vmm_worker(m), snapshot_op_job, op);
	if (ret < 0) {
		err_set(err, ret, "the worker thread is busy");
		vm_set_hold(vm, VM_HOLD_NONE, NULL);
		vmm_end_operation(m);
		goto err_free;
	}
	log_info("%s: writing a snapshot to %s", vmm_spec(m)->name, dir);
	return 0;

err_free:
	if (op)
		snapshot_job_free(op->job);
	free(op);
err_resume:
	if (paused_here) {
		struct err rerr = { 0 };

		if (vm_resume(vm, &rerr) < 0)
			log_err("%s", rerr.msg);
	}
	return ret;
}

int snapshot_parse_spec(const char *json, const char *base_dir, const char *what,
			const char *engine, const char *const *sets, unsigned nr_sets,
			struct vm_spec *spec, struct err *err)
{
	struct diag d;
	int ret;

	diag_init(&d);
	ret = spec_parse_string(json, base_dir, sets, nr_sets, SPEC_CHECK_FILES, spec, &d);
	if (ret < 0) {
		if (d.nr)
			err_set(err, ret, "%s: %s%s%s%s", what, d.entries[0].path,
				d.entries[0].path[0] ? ": " : "", d.entries[0].msg,
				d.nr > 1 ? " (and more)" : "");
		else
			err_set(err, ret, "%s: not a valid VM spec", what);
		for (unsigned i = 1; i < d.nr; i++)
			log_err("%s: %s%s%s", what, d.entries[i].path,
				d.entries[i].path[0] ? ": " : "", d.entries[i].msg);
		diag_free(&d);
		return ret;
	}
	diag_free(&d);
	if (spec->accel == SPEC_ACCEL_AUTO)
		spec->accel = !strcmp(engine, "kvm") ? SPEC_ACCEL_KVM : SPEC_ACCEL_BT;
	return 0;
}

/* config.json's spec. */
static int snapshot_parse_config(struct snapshot *s, const char *const *sets, unsigned nr_sets,
				 struct vm_spec *spec, struct err *err)
{
	char what[PATH_MAX + 16];

	snprintf(what, sizeof(what), "%s/" SNAPSHOT_CONFIG, snapshot_dir(s));
	return snapshot_parse_spec(snapshot_config(s), snapshot_dir(s), what, snapshot_engine(s),
				   sets, nr_sets, spec, err);
}

int snapshot_restore_vm(struct vmm *m, const char *dir, const char *const *sets, unsigned nr_sets,
			bool resume, struct err *err)
{
	struct snapshot_mem_stats stats = { 0 };
	struct vm_spec spec = { 0 };
	struct snapshot *s = NULL;
	char msg[200], name[SPEC_NAME_MAX + 1];
	char **created = NULL, *vars_copy = NULL;
	unsigned nr_created = 0;
	int ret;

	if (vmm_vm(m))
		return err_set(err, -EEXIST, "a VM exists already; vm.delete it first");
	ret = snapshot_open(dir, &s, err);
	if (ret == 0)
		ret = snapshot_parse_config(s, sets, nr_sets, &spec, err);
	if (ret == 0) {
		nr_created = spec.nr_disks;
		created = calloc(nr_created ? nr_created : 1, sizeof(*created));
		ret = created ? snapshot_restore_disks(&spec, created, err) :
				err_set(err, -ENOMEM, "out of memory");
	}
	if (ret == 0)
		ret = snapshot_restore_vars(&spec, &vars_copy, err);
	if (ret < 0)
		goto out;
	snprintf(name, sizeof(name), "%s", spec.name);
	ret = vmm_create_vm(m, &spec, VM_CREATE_FOR_STATE, err);
	if (ret < 0)
		goto out;
	ret = snapshot_restore(s, vmm_vm(m), &stats, err);
	if (ret == 0)
		ret = vm_start_loaded(vmm_vm(m), resume, err);
	if (ret < 0) {
		struct err derr = { 0 };

		if (vmm_delete_vm(m, &derr) < 0)
			log_err("%s", derr.msg);
		goto out;
	}
	snprintf(msg, sizeof(msg), "restored from %s: %llu of %llu MiB of RAM read in %llu ms",
		 snapshot_dir(s), (unsigned long long)(stats.data_bytes >> 20),
		 (unsigned long long)(stats.ram_bytes >> 20),
		 (unsigned long long)(stats.ns / 1000000));
	log_info("%s: %s", name, msg);
	vmm_event(m, "restored", "api", msg);
out:
	for (unsigned i = 0; created && i < nr_created; i++) {
		if (ret < 0 && created[i])
			unlink(created[i]); /* an empty delta: the VM never ran on it */
		free(created[i]);
	}
	free(created);
	if (ret < 0 && vars_copy)
		unlink(vars_copy); /* the VM never ran on it */
	free(vars_copy);
	spec_free(&spec);
	snapshot_close(s);
	return ret;
}
