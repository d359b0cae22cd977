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
 *     interrupts keep coming and the counter goes on; the debug round trip works there too;
 *   - the engine-neutral form of the chips (vmm/chips_state.h): the bt board's PIC pair, I/O
 *     APIC, local APICs and PIT exported, imported after a reset and exported again are equal
 *     field by field, and the guest runs on from them; that form through KVM's structures
 *     (kvm_chips_to_kernel/_from_kernel) and back keeps every field KVM carries; KVM's
 *     structures through the form and back are equal (50 pseudo-random states);
 *   - BT -> KVM -> BT (when /dev/kvm is usable): a state saved under bt loads into a kvm VM
 *     and a state of that VM into a bt VM: each time the counter goes on, the PIT's interrupt
 *     keeps arriving and the TSC goes on from its value (where KVM lets the VMM set it: not
 *     under PVM, where that check is skipped with the reason); refused with the reason: a
 *     bt state whose guest turned the HPET on (under kvm), a kvm state whose guest turned
 *     kvmclock on (under bt), leaving the VM as it was.
 * The flat image is the first argument.
 */
#include "devices/acpi_pm.h"
#include "devices/device.h"
#include "devices/hpet_regs.h"
#include "vmm/accel_select.h"
#include "vmm/base/log.h"
#include "vmm/board_irqchip.h"
#include "vmm/board_pc.h"
#include "vmm/boot/boot.h"
#include "vmm/bus.h"
#include "vmm/chips_state.h"
#include "vmm/kvm/kvm_internal.h"
#include "vmm/loop.h"
#include "vmm/snapshot.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

#include <errno.h>
#include <limits.h>
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
	print_message("the state of the 1-vCPU PC: %zu bytes\n", bytes);
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

/* ---- the engine-neutral form of the chips (vmm/chips_state.h) */

#define EQ(field)                                                                             \
	do {                                                                                  \
		if (a->field != b->field)                                                     \
			fail_msg("%s: %llu, then %llu", #field, (unsigned long long)a->field, \
				 (unsigned long long)b->field);                               \
	} while (0)

static void chips_pic_equal(const struct chips_pic *a, const struct chips_pic *b, bool all)
{
	EQ(irr);
	EQ(isr);
	EQ(imr);
	EQ(pins);
	EQ(elcr);
	EQ(irq_base);
	EQ(icw3);
	EQ(init_step);
	EQ(priority_base);
	EQ(ic4);
	EQ(auto_eoi);
	EQ(rotate_on_aeoi);
	EQ(sfnm);
	EQ(special_mask);
	EQ(read_isr);
	EQ(poll);
	if (all) {
		EQ(single);
		EQ(ltim);
	}
}

static void chips_lapic_equal(const struct chips_lapic *a, const struct chips_lapic *b)
{
	EQ(id);
	EQ(tpr);
	EQ(ldr);
	EQ(dfr);
	EQ(svr);
	EQ(esr);
	EQ(icr_lo);
	EQ(icr_hi);
	EQ(tmict);
	EQ(tmcct);
	EQ(tdcr);
	for (unsigned i = 0; i < 8; i++) {
		EQ(irr[i]);
		EQ(isr[i]);
		EQ(tmr[i]);
	}
	for (unsigned i = 0; i < CHIPS_LAPIC_LVTS; i++)
		EQ(lvt[i]);
}

/*
 * Field by field. all: every field (bt -> bt); else the fields KVM's structures carry (the
 * PIT's phase, OUT and current count, the 8259's single and LTIM modes are not among them, and
 * the local APICs' base and TSC deadline travel in MSRs: compared by the callers).
 */
