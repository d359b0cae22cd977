// SPDX-License-Identifier: MIT
/*
 * The whole VM's state (vm_state.h) on a real VM under the BT engine: the PC board and a tiny
 * guest (state_guest.S: PIT interrupts through the 8259 pair, a counter in RAM with a copy in
 * a register, the UART's scratch register). Checked:
 *   - every device the board registers (with both debug devices and a virtio and an AHCI disk)
 *     has a state table that verifies;
 *   - a Paused VM's state (that board), loaded with its RAM into a second VM from the same spec,
 *     saves again byte for byte the same, and the second VM runs on: interrupts keep coming
 *     and the counter goes on from where it was, without a failure;
 *   - a VM made for a state (VM_CREATE_FOR_STATE) loads no boot payload (its RAM stays all
 *     zeros) and with the first VM's RAM and state goes on the same way, never booted; one
 *     with a firmware boot has the ROM region of the image, empty;
 *   - the debug round trip (save, reset every device and vCPU, load) done many times on a
 *     running guest leaves it running correctly;
 *   - refusals by name: saving a Running VM, loading into a VM with a different spec (two
 *     vCPUs, or another device), a state cut short; a refused load changes nothing and the VM
 *     can still be resumed;
 *   - under KVM (when /dev/kvm is usable) the same restore into a new VM: the in-kernel PIC,
 *     PIT and local APIC come along (the accelerator's records, whose tables verify), so the
 *     interrupts keep coming and the counter goes on; the debug round trip works there too.
 * The flat image is the first argument.
 */
#include "devices/device.h"
#include "vmm/accel_select.h"
#include "vmm/base/log.h"
#include "vmm/kvm/kvm_internal.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define GPA_COUNTER 0x1000
#define GPA_TICKS   0x1004
#define GPA_FAIL    0x1008
#define RAM_MIB	    16

static const char *guest_image;

struct machine {
	struct vm_spec spec;
	struct vm *vm;
	struct loop *loop;
};

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

/* A VM booting boot (the spec's "boot" object), made with flags. -ENODEV: no such accelerator. */
static int machine_create_boot(struct machine *m, const char *accel_name, unsigned vcpus,
			       const char *boot, const char *extra, unsigned flags)
{
	const struct accel_ops *accel;
	struct err err = { 0 };
	char json[1024], why[256];
	struct diag d;

	memset(m, 0, sizeof(*m));
	snprintf(json, sizeof(json),
		 "{\"name\": \"st\", \"vcpus\": %u, \"memory_mib\": %u, \"accel\": \"%s\", "
		 "\"boot\": %s, \"serial\": {\"target\": \"none\"}%s}",
		 vcpus, RAM_MIB, accel_name, boot, extra);
	diag_init(&d);
	assert_int_equal(spec_parse_string(json, NULL, NULL, 0, SPEC_CHECK_FILES, &m->spec, &d), 0);
	diag_free(&d);
	if (accel_select(m->spec.accel, &accel, why, sizeof(why), &err) < 0) {
		spec_free(&m->spec);
		return -ENODEV;
	}
	if (vm_create(&m->spec, accel, NULL, flags, &m->vm, &err) < 0)
		fail_msg("vm_create: %s", err.msg);
	assert_int_equal(loop_create(&m->loop), 0);
	assert_int_equal(vm_attach(m->vm, m->loop, &err), 0);
	return 0;
}

static int machine_create_flags(struct machine *m, const char *accel_name, unsigned vcpus,
				const char *extra, unsigned flags)
{
	char boot[512];

	snprintf(boot, sizeof(boot), "{\"flat\": \"%s\"}", guest_image);
	return machine_create_boot(m, accel_name, vcpus, boot, extra, flags);
}

static int machine_create(struct machine *m, const char *accel_name, unsigned vcpus,
			  const char *extra)
{
	return machine_create_flags(m, accel_name, vcpus, extra, 0);
}

static void machine_destroy(struct machine *m)
{
	vm_destroy(m->vm);
	loop_destroy(m->loop);
	spec_free(&m->spec);
}

