/* SPDX-License-Identifier: MIT */
/*
 * Runs one tiny guest program (tests/guests) on accel_kvm without the vmm
 * binary, to check the programs themselves and the accelerator's exit
 * handling end to end. Stand-ins for the few devices the programs touch:
 * the 16550 UART at 0x3f8 (THR writes are collected, LSR reads 0x60 = THR
 * and transmitter empty), the debug-exit port 0xf4 (status = value & 0xff),
 * and the test device's SCRATCH/INVERT/ID registers at the addresses of
 * src/devices/testdev.h (PIO window 0x520, MMIO window 0xfeb00000). The
 * PIC and PIT are KVM's in-kernel ones. Unclaimed reads return all ones.
 *
 * usage: kvm_guest_runner <image.bin> <load-address> <exit-status> <serial-text> [timeout-s]
 *        [vcpus]
 * Application processors (vcpus > 1) run on their own threads and wait for INIT/SIPI.
 * Exit: 0 pass, 1 fail, 77 KVM unusable (meson skip).
 */
#include "kvm_test_util.h"

#include "devices/testdev.h"
#include "vmm/accel.h"
#include "vmm/base/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define RUNNER_RAM_BYTES (4u << 20)
#define RUNNER_UART	 0x3f8
#define RUNNER_EXIT_PORT 0xf4
#define RUNNER_LOG_MAX	 4096
#define RUNNER_MAX_VCPUS 8

struct runner {
	struct accel_vcpu *vcpu; /* the BSP */
	pthread_mutex_t lock;	 /* serializes device accesses of concurrent vCPUs */
	char log[RUNNER_LOG_MAX + 1];
	size_t log_len;
	atomic_bool done, timed_out;
	int status;
	u8 pio_scratch[8], mmio_scratch[8];
	unsigned timeout_s;
};

/* SCRATCH, INVERT and ID of one test-device window; other offsets read 0. */
static void runner_testdev(u8 *scratch, u64 off, unsigned size, bool is_write, u8 *data)
{
	u8 regs[0x20];
	u32 id = TESTDEV_ID_VALUE;

	if (is_write) {
		for (unsigned i = 0; i < size; i++)
			if (off + i < 8)
				scratch[off + i] = data[i];
		return;
	}
	memset(regs, 0, sizeof(regs));
	memcpy(regs + TESTDEV_SCRATCH, scratch, 8);
	for (int i = 0; i < 8; i++)
		regs[TESTDEV_INVERT + i] = (u8)~scratch[i];
	memcpy(regs + TESTDEV_ID, &id, 4);
	for (unsigned i = 0; i < size; i++)
		data[i] = off + i < sizeof(regs) ? regs[off + i] : 0;
}

static void runner_pio_locked(struct runner *r, u16 port, unsigned size, bool is_write, void *data)
{
	u8 *d = data;

	if (port >= TESTDEV_DEFAULT_PIO_BASE &&
	    port < TESTDEV_DEFAULT_PIO_BASE + TESTDEV_PIO_PORTS) {
		runner_testdev(r->pio_scratch, port - TESTDEV_DEFAULT_PIO_BASE, size, is_write, d);
		return;
	}
	if (is_write) {
		if (port == RUNNER_UART && r->log_len < RUNNER_LOG_MAX)
			r->log[r->log_len++] = (char)d[0];
		if (port == RUNNER_EXIT_PORT && !atomic_load(&r->done)) {
			r->status = d[0];
			atomic_store(&r->done, true);
			accel_kvm.vcpu_kick(r->vcpu);
		}
		return;
	}
	memset(d, 0xff, size);
	if (port == RUNNER_UART + 5)
		d[0] = 0x60;
	else if (port > RUNNER_UART && port <= RUNNER_UART + 7)
		d[0] = 0;
}

static void runner_pio(void *opaque, u16 port, unsigned size, bool is_write, void *data)
{
	struct runner *r = opaque;

	pthread_mutex_lock(&r->lock);
	runner_pio_locked(r, port, size, is_write, data);
	pthread_mutex_unlock(&r->lock);
}

static void runner_mmio(void *opaque, u64 gpa, unsigned size, bool is_write, void *data)
{
	struct runner *r = opaque;

	if (gpa >= TESTDEV_DEFAULT_MMIO_GPA &&
	    gpa < TESTDEV_DEFAULT_MMIO_GPA + TESTDEV_MMIO_BYTES) {
		runner_testdev(r->mmio_scratch, gpa - TESTDEV_DEFAULT_MMIO_GPA, size, is_write,
			       data);
		return;
	}
	if (!is_write)
		memset(data, 0xff, size);
}

static void *runner_watchdog(void *opaque)
{
	struct runner *r = opaque;

	for (unsigned ms = 0; ms < r->timeout_s * 1000 && !atomic_load(&r->done); ms += 10) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (!atomic_load(&r->done)) {
		atomic_store(&r->timed_out, true);
		accel_kvm.vcpu_kick(r->vcpu);
	}
	return NULL;
}

struct runner_ap {
	struct runner *r;
	struct accel_vcpu *vcpu;
	pthread_t thread;
};