static void chips_equal(const struct chips_state *a, const struct chips_state *b, bool all)
{
	for (unsigned i = 0; i < 2; i++)
		chips_pic_equal(&a->pic[i], &b->pic[i], all);
	EQ(ioapic.id);
	EQ(ioapic.regsel);
	EQ(ioapic.irr);
	for (unsigned p = 0; p < CHIPS_IOAPIC_PINS; p++)
		EQ(ioapic.redtbl[p]);
	EQ(nr_lapics);
	for (unsigned i = 0; i < a->nr_lapics; i++) {
		chips_lapic_equal(&a->lapic[i], &b->lapic[i]);
		if (all) {
			EQ(lapic[i].base_msr);
			EQ(lapic[i].tsc_deadline);
		}
	}
	for (unsigned c = 0; c < CHIPS_PIT_CHANNELS; c++) {
		if (all || a->pit[c].loaded)
			EQ(pit[c].mode); /* KVM's unprogrammed counter has mode 0xff */
		EQ(pit[c].rw);
		EQ(pit[c].bcd);
		EQ(pit[c].gate);
		EQ(pit[c].loaded);
		EQ(pit[c].reload);
		EQ(pit[c].read_state);
		EQ(pit[c].write_state);
		EQ(pit[c].write_lsb);
		EQ(pit[c].latch_state);
		EQ(pit[c].latched);
		EQ(pit[c].status_latched);
		EQ(pit[c].status);
		if (all) {
			EQ(pit[c].count);
			EQ(pit[c].elapsed);
			EQ(pit[c].out);
		}
	}
	EQ(speaker_data);
	EQ(hpet_enabled);
}

#undef EQ

static void chips_export(struct machine *m, struct chips_state *x)
{
	pthread_mutex_lock(&m->vm->plat.dev_lock);
	board_irqchip_export(board_pc_irqchip(m->vm->board), x);
	pthread_mutex_unlock(&m->vm->plat.dev_lock);
}

/*
 * The bt board's devices -> the neutral form -> the devices (after a reset) -> the neutral
 * form again: equal in every field, and the guest runs on from the imported chips; then that
 * form -> KVM's structures -> the neutral form: equal in every field KVM carries.
 */
static void test_chips_round_trip(void **state)
{
	struct machine m;
	struct chips_state x1, x2, x3;
	struct kvm_pic_state pic[2];
	struct kvm_ioapic_state io;
	struct kvm_pit_state2 pit;
	struct kvm_lapic_state lapic;
	struct err err = { 0 };
	u32 ticks;

	(void)state;
	for (const struct state_desc *const *d = chips_state_descs; *d; d++)
		if (state_desc_verify(*d, &err) < 0)
			fail_msg("%s: %s", (*d)->name, err.msg);
	assert_int_equal(machine_create(&m, "bt", 2, ""), 0);
	boot_and_pause(&m, 20);
	/* Something in every part: a masked, level-triggered RTE, a latched PIT count, ISR bits,
	 * a one-shot LAPIC timer counting on the second CPU. */
	pthread_mutex_lock(&m.vm->plat.dev_lock);
	bus_write_locked(&m.vm->plat.mmio, 0xfec00000, 4, 0x10 + 2 * 9); /* IOREGSEL: pin 9 */
	bus_write_locked(&m.vm->plat.mmio, 0xfec00010, 4, 0x1a0b1);	 /* level, masked */
	bus_write_locked(&m.vm->plat.pio, 0x43, 1, 0x80);		 /* latch counter 2 */
	pthread_mutex_unlock(&m.vm->plat.dev_lock);
	chips_export(&m, &x1);
	assert_int_equal(x1.nr_lapics, 2);
	assert_int_equal(x1.pic[0].irq_base, 0x20);
	assert_int_equal(x1.pic[1].irq_base, 0x28);
	assert_int_equal(x1.pic[0].imr, 0xfe);
	assert_int_equal(x1.pit[0].mode, 2);
	assert_int_equal(x1.pit[0].reload, 1193);
	assert_true(x1.pit[2].latch_state != 0);
	assert_int_equal(x1.ioapic.redtbl[9] & 0x1ffff, 0x1a0b1);
	x1.lapic[1].tmict = 5000000; /* (set through the form itself: a one-shot at 5 ms) */
	x1.lapic[1].tmcct = 1234567;
	x1.lapic[1].lvt[0] = 0x30;
	x1.lapic[1].isr[1] = 0x10;
	x1.lapic[1].tpr = 0x20;
	pthread_mutex_lock(&m.vm->plat.dev_lock);
	board_pc_reset(m.vm->board);
	if (board_irqchip_import(board_pc_irqchip(m.vm->board), &x1, &err) < 0)
		fail_msg("import: %s", err.msg);
	pthread_mutex_unlock(&m.vm->plat.dev_lock);
	chips_export(&m, &x2);
	chips_equal(&x1, &x2, true);

	/* -> KVM's structures (over what a KVM would hold) -> back. */
	memset(pic, 0xa5, sizeof(pic));
	memset(&io, 0x5a, sizeof(io));
	memset(&pit, 0, sizeof(pit));
	memset(&lapic, 0x3c, sizeof(lapic));
	pic[0].elcr_mask = 0xf8;
	pic[1].elcr_mask = 0xde;
	kvm_chips_to_kernel(&x1, pic, &io, &pit);
	assert_int_equal(io.base_address, 0x5a5a5a5a5a5a5a5aull); /* not the form's: kept */
	assert_int_equal(pic[0].irq_base, 0x20);
	assert_int_equal(pic[0].init_state, 0);
	assert_int_equal(pit.channels[0].count, 1193);
	assert_int_equal(pit.channels[0].mode, 2);
	memset(&x3, 0, sizeof(x3));
	kvm_chips_from_kernel(&x3, pic, &io, &pit);
	x3.nr_lapics = x1.nr_lapics;
	for (unsigned i = 0; i < x1.nr_lapics; i++) {
		kvm_lapic_to_kernel(&lapic, &x1.lapic[i]);
		kvm_lapic_from_kernel(&x3.lapic[i], &lapic);
	}
	x3.hpet_enabled = x1.hpet_enabled;
	chips_equal(&x1, &x3, false);

	/* The guest goes on with the imported chips: PIT interrupts through the 8259 pair. */
	ticks = ram32(&m, GPA_TICKS);
	assert_int_equal(vm_resume(m.vm, &err), 0);
	run_until(&m, GPA_TICKS, ticks + 20);
	machine_destroy(&m);
}

