// SPDX-License-Identifier: MIT
/*
 * The VM and vCPU state machine (vm.h, vcpu.h) on a real VM: the PC board, a
 * tiny real-mode guest (a flat binary at 0x7c00) and the bt accelerator, and
 * kvm when /dev/kvm is usable (a counted skip otherwise). The guest counts its
 * boots in RAM, reads the UART's LCR (0 after a reset) and then sets it,
 * resets the machine through 0xCF9 until a boot limit the test sets in RAM is
 * reached, then increments a counter forever; its NMI handler counts NMIs.
 *
 * Checked: pause stops the guest (the counter stands still) and freezes the
 * virtual clock, resume restarts both; pausing a halted guest returns at
 * once; calls in the wrong state fail with -EBUSY and change nothing; reboot
 * is in place (RAM kept: the boot counter goes on; the UART is reset: LCR
 * reads 0 again) and events come in order; a guest reset is carried out by
 * the main loop in place; shutdown then boot starts the guest again; vm_nmi
 * reaches the guest's handler; the counters count.
 */
#include "devices/device.h"
#include "vmm/accel_select.h"
#include "vmm/base/log.h"
#include "vmm/board_pc.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define GPA_COUNTER 0x1000 /* u32, incremented in the main loop */
#define GPA_BOOTS   0x2000 /* u16, incremented at each boot */
#define GPA_LCR	    0x2002 /* u8, the UART's LCR as read at boot */
#define GPA_NMIS    0x2004 /* u16, incremented by the NMI handler */
#define GPA_LIMIT   0x2010 /* u16, set by the test: reset until this many boots */

/* Hand-assembled 16-bit code, loaded at 0x7c00 (offsets in the comments). */
static const u8 guest_counter[] = {
	0x31, 0xc0,			    /* 7c00 xor ax, ax */
	0x8e, 0xd8,			    /* 7c02 mov ds, ax */
	0x8e, 0xd0,			    /* 7c04 mov ss, ax */
	0xbc, 0x00, 0x70,		    /* 7c06 mov sp, 0x7000 */
	0xc7, 0x06, 0x08, 0x00, 0x3b, 0x7c, /* 7c09 mov word [8], nmi */
	0xc7, 0x06, 0x0a, 0x00, 0x00, 0x00, /* 7c0f mov word [0xa], 0 */
	0xff, 0x06, 0x00, 0x20,		    /* 7c15 inc word [GPA_BOOTS] */
	0xba, 0xfb, 0x03,		    /* 7c19 mov dx, 0x3fb (COM1 LCR) */
	0xec,				    /* 7c1c in al, dx */
	0xa2, 0x02, 0x20,		    /* 7c1d mov [GPA_LCR], al */
	0xb0, 0x03,			    /* 7c20 mov al, 3 */
	0xee,				    /* 7c22 out dx, al */
	0xa1, 0x10, 0x20,		    /* 7c23 mov ax, [GPA_LIMIT] */
	0x3b, 0x06, 0x00, 0x20,		    /* 7c26 cmp ax, [GPA_BOOTS] */
	0x76, 0x08,			    /* 7c2a jbe loop */
	0xba, 0xf9, 0x0c,		    /* 7c2c mov dx, 0xcf9 */
	0xb0, 0x06,			    /* 7c2f mov al, 6 (hard reset) */
	0xee,				    /* 7c31 out dx, al */
	0xeb, 0xfe,			    /* 7c32 jmp $ */
	0x66, 0xff, 0x06, 0x00, 0x10,	    /* 7c34 loop: inc dword [GPA_COUNTER] */
	0xeb, 0xf9,			    /* 7c39 jmp loop */
	0xff, 0x06, 0x04, 0x20,		    /* 7c3b nmi: inc word [GPA_NMIS] */
	0xcf,				    /* 7c3f iret */
};

static const u8 guest_halt[] = {
	0xfa,	    /* cli */
	0xf4,	    /* hlt */
	0xeb, 0xfd, /* jmp hlt */
};

#define MAX_EVENTS 32