static u32 ram32(struct machine *m, u64 gpa)
{
	u32 v = 0;

	assert_int_equal(gmem_read(&m->vm->plat.mem, gpa, &v, sizeof(v)), 0);
	return v;
}

/* Run the main loop until the word at gpa reaches at least want (or 20 s pass). */
static void run_until(struct machine *m, u64 gpa, u32 want)
{
	u64 deadline = now_ms() + 20000;

	while (ram32(m, gpa) < want) {
		if (now_ms() > deadline)
			fail_msg("the guest did not get to %u at %#llx (it is at %u, failure %u)",
				 want, (unsigned long long)gpa, ram32(m, gpa), ram32(m, GPA_FAIL));
		loop_run_once(m->loop, 5);
	}
	assert_int_equal(ram32(m, GPA_FAIL), 0);
}

static void boot_and_pause(struct machine *m, u32 ticks)
{
	struct err err = { 0 };

	assert_int_equal(vm_boot(m->vm, &err), 0);
	run_until(m, GPA_TICKS, ticks);
	assert_int_equal(vm_pause(m->vm, &err), 0);
}

static void copy_ram(struct machine *to, struct machine *from)
{
	const struct gmem *src = &from->vm->plat.mem;

	for (unsigned i = 0; i < src->nr; i++) {
		const struct gmem_region *r = &src->regions[i];

		/* gmem_write tells the engine, which drops code translated from the old bytes. */
		assert_int_equal(gmem_write(&to->vm->plat.mem, r->gpa, r->hva, r->len), 0);
	}
}

/* Every device the board has: the debug devices, a disk on each bus and the paravirtual devices,
 * besides the PC's. */
static char full_extra[512];
static char disk_dir[] = "/tmp/test-vm-save-XXXXXX";

static void make_disks(void)
{
	char *dir = disk_dir, cmd[256];

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "truncate -s 1M %s/a.raw %s/b.raw", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(full_extra, sizeof(full_extra),
		 ", \"debug\": {\"exit_port\": \"0xf4\", \"test_device\": true}, \"disks\": "
		 "[{\"path\": \"%s/a.raw\", \"format\": \"raw\"}, {\"path\": \"%s/b.raw\", "
		 "\"format\": \"raw\", \"bus\": \"ahci\"}], \"hypercall\": "
		 "{\"vmware_backdoor\": true}",
		 dir, dir);
}

/* Every device registered on the board has a state table that passes state_desc_verify. */
static void test_every_board_device_has_a_table(void **state)
{
	struct machine m;
	struct err err = { 0 };

	(void)state;
	assert_int_equal(machine_create(&m, "bt", 2, full_extra), 0);
	assert_true(m.vm->plat.nr_devs >= 18);
	for (unsigned i = 0; i < m.vm->plat.nr_devs; i++) {
		const struct platform_dev *d = &m.vm->plat.devs[i];

		if (!d->ops->state)
			fail_msg("%s (%s): no state table", d->name, d->ops->type);
		if (state_desc_verify(d->ops->state, &err) < 0)
			fail_msg("%s: %s", d->name, err.msg);
	}
	machine_destroy(&m);
}

static void test_restore_into_a_new_vm(void **state)
{
	struct machine a, b;
	struct state_buf s1, s2;
	struct err err = { 0 };
	u32 counter, ticks;

	(void)state;
	assert_int_equal(machine_create(&a, "bt", 1, full_extra), 0);
	boot_and_pause(&a, 30);
	counter = ram32(&a, GPA_COUNTER);
	ticks = ram32(&a, GPA_TICKS);
	state_buf_init(&s1);
	state_buf_init(&s2);
	if (vm_state_save(a.vm, &s1, &err) < 0)
		fail_msg("save: %s", err.msg);

	/* A second VM from the same spec, paused right after it started, takes the state. */
	assert_int_equal(machine_create(&b, "bt", 1, full_extra), 0);
	boot_and_pause(&b, 1);
	copy_ram(&b, &a);
	machine_destroy(&a);
	if (vm_state_load(b.vm, s1.data, s1.len, &err) < 0)
		fail_msg("load: %s", err.msg);
	assert_int_equal(vm_state_save(b.vm, &s2, &err), 0);
	assert_int_equal(s1.len, s2.len);
	assert_memory_equal(s1.data, s2.data, s1.len);
	assert_int_equal(ram32(&b, GPA_COUNTER), counter);

	assert_int_equal(vm_resume(b.vm, &err), 0);
	run_until(&b, GPA_TICKS, ticks + 30);
	assert_true(ram32(&b, GPA_COUNTER) > counter);
	machine_destroy(&b);
	state_buf_free(&s1);
	state_buf_free(&s2);
}