/* KVM's structures -> the neutral form -> KVM's structures: every field KVM carries. */
static void test_chips_kvm_structs_round_trip(void **state)
{
	struct kvm_pic_state pic[2], pic2[2];
	struct kvm_ioapic_state io, io2;
	struct kvm_pit_state2 pit, pit2;
	struct kvm_lapic_state lapic, lapic2;
	struct chips_state x;
	u32 seed = 12345;

	(void)state;
	for (unsigned round = 0; round < 50; round++) {
		u8 *b = (u8 *)&lapic;

		for (size_t i = 0; i < sizeof(lapic); i++)
			b[i] = (u8)((seed = seed * 1103515245u + 12345u) >> 16);
		memcpy(&lapic.regs[0x20], &(u32){ (seed & 0xff) << 24 }, 4); /* an xAPIC ID */
		for (unsigned i = 0; i < 2; i++) {
			seed = seed * 1103515245u + 12345u;
			pic[i] =
				(struct kvm_pic_state){ .last_irr = (u8)seed,
							.irr = (u8)(seed >> 8),
							.imr = (u8)(seed >> 16),
							.isr = (u8)(seed >> 24),
							.priority_add = seed & 7,
							.irq_base = (u8)(seed & 0xf8),
							.read_reg_select = seed >> 3 & 1,
							.poll = seed >> 4 & 1,
							.special_mask = seed >> 5 & 1,
							.init_state = seed >> 6 & 3,
							.auto_eoi = seed >> 8 & 1,
							.rotate_on_auto_eoi = seed >> 9 & 1,
							.special_fully_nested_mode = seed >> 10 & 1,
							.init4 = seed >> 11 & 1,
							.elcr = (u8)(seed >> 12) &
								(i ? 0xde : 0xf8),
							.elcr_mask = i ? 0xde : 0xf8 };
		}
		memset(&io, 0, sizeof(io));
		io.base_address = 0xfec00000;
		io.ioregsel = seed & 0xff;
		io.id = seed >> 8 & 0xf;
		io.irr = seed & 0xffffff;
		for (unsigned p = 0; p < CHIPS_IOAPIC_PINS; p++)
			io.redirtbl[p].bits = (u64)(seed = seed * 1103515245u + 12345u) << 32 | p;
		memset(&pit, 0, sizeof(pit));
		for (unsigned c = 0; c < 3; c++) {
			struct kvm_pit_channel_state *k = &pit.channels[c];

			seed = seed * 1103515245u + 12345u;
			k->count = (seed & 0xffff) + 1;
			k->latched_count = (u16)(seed >> 3);
			k->count_latched = seed >> 5 & 3;
			k->status_latched = seed >> 7 & 1;
			k->status = (u8)(seed >> 8);
			k->read_state = (seed >> 16) % 4 + 1;
			k->write_state = (seed >> 18) % 4 + 1;
			k->write_latch = (u8)(seed >> 20);
			k->rw_mode = (seed >> 28) % 3 + 1;
			k->mode = round == 0 ? 0xff : (seed >> 24) % 6;
			k->bcd = seed >> 30 & 1;
			k->gate = seed >> 31;
		}
		pit.flags = seed & KVM_PIT_FLAGS_SPEAKER_DATA_ON;
		memset(&x, 0, sizeof(x));
		kvm_chips_from_kernel(&x, pic, &io, &pit);
		kvm_lapic_from_kernel(&x.lapic[0], &lapic);
		memset(pic2, 0, sizeof(pic2));
		pic2[0].elcr_mask = 0xf8;
		pic2[1].elcr_mask = 0xde;
		io2 = (struct kvm_ioapic_state){ .base_address = 0xfec00000 };
		memset(&pit2, 0, sizeof(pit2));
		memset(&lapic2, 0, sizeof(lapic2));
		kvm_chips_to_kernel(&x, pic2, &io2, &pit2);
		kvm_lapic_to_kernel(&lapic2, &x.lapic[0]);
		assert_memory_equal(pic, pic2, sizeof(pic));
		assert_memory_equal(&io, &io2, sizeof(io));
		for (unsigned c = 0; c < 3; c++)
			pit2.channels[c].count_load_time = pit.channels[c].count_load_time;
		assert_memory_equal(&pit, &pit2, sizeof(pit));
		for (unsigned off = 0x20; off < 0x400; off += 0x10) {
			/* ID, TPR, LDR, DFR, SVR, ISR, TMR, IRR, ESR, ICR, the LVTs but CMCI, the
			 * timer's counts and divider; the rest (version, PPR, APR, reserved) is KVM's
			 * own and stays as it has it (kvm_chips_load reads the page first) */
			bool carried = off == 0x20 || off == 0x80 ||
				       (off >= 0xd0 && off <= 0x280) ||
				       (off >= 0x300 && off <= 0x390) || off == 0x3e0;
			u32 want, got;

			if (!carried)
				continue;
			memcpy(&want, lapic.regs + off, 4);
			memcpy(&got, lapic2.regs + off, 4);
			if (want != got)
				fail_msg("LAPIC register %#x: %#x after the round trip, %#x before",
					 off, got, want);
		}
	}
}