/* An application processor: run until the program ends (the end kicks every vCPU). */
static void *runner_ap_thread(void *opaque)
{
	struct runner_ap *ap = opaque;
	enum vcpu_stop why = VCPU_STOP_KICKED;

	while (!atomic_load(&ap->r->done) && !atomic_load(&ap->r->timed_out)) {
		if (accel_kvm.vcpu_run(ap->vcpu, &why) < 0 || why != VCPU_STOP_KICKED) {
			fprintf(stderr, "AP stopped: %d\n", (int)why);
			break;
		}
	}
	return NULL;
}

static int runner_load(const char *path, u8 *ram, u64 load)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	n = fread(ram + load, 1, RUNNER_RAM_BYTES - load, f);
	fclose(f);
	if (n == 0 || n == RUNNER_RAM_BYTES - load) {
		fprintf(stderr, "%s: empty or larger than RAM\n", path);
		return -1;
	}
	return 0;
}

/* Run until the debug-exit port is written or the watchdog fires. */
static int runner_run(struct runner *r, struct runner_ap *aps, unsigned nr_aps)
{
	pthread_t dog;
	enum vcpu_stop why = VCPU_STOP_KICKED;
	int ret = 0;

	for (unsigned i = 0; i < nr_aps; i++)
		if (pthread_create(&aps[i].thread, NULL, runner_ap_thread, &aps[i]) != 0)
			return -1;
	if (pthread_create(&dog, NULL, runner_watchdog, r) != 0)
		return -1;
	while (!atomic_load(&r->done) && !atomic_load(&r->timed_out)) {
		ret = accel_kvm.vcpu_run(r->vcpu, &why);
		if (ret < 0 || why != VCPU_STOP_KICKED) {
			fprintf(stderr, "vcpu stopped: ret %d, stop %d\n", ret, (int)why);
			ret = -1;
			break;
		}
	}
	atomic_store(&r->done, true);
	pthread_join(dog, NULL);
	for (unsigned i = 0; i < nr_aps; i++) {
		accel_kvm.vcpu_kick(aps[i].vcpu);
		pthread_join(aps[i].thread, NULL);
	}
	return ret;
}

int main(int argc, char **argv)
{
	static struct runner r = { .lock = PTHREAD_MUTEX_INITIALIZER };
	static struct runner_ap aps[RUNNER_MAX_VCPUS];
	struct accel_config cfg = { .nr_vcpus = 1, .ram_bytes = RUNNER_RAM_BYTES, .name = "guest" };
	struct accel_io io = { .vm = &r, .pio = runner_pio, .mmio = runner_mmio };
	struct accel_vm *vm;
	struct cpu_state st;
	struct err err = { 0 };
	u8 *ram;
	u64 load;
	int want_status, ok;

	if (argc < 5) {
		fprintf(stderr,
			"usage: %s image load-address exit-status serial-text [timeout-s]\n",
			argv[0]);
		return 1;
	}
	load = strtoull(argv[2], NULL, 0);
	want_status = atoi(argv[3]);
	r.timeout_s = argc > 5 ? (unsigned)atoi(argv[5]) : 30;
	cfg.nr_vcpus = argc > 6 ? (unsigned)atoi(argv[6]) : 1;
	if (cfg.nr_vcpus < 1 || cfg.nr_vcpus > RUNNER_MAX_VCPUS) {
		fprintf(stderr, "vcpus must be 1..%d\n", RUNNER_MAX_VCPUS);
		return 1;
	}
	kvm_test_require_kvm(argv[0]);
	ram = mmap(NULL, RUNNER_RAM_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		   0);
	if (ram == MAP_FAILED || load >= 0x10000 || runner_load(argv[1], ram, load) < 0)
		return 1;
	if (accel_kvm.vm_create(&cfg, &vm, &err) < 0 ||
	    accel_kvm.map_ram(vm, 0, RUNNER_RAM_BYTES, ram, 0) < 0 ||
	    accel_kvm.vcpu_create(vm, 0, &io, &r.vcpu, &err) < 0) {
		fprintf(stderr, "setup failed: %s\n", err.msg);
		return 1;
	}
	for (unsigned i = 1; i < cfg.nr_vcpus; i++) {
		aps[i - 1].r = &r;
		if (accel_kvm.vcpu_create(vm, i, &io, &aps[i - 1].vcpu, &err) < 0) {
			fprintf(stderr, "setup failed: %s\n", err.msg);
			return 1;
		}
	}
	if (accel_kvm.vcpu_get(r.vcpu, &st) < 0)
		return 1;
	kvm_test_real_mode(&st, (u16)load, 0x7c00);
	if (accel_kvm.vcpu_set(r.vcpu, &st) < 0 || runner_run(&r, aps, cfg.nr_vcpus - 1) < 0)
		return 1;
	printf("serial: %s", r.log);
	if (r.timed_out) {
		printf("FAIL: no debug-exit write within %u s\n", r.timeout_s);
		return 1;
	}
	ok = r.status == want_status && strstr(r.log, argv[4]) != NULL;
	printf("%s: exit status %d (want %d), serial %s \"%s\"\n", ok ? "PASS" : "FAIL", r.status,
	       want_status, strstr(r.log, argv[4]) ? "contains" : "lacks", argv[4]);
	for (unsigned i = 1; i < cfg.nr_vcpus; i++)
		accel_kvm.vcpu_destroy(aps[i - 1].vcpu);
	accel_kvm.vcpu_destroy(r.vcpu);
	accel_kvm.vm_destroy(vm);
	munmap(ram, RUNNER_RAM_BYTES);
	return ok ? 0 : 1;
}