struct fixture {
	char dir[64], image[96], disk[2][96];
	bool with_disks; /* a virtio-blk and an AHCI disk too */
	struct vm_spec spec;
	struct vm *vm;
	struct loop *loop;
	enum vm_event_type events[MAX_EVENTS];
	unsigned nr_events;
};

static const char *test_accel = "bt";

static void record_event(void *opaque, struct vm *vm, const struct vm_event *ev)
{
	struct fixture *f = opaque;

	(void)vm;
	assert_int_equal(ev->state, vm_state(vm));
	if (f->nr_events < MAX_EVENTS)
		f->events[f->nr_events++] = ev->type;
}

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static u32 ram32(struct fixture *f, u64 gpa)
{
	u32 v = 0;

	assert_int_equal(gmem_read(&f->vm->plat.mem, gpa, &v, sizeof(v)), 0);
	return v;
}

static u16 ram16(struct fixture *f, u64 gpa)
{
	return (u16)ram32(f, gpa);
}

static void set_ram16(struct fixture *f, u64 gpa, u16 v)
{
	assert_int_equal(gmem_write(&f->vm->plat.mem, gpa, &v, sizeof(v)), 0);
}

/* Wait (running the loop, as the main thread does) until the counter at gpa moves past old. */
static void wait_moves(struct fixture *f, u64 gpa, u32 old)
{
	u64 deadline = now_ms() + 20000;

	while (ram32(f, gpa) == old) {
		assert_true(now_ms() < deadline);
		loop_run_once(f->loop, 5);
	}
}