static void skip_without_kvm(void)
{
	struct machine m;

	if (machine_create(&m, "kvm", 1, "") == -ENODEV) {
		print_message("skipped: KVM is not available here\n");
		skip();
	}
	machine_destroy(&m);
}

static u64 vcpu_tsc(struct machine *m)
{
	struct cpu_state st;

	memset(&st, 0, sizeof(st));
	assert_int_equal(m->vm->accel->vcpu_get(m->vm->vcpus[0]->av, &st), 0);
	return st.tsc;
}

#define TSC_FAR(a, b) ((a) > (b) ? (a) - (b) > 20000000000ull : (b) - (a) > 20000000000ull)

/* Whether the accelerator puts the guest's TSC where the VMM says (KVM under PVM does not). */
static bool tsc_settable(struct machine *m, u64 tsc)
{
	struct cpu_state st;
	u64 now;

	memset(&st, 0, sizeof(st));
	assert_int_equal(m->vm->accel->vcpu_get(m->vm->vcpus[0]->av, &st), 0);
	st.tsc = tsc;
	st.flags |= CPU_STATE_F_TSC;
	assert_int_equal(m->vm->accel->vcpu_set(m->vm->vcpus[0]->av, &st), 0);
	now = vcpu_tsc(m);
	return !TSC_FAR(now, tsc);
}

/* Load s into a new VM of engine to (RAM from `from`), check it counts on, destroy `from`. */
static void cross_restore(struct machine *from, struct machine *to, const char *engine,
			  struct state_buf *s, u64 tsc)
{
	struct err err = { 0 };
	u32 counter = ram32(from, GPA_COUNTER), ticks = ram32(from, GPA_TICKS);
	u64 tsc2;