/* Every byte of the VM's guest RAM is zero: nothing was loaded. */
static bool ram_untouched(struct machine *m)
{
	const struct gmem *mem = &m->vm->plat.mem;

	for (unsigned i = 0; i < mem->nr; i++)
		for (u64 off = 0; off < mem->regions[i].len; off++)
			if (((const u8 *)mem->regions[i].hva)[off])
				return false;
	return true;
}

/*
 * A VM made for a state (VM_CREATE_FOR_STATE, as a restore and a migration's destination make
 * it) loads no boot payload: its RAM is untouched until the state's comes; with it and the
 * state it goes on from where the first VM was, without having booted.
 */
static void test_restore_into_a_vm_made_for_state(void **state)
{
	struct machine a, b;
	struct state_buf s1;
	struct err err = { 0 };
	u32 counter, ticks;

	(void)state;
	assert_int_equal(machine_create(&a, "bt", 1, full_extra), 0);
	assert_false(ram_untouched(&a)); /* the flat image is there */
	boot_and_pause(&a, 20);
	counter = ram32(&a, GPA_COUNTER);
	ticks = ram32(&a, GPA_TICKS);
	state_buf_init(&s1);
	if (vm_state_save(a.vm, &s1, &err) < 0)
		fail_msg("save: %s", err.msg);
	assert_int_equal(machine_create_flags(&b, "bt", 1, full_extra, VM_CREATE_FOR_STATE), 0);
	assert_true(ram_untouched(&b));
	copy_ram(&b, &a);
	machine_destroy(&a);
	if (vm_state_load(b.vm, s1.data, s1.len, &err) < 0)
		fail_msg("load: %s", err.msg);
	assert_int_equal(vm_start_loaded(b.vm, true, &err), 0);
	run_until(&b, GPA_TICKS, ticks + 20);
	assert_true(ram32(&b, GPA_COUNTER) > counter);
	machine_destroy(&b);
	state_buf_free(&s1);
}

/*
 * A firmware boot made for a state has the ROM region a boot makes (the state's memory layout
 * must match), empty: the image is not read. A normal one holds the image there.
 */
static void test_firmware_vm_made_for_state(void **state)
{
	char path[] = "/tmp/test-vm-save-fw-XXXXXX";
	char boot[64];
	static u8 image[64 << 10];
	struct machine a, b;
	int fd;

	(void)state;
	for (size_t i = 0; i < sizeof(image); i++)
		image[i] = (u8)(i * 7 + 1);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, image, sizeof(image)), (ssize_t)sizeof(image));
	close(fd);
	snprintf(boot, sizeof(boot), "{\"firmware\": \"%s\"}", path);
	assert_int_equal(machine_create_boot(&a, "bt", 1, boot, "", 0), 0);
	assert_int_equal(machine_create_boot(&b, "bt", 1, boot, "", VM_CREATE_FOR_STATE), 0);
	unlink(path);
	assert_int_equal(a.vm->plat.mem.nr, b.vm->plat.mem.nr);
	for (unsigned i = 0; i < a.vm->plat.mem.nr; i++) {
		const struct gmem_region *ra = &a.vm->plat.mem.regions[i];
		const struct gmem_region *rb = &b.vm->plat.mem.regions[i];

		assert_int_equal(ra->gpa, rb->gpa);
		assert_int_equal(ra->len, rb->len);
		assert_int_equal(ra->rom, rb->rom);
		if (ra->rom)
			assert_memory_equal(ra->hva, image, sizeof(image));
	}
	assert_true(ram_untouched(&b));
	assert_false(ram_untouched(&a));
	machine_destroy(&a);
	machine_destroy(&b);
}