static int make_vm(struct fixture *f, const u8 *code, size_t len)
{
	const struct accel_ops *accel;
	struct err err = { 0 };
	char json[1024], why[256], disks[512] = "";
	struct diag d;
	int fd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/vmm-test-vm-XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->image, sizeof(f->image), "%s/guest.bin", f->dir);
	fd = open(f->image, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, code, len) != (ssize_t)len)
		return -EIO;
	close(fd);
	for (unsigned i = 0; f->with_disks && i < 2; i++) {
		snprintf(f->disk[i], sizeof(f->disk[i]), "%s/disk%u.img", f->dir, i);
		fd = open(f->disk[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
			return -EIO;
		close(fd);
	}
	if (f->with_disks)
		snprintf(disks, sizeof(disks),
			 ", \"disks\": [{\"path\": \"%s\", \"format\": \"raw\"}, {\"path\": "
			 "\"%s\", \"format\": \"raw\", \"bus\": \"ahci\"}]",
			 f->disk[0], f->disk[1]);
	snprintf(json, sizeof(json),
		 "{\"name\": \"t\", \"memory_mib\": 16, \"accel\": \"%s\", \"boot\": {\"flat\": "
		 "\"%s\"}, \"serial\": {\"target\": \"none\"}%s}",
		 test_accel, f->image, disks);
	diag_init(&d);
	assert_int_equal(spec_parse_string(json, NULL, NULL, 0, SPEC_CHECK_FILES, &f->spec, &d), 0);
	diag_free(&d);
	if (accel_select(f->spec.accel, &accel, why, sizeof(why), &err) < 0)
		return -ENODEV;
	assert_int_equal(vm_create(&f->spec, accel, NULL, 0, &f->vm, &err), 0);
	assert_int_equal(loop_create(&f->loop), 0);
	assert_int_equal(vm_attach(f->vm, f->loop, &err), 0);
	assert_int_equal(vm_add_listener(f->vm, record_event, f), 0);
	return 0;
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	return f ? 0 : -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(f->vm);
	loop_destroy(f->loop);
	spec_free(&f->spec);
	if (f->image[0])
		unlink(f->image);
	for (unsigned i = 0; i < 2; i++)
		if (f->disk[i][0])
			unlink(f->disk[i]);
	if (f->dir[0])
		rmdir(f->dir);
	free(f);
	return 0;
}

static bool skip_unusable(struct fixture *f, const u8 *code, size_t len)
{
	int ret = make_vm(f, code, len);

	if (ret == -ENODEV) {
		print_message("skipped: accel %s is not available here\n", test_accel);
		return true;
	}
	assert_int_equal(ret, 0);
	return false;
}

static void test_pause_freezes_guest_and_time(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	u32 c1, c2;
	u64 t1, t2, h1, elapsed_ms;

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_state(f->vm), VM_STATE_CREATED);
	assert_int_equal(vm_boot(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_RUNNING);
	wait_moves(f, GPA_COUNTER, 0);

	assert_int_equal(vm_pause(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_PAUSED);
	for (unsigned i = 0; i < f->vm->nr_vcpus; i++)
		assert_int_equal(vcpu_state(f->vm->vcpus[i]), VCPU_STATE_PAUSED);
	c1 = ram32(f, GPA_COUNTER);
	t1 = vclock_now_ns(&f->vm->plat.clock);
	h1 = now_ms();
	sleep_ms(100);
	c2 = ram32(f, GPA_COUNTER);
	t2 = vclock_now_ns(&f->vm->plat.clock);
	assert_int_equal(c1, c2);
	assert_int_equal(t1, t2); /* virtual time stood still */

	assert_int_equal(vm_resume(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_RUNNING);
	wait_moves(f, GPA_COUNTER, c2);
	/* The 100 ms spent paused never happened on the virtual clock. */
	elapsed_ms = now_ms() - h1;
	t2 = vclock_now_ns(&f->vm->plat.clock);
	assert_true(t2 > t1);
	assert_true(elapsed_ms - (t2 - t1) / 1000000 >= 99);

	assert_int_equal(f->nr_events, 3);
	assert_int_equal(f->events[0], VM_EVENT_BOOTED);
	assert_int_equal(f->events[1], VM_EVENT_PAUSED);
	assert_int_equal(f->events[2], VM_EVENT_RESUMED);
}

static void test_wrong_state_is_refused(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_pause(f->vm, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "the VM is Created"));
	assert_int_equal(vm_resume(f->vm, &err), -EBUSY);
	assert_int_equal(vm_reboot(f->vm, &err), -EBUSY);
	assert_int_equal(vm_shutdown(f->vm, &err), -EBUSY);
	assert_int_equal(vm_power_button(f->vm, &err), -EBUSY);
	assert_int_equal(vm_state(f->vm), VM_STATE_CREATED);
	assert_int_equal(vm_boot(f->vm, &err), 0);
	assert_int_equal(vm_boot(f->vm, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "the VM is Running"));
	assert_int_equal(vm_resume(f->vm, &err), -EBUSY);
	assert_int_equal(vm_pause(f->vm, &err), 0);
	assert_int_equal(vm_pause(f->vm, &err), -EBUSY);
	assert_int_equal(vm_state(f->vm), VM_STATE_PAUSED);
	assert_int_equal(f->nr_events, 2); /* booted, paused: refusals report nothing */
}

static void test_pause_halted_guest(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	u64 t0;

	if (skip_unusable(f, guest_halt, sizeof(guest_halt)))
		return;
	assert_int_equal(vm_boot(f->vm, &err), 0);
	sleep_ms(50); /* let it reach HLT */
	t0 = now_ms();
	assert_int_equal(vm_pause(f->vm, &err), 0);
	/* A halted vCPU answers at once; allow a slow (PVM) host some slack. */
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(vm_resume(f->vm, &err), 0);
	assert_int_equal(vm_pause(f->vm, &err), 0);
}

static void test_reboot_in_place(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };

	static const enum vm_event_type want[] = {
		VM_EVENT_BOOTED,    VM_EVENT_REBOOTING, VM_EVENT_REBOOTED,  VM_EVENT_PAUSED,
		VM_EVENT_REBOOTING, VM_EVENT_REBOOTED,	VM_EVENT_REBOOTING, VM_EVENT_REBOOTED,
	};

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_boot(f->vm, &err), 0);
	wait_moves(f, GPA_COUNTER, 0);
	assert_int_equal(ram16(f, GPA_BOOTS), 1);
	assert_int_equal(ram16(f, GPA_LCR), 0);

	assert_int_equal(vm_reboot(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_RUNNING);
	wait_moves(f, GPA_COUNTER, ram32(f, GPA_COUNTER));
	assert_int_equal(ram16(f, GPA_BOOTS), 2); /* RAM kept: the count went on */
	assert_int_equal(ram16(f, GPA_LCR), 0);	  /* the UART was reset (LCR 3 before) */

	/* From Paused too; the VM runs afterwards. */
	assert_int_equal(vm_pause(f->vm, &err), 0);
	assert_int_equal(vm_reboot(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_RUNNING);
	wait_moves(f, GPA_BOOTS, 2);
	assert_int_equal(vm_reboot(f->vm, &err), 0);
	wait_moves(f, GPA_BOOTS, 3);
	wait_moves(f, GPA_COUNTER, ram32(f, GPA_COUNTER));
	assert_int_equal(ram16(f, GPA_BOOTS), 4);
	assert_int_equal(f->vm->reboots, 3);
	assert_int_equal(f->nr_events, ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(f->events[i], want[i]);
}

static void test_guest_reset_in_place(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	u64 deadline;

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	set_ram16(f, GPA_LIMIT, 3); /* reset through 0xCF9 until the third boot */
	assert_int_equal(vm_boot(f->vm, &err), 0);
	deadline = now_ms() + 20000;
	while (ram16(f, GPA_BOOTS) < 3 || ram32(f, GPA_COUNTER) == 0) {
		assert_true(now_ms() < deadline);
		loop_run_once(f->loop, 5); /* the main loop carries out the guest's reset */
	}
	assert_int_equal(vm_state(f->vm), VM_STATE_RUNNING);
	assert_int_equal(f->vm->reboots, 2);
	assert_int_equal(ram16(f, GPA_BOOTS), 3);
}

static void test_shutdown_then_boot(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	u32 c;

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_boot(f->vm, &err), 0);
	wait_moves(f, GPA_COUNTER, 0);
	assert_int_equal(vm_shutdown(f->vm, &err), 0);
	assert_int_equal(vm_state(f->vm), VM_STATE_SHUTDOWN);
	c = ram32(f, GPA_COUNTER);
	sleep_ms(50);
	assert_int_equal(ram32(f, GPA_COUNTER), c);
	assert_int_equal(vm_pause(f->vm, &err), -EBUSY);
	assert_int_equal(vm_boot(f->vm, &err), 0);
	wait_moves(f, GPA_COUNTER, c);
	assert_int_equal(ram16(f, GPA_BOOTS), 2);
	assert_int_equal(f->events[1], VM_EVENT_SHUTDOWN);
	assert_int_equal(f->events[2], VM_EVENT_BOOTED);
}

static void test_nmi_and_counters(void **state)
{
	struct fixture *f = *state;
	struct err err = { 0 };
	u64 deadline;

	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_nmi(f->vm, &err), -EBUSY);
	assert_int_equal(vm_boot(f->vm, &err), 0);
	wait_moves(f, GPA_COUNTER, 0);
	assert_int_equal(vm_nmi(f->vm, &err), 0);
	deadline = now_ms() + 20000;
	while (ram16(f, GPA_NMIS) != 1) {
		assert_true(now_ms() < deadline);
		loop_run_once(f->loop, 5);
	}
	assert_int_equal(f->vm->vcpus[0]->stats.nmis, 1);
	assert_true(f->vm->vcpus[0]->stats.pio >= 2); /* the LCR read and write */
	assert_true(f->vm->plat.pio.nr > 0);
}

/* Zero the value of field name in a record (the value follows the name and its u32 length). */
static void mask_field(struct state_buf *rec, const char *name)
{
	size_t n = strlen(name);

	for (size_t k = 0; k + n + 4 <= rec->len; k++) {
		u32 len;

		if (memcmp(rec->data + k, name, n))
			continue;
		memcpy(&len, rec->data + k + n, 4);
		assert_true(k + n + 4 + len <= rec->len);
		memset(rec->data + k + n + 4, 0, len);
		return;
	}
	fail_msg("no field %s in the record", name);
}

/* Every device's state record, in device-list order. Device lock held. */
static void save_devices(struct vm *vm, struct state_buf *recs, unsigned max)
{
	struct err err = { 0 };

	assert_int_equal(vm->plat.nr_devs, max);
	for (unsigned i = 0; i < vm->plat.nr_devs; i++) {
		const struct platform_dev *d = &vm->plat.devs[i];

		state_buf_init(&recs[i]);
		assert_non_null(d->ops->state);
		if (state_save(d->ops->state, d->name, d->dev, &recs[i], &err) < 0)
			fail_msg("%s: %s", d->name, err.msg);
	}
}

/*
 * A board reset leaves every device as a fresh one: run the guest (it programs the UART),
 * stop it, reset the board; a second VM from the same spec that never ran is reset at the same
 * virtual time (clocks aligned: timer devices derive state from it); every record is equal.
 */
static void test_reset_equals_fresh(void **state)
{
	struct fixture *f = *state;
	struct state_buf a[64], b[64];
	struct err err = { 0 };
	struct vm *fresh;
	unsigned n;

	f->with_disks = true;
	if (skip_unusable(f, guest_counter, sizeof(guest_counter)))
		return;
	assert_int_equal(vm_boot(f->vm, &err), 0);
	wait_moves(f, GPA_COUNTER, 0);
	assert_int_equal(vm_shutdown(f->vm, &err), 0); /* every vCPU stopped, time frozen */
	assert_int_equal(vm_create(&f->spec, f->vm->accel, NULL, 0, &fresh, &err), 0);
	fresh->plat.clock.wall_base_ns = f->vm->plat.clock.wall_base_ns;
	vclock_freeze(&fresh->plat.clock);
	fresh->plat.clock.frozen_at_ns = f->vm->plat.clock.frozen_at_ns;
	n = f->vm->plat.nr_devs;
	assert_true(n <= ARRAY_SIZE(a));
	assert_non_null(platform_find_dev(&f->vm->plat, "virtio-blk0"));
	assert_non_null(platform_find_dev(&f->vm->plat, "ahci0"));
	pthread_mutex_lock(&f->vm->plat.dev_lock);
	board_pc_reset(f->vm->board);
	save_devices(f->vm, a, n);
	pthread_mutex_unlock(&f->vm->plat.dev_lock);
	pthread_mutex_lock(&fresh->plat.dev_lock);
	board_pc_reset(fresh->board);
	save_devices(fresh, b, n);
	pthread_mutex_unlock(&fresh->plat.dev_lock);
	for (unsigned i = 0; i < n; i++) {
		const char *name = f->vm->plat.devs[i].name;

		assert_string_equal(name, fresh->plat.devs[i].name);
		if (!strcmp(name, "rtc0")) {
			/*
			 * The RTC is battery-backed: a system reset clears its interrupt enables
			 * and flags (MC146818A RESET#) but not its time keeping, so the phase
			 * of its update cycle goes on from before the reset.
			 */
			mask_field(&a[i], "update_timer");
			mask_field(&b[i], "update_timer");
		}
		if (a[i].len != b[i].len || memcmp(a[i].data, b[i].data, a[i].len))
			fail_msg("%s: its state after a reset differs from a fresh one's", name);
		state_buf_free(&a[i]);
		state_buf_free(&b[i]);
	}
	vm_destroy(fresh);
}

static int run_group(const char *accel)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pause_freezes_guest_and_time, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_state_is_refused, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pause_halted_guest, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reboot_in_place, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_guest_reset_in_place, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_then_boot, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nmi_and_counters, fixture_setup,
						fixture_teardown),
		cmocka_unit_test_setup_teardown(test_reset_equals_fresh, fixture_setup,
						fixture_teardown),
	};
	char name[32];

	test_accel = accel;
	snprintf(name, sizeof(name), "vm_state_%s", accel);
	return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}

/* usage: test_vm_state bt|kvm */
int main(int argc, char **argv)
{
	log_min_level = LOG_LEVEL_ERR;
	return run_group(argc > 1 ? argv[1] : "bt");
}