	assert_int_equal(machine_create(to, engine, 1, ""), 0);
	boot_and_pause(to, 1);
	copy_ram(to, from);
	machine_destroy(from);
	if (vm_state_load(to->vm, s->data, s->len, &err) < 0)
		fail_msg("load under %s: %s", engine, err.msg);
	assert_int_equal(ram32(to, GPA_COUNTER), counter);
	/* The guest's TSC goes on from where it was (tsc: read right after the save; KVM's runs
	 * on with the host while paused: within a few seconds' worth of ticks either way). */
	tsc2 = vcpu_tsc(to);
	if (TSC_FAR(tsc2, tsc) && !tsc_settable(to, tsc))
		print_message(
			"TSC check skipped under %s: this host's KVM does not let the VMM set "
			"the guest's TSC (PVM: the guest sees the host's)\n",
			engine);
	else if (TSC_FAR(tsc2, tsc))
		fail_msg("under %s the TSC is %llu, it was %llu at the save", engine,
			 (unsigned long long)tsc2, (unsigned long long)tsc);
	assert_int_equal(vm_resume(to->vm, &err), 0);
	/* The PIT's interrupt keeps arriving through the 8259 pair, the counter goes on and
	 * the guest's own check of it (FAIL_AT) holds. */
	run_until(to, GPA_TICKS, ticks + 30);
	assert_true(ram32(to, GPA_COUNTER) > counter);
	assert_int_equal(vm_pause(to->vm, &err), 0);
}

/* A state saved under bt restores under kvm, and that VM's state restores under bt again. */
static void test_cross_engine_restore(void **state)
{
	struct machine a, b, c;
	struct state_buf s1, s2;
	struct err err = { 0 };

	(void)state;
	skip_without_kvm();
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	boot_and_pause(&a, 30);
	state_buf_init(&s1);
	state_buf_init(&s2);
	if (vm_state_save(a.vm, &s1, &err) < 0)
		fail_msg("save under bt: %s", err.msg);
	assert_non_null(memmem(s1.data, s1.len, "chips", 5));
	cross_restore(&a, &b, "kvm", &s1, vcpu_tsc(&a));
	if (vm_state_save(b.vm, &s2, &err) < 0)
		fail_msg("save under kvm: %s", err.msg);
	assert_non_null(memmem(s2.data, s2.len, "kvm-irqchip", 11));
	cross_restore(&b, &c, "bt", &s2, vcpu_tsc(&b));
	machine_destroy(&c);
	state_buf_free(&s1);
	state_buf_free(&s2);
}

/*
 * What cannot convert is refused with the reason, and the VM is left as it was: the bt
 * board's HPET turned on by the guest (to kvm), kvmclock turned on (to bt).
 */