static void test_round_trip_in_place(void **state)
{
	struct machine m;
	struct err err = { 0 };
	size_t bytes = 0;
	u32 ticks;

	(void)state;
	assert_int_equal(machine_create(&m, "bt", 1, ""), 0);
	boot_and_pause(&m, 5);
	for (unsigned i = 0; i < 25; i++) {
		ticks = ram32(&m, GPA_TICKS);
		if (vm_state_roundtrip(m.vm, &bytes, &err) < 0)
			fail_msg("round trip %u: %s", i, err.msg);
		assert_int_equal(vm_resume(m.vm, &err), 0);
		run_until(&m, GPA_TICKS, ticks + 3);
		assert_int_equal(vm_pause(m.vm, &err), 0);
	}
	assert_true(bytes > 1000);
	machine_destroy(&m);
}

static void test_refusals(void **state)
{
	struct machine a, b;
	struct state_buf s;
	struct err err = { 0 };
	u32 ticks;

	(void)state;
	state_buf_init(&s);
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	assert_int_equal(vm_boot(a.vm, &err), 0);
	run_until(&a, GPA_TICKS, 2);
	assert_int_equal(vm_state_save(a.vm, &s, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "the VM is Running"));
	assert_int_equal(vm_pause(a.vm, &err), 0);
	assert_int_equal(vm_state_save(a.vm, &s, &err), 0);

	/* A VM with two vCPUs: no record for vcpu1. */
	assert_int_equal(machine_create(&b, "bt", 2, ""), 0);
	assert_int_equal(vm_state_load(b.vm, s.data, s.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "no record for vcpu1"));
	machine_destroy(&b);
	/* A VM with a test device the state does not have. */
	assert_int_equal(machine_create(&b, "bt", 1, ", \"debug\": {\"test_device\": true}"), 0);
	assert_int_equal(vm_state_load(b.vm, s.data, s.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "testdev: the state has no record"));
	machine_destroy(&b);
	/* Cut short: refused, and the VM runs on as it was. */
	ticks = ram32(&a, GPA_TICKS);
	assert_true(vm_state_load(a.vm, s.data, s.len - 9, &err) < 0);
	assert_int_equal(vm_resume(a.vm, &err), 0);
	run_until(&a, GPA_TICKS, ticks + 5);
	machine_destroy(&a);
	state_buf_free(&s);
}

/* The records of the set in from, except the one of instance drop, as a set in to. */
static void state_without(const struct state_buf *from, const char *drop, struct state_buf *to)
{
	struct state_set set;
	struct err err = { 0 };
	size_t at;
	u32 n = 0;

	assert_int_equal(state_set_parse(from->data, from->len, &set, &err), 0);
	assert_int_equal(state_set_begin(to, &at), 0);
	for (unsigned i = 0; i < set.n; i++) {
		if (strcmp(set.v[i].hdr.instance, drop) == 0)
			continue;
		assert_int_equal(state_buf_append(to, set.v[i].data, set.v[i].hdr.len), 0);
		n++;
	}
	assert_int_equal(n + 1, set.n);
	state_set_end(to, at, n);
	state_set_free(&set);
}

/*
 * A device the board gained after snapshots existed (the pc board's PIIX4 PM function): a
 * state without its record loads, the device as reset, and the guest runs on. A device
 * without that property still needs its record.
 */