static void test_cross_engine_refusals(void **state)
{
	struct machine a, b;
	struct state_buf s;
	struct err err = { 0 };

	(void)state;
	skip_without_kvm();
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	boot_and_pause(&a, 5);
	pthread_mutex_lock(&a.vm->plat.dev_lock);
	bus_write_locked(&a.vm->plat.mmio, HPET_DEFAULT_BASE + HPET_GEN_CONF, 4, HPET_CONF_ENABLE);
	pthread_mutex_unlock(&a.vm->plat.dev_lock);
	state_buf_init(&s);
	assert_int_equal(vm_state_save(a.vm, &s, &err), 0);
	assert_int_equal(machine_create(&b, "kvm", 1, ""), 0);
	boot_and_pause(&b, 1);
	assert_int_equal(vm_state_load(b.vm, s.data, s.len, &err), -EINVAL);
	print_message("refused: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "HPET"));
	assert_non_null(strstr(err.msg, "cannot restore under kvm"));
	machine_destroy(&a);
	state_buf_free(&s);

	/* kvmclock on (MSR_KVM_SYSTEM_TIME_NEW, its page at 8 MiB): refused under bt. */
	assert_int_equal(kvm_msr_set1(b.vm->vcpus[0]->av, 0x4b564d01, 0x800001), 0);
	state_buf_init(&s);
	assert_int_equal(vm_state_save(b.vm, &s, &err), 0);
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	boot_and_pause(&a, 1);
	assert_int_equal(vm_state_load(a.vm, s.data, s.len, &err), -EINVAL);
	print_message("refused: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "kvmclock"));
	assert_non_null(strstr(err.msg, "cannot restore under bt"));
	/* Refused before anything was written: the bt VM runs on. */
	{
		u32 ticks = ram32(&a, GPA_TICKS);

		assert_int_equal(vm_resume(a.vm, &err), 0);
		run_until(&a, GPA_TICKS, ticks + 5);
	}
	machine_destroy(&a);
	machine_destroy(&b);
	state_buf_free(&s);
}

/* Run the main loop for ms milliseconds. */
static void run_for(struct machine *m, u64 ms)
{
	u64 end = now_ms() + ms;

	while (now_ms() < end)
		loop_run_once(m->loop, 5);
}

/*
 * A guest asleep in ACPI S3 (its PM1a_CNT written with SLP_TYP S3 and SLP_EN, the FACS waking
 * vector at its start) is snapshotted: the state says it sleeps; loaded into a new VM and
 * resumed, it stays asleep (no tick counted) until the power button wakes it at its waking
 * vector, where it sets its chips up again and counts on from its count.
 */
static void test_suspended_restore(void **state)
{
	struct machine a, b;
	struct snapshot_job *job;
	struct snapshot *snap;
	struct snapshot_mem_stats stats;
	struct err err = { 0 };
	char dir[PATH_MAX];
	u32 wake = 0x7c00, counter, ticks;
	u64 deadline;

	(void)state;
	assert_int_equal(machine_create(&a, "bt", 1, ""), 0);
	boot_and_pause(&a, 10);
	assert_int_equal(gmem_write(&a.vm->plat.mem, ACPI_BUILD_FACS_GPA + ACPI_FACS_WAKING_VECTOR,
				    &wake, 4),
			 0);
	assert_int_equal(vm_resume(a.vm, &err), 0);
	pthread_mutex_lock(&a.vm->plat.dev_lock);
	bus_write_locked(&a.vm->plat.pio, ACPI_PM_PM1A_CNT, 2,
			 ACPI_PM_SLP_TYP_S3 << 10 | ACPI_PM1_SLP_EN);
	pthread_mutex_unlock(&a.vm->plat.dev_lock);
	for (deadline = now_ms() + 20000; !a.vm->suspended; loop_run_once(a.loop, 5))
		if (now_ms() > deadline)
			fail_msg("the guest did not enter S3");
	run_for(&a, 50);
	ticks = ram32(&a, GPA_TICKS);
	counter = ram32(&a, GPA_COUNTER);
	assert_int_equal(vm_pause(a.vm, &err), 0);
	/* The snapshot (directory, files) of the sleeping VM, not refused. */
	snprintf(dir, sizeof(dir), "%s/s3-snap", disk_dir);
	if (snapshot_prepare(a.vm, &a.spec, dir, &job, &err) < 0)
		fail_msg("snapshot of a sleeping VM: %s", err.msg);
	if (snapshot_write(job, &stats, &err) < 0)
		fail_msg("snapshot write: %s", err.msg);
	snapshot_job_free(job);
	machine_destroy(&a);

	/* A new VM made for it takes it and starts asleep. */
	assert_int_equal(machine_create_flags(&b, "bt", 1, "", VM_CREATE_FOR_STATE), 0);
	assert_int_equal(snapshot_open(dir, &snap, &err), 0);
	if (snapshot_restore(snap, b.vm, &stats, &err) < 0)
		fail_msg("restore: %s", err.msg);
	snapshot_close(snap);
	assert_true(b.vm->suspended);
	assert_int_equal(vm_start_loaded(b.vm, true, &err), 0); /* Running, asleep */
	run_for(&b, 300);
	assert_int_equal(ram32(&b, GPA_TICKS), ticks); /* asleep: no vCPU runs */
	assert_int_equal(vm_power_button(b.vm, &err), 0);
	run_until(&b, GPA_TICKS, ticks + 20);
	assert_false(b.vm->suspended);
	assert_true(ram32(&b, GPA_COUNTER) > counter);
	machine_destroy(&b);
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
		cmocka_unit_test(test_chips_round_trip),
		cmocka_unit_test(test_chips_kvm_structs_round_trip),
		cmocka_unit_test(test_cross_engine_restore),
		cmocka_unit_test(test_cross_engine_refusals),
		cmocka_unit_test(test_suspended_restore),
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