static void test_state_from_before_a_board_device(void **state)
{
	struct machine a, b;
	struct state_buf s, old;
	struct err err = { 0 };
	u32 ticks;

	(void)state;
	state_buf_init(&s);
	state_buf_init(&old);
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	boot_and_pause(&a, 5);
	ticks = ram32(&a, GPA_TICKS);
	assert_int_equal(vm_state_save(a.vm, &s, &err), 0);
	state_without(&s, "piix4-pm", &old);
	assert_int_equal(machine_create(&b, "bt", 1, ""), 0);
	boot_and_pause(&b, 1);
	copy_ram(&b, &a);
	if (vm_state_load(b.vm, old.data, old.len, &err) < 0)
		fail_msg("load: %s", err.msg);
	assert_int_equal(vm_resume(b.vm, &err), 0);
	run_until(&b, GPA_TICKS, ticks + 5);
	assert_int_equal(vm_pause(b.vm, &err), 0);
	state_buf_free(&old);
	state_buf_init(&old);
	state_without(&s, "pit", &old);
	assert_int_equal(vm_state_load(b.vm, old.data, old.len, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "pit: the state has no record"));
	machine_destroy(&a);
	machine_destroy(&b);
	state_buf_free(&s);
	state_buf_free(&old);
}

static void test_kvm_restore_into_a_new_vm(void **state)
{
	struct machine a, b;
	struct state_buf s1;
	struct err err = { 0 };
	size_t bytes = 0;
	u32 counter, ticks;

	(void)state;
	for (const struct state_desc *const *d = kvm_state_descs; *d; d++)
		if (state_desc_verify(*d, &err) < 0)
			fail_msg("%s: %s", (*d)->name, err.msg);
	if (machine_create(&a, "kvm", 1, "") == -ENODEV) {
		print_message("skipped: KVM is not available here\n");
		skip();
	}
	boot_and_pause(&a, 30);
	counter = ram32(&a, GPA_COUNTER);
	ticks = ram32(&a, GPA_TICKS);
	state_buf_init(&s1);
	if (vm_state_save(a.vm, &s1, &err) < 0)
		fail_msg("save: %s", err.msg);
	assert_non_null(memmem(s1.data, s1.len, "kvm-irqchip", 11));
	assert_non_null(memmem(s1.data, s1.len, "kvm-vcpu0", 9));
	assert_int_equal(machine_create(&b, "kvm", 1, ""), 0);
	boot_and_pause(&b, 1);
	copy_ram(&b, &a);
	machine_destroy(&a);
	if (vm_state_load(b.vm, s1.data, s1.len, &err) < 0)
		fail_msg("load: %s", err.msg);
	assert_int_equal(ram32(&b, GPA_COUNTER), counter);
	assert_int_equal(vm_resume(b.vm, &err), 0);
	run_until(&b, GPA_TICKS, ticks + 30);
	assert_true(ram32(&b, GPA_COUNTER) > counter);
	/* The debug round trip (save, reset, load in place) under KVM. */
	assert_int_equal(vm_pause(b.vm, &err), 0);
	for (unsigned i = 0; i < 5; i++) {
		ticks = ram32(&b, GPA_TICKS);
		if (vm_state_roundtrip(b.vm, &bytes, &err) < 0)
			fail_msg("round trip %u: %s", i, err.msg);
		assert_int_equal(vm_resume(b.vm, &err), 0);
		run_until(&b, GPA_TICKS, ticks + 3);
		assert_int_equal(vm_pause(b.vm, &err), 0);
	}
	machine_destroy(&b);
	state_buf_free(&s1);
}

int main(int argc, char **argv)
{
	char cmd[128];
	int ret;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_board_device_has_a_table),
		cmocka_unit_test(test_restore_into_a_new_vm),
		cmocka_unit_test(test_restore_into_a_vm_made_for_state),
		cmocka_unit_test(test_firmware_vm_made_for_state),
		cmocka_unit_test(test_round_trip_in_place),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_state_from_before_a_board_device),
		cmocka_unit_test(test_kvm_restore_into_a_new_vm),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s GUEST_IMAGE\n", argv[0]);
		return 2;
	}
	guest_image = argv[1];
	make_disks();
	log_min_level = LOG_LEVEL_WARN;
	ret = cmocka_run_group_tests_name("vm_save", tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", disk_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", disk_dir);
	return ret;
}
