// SPDX-License-Identifier: MIT
/*
 * VM lifecycle: build the platform (RAM, buses, clock), the accelerator VM,
 * the board's devices and the vCPUs from a validated spec, load the boot
 * image, run the main-thread event loop until the VM ends, tear it down.
 * vm.c never asks which accelerator it runs on (docs/architecture.md); the board
 * routes interrupt lines by accel->has_irqchip.
 */
#include "vmm/vm.h"

#include "vmm/base/log.h"
#include "vmm/board_pc.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

const char *vm_end_name(enum vm_end end)
{
	switch (end) {
	case VM_END_NONE:
		return "running";
	case VM_END_POWEROFF:
		return "powered off";
	case VM_END_RESET:
		return "reset";
	case VM_END_TRIPLE_FAULT:
		return "triple fault";
	case VM_END_DEBUG_EXIT:
		return "debug exit";
	case VM_END_SIGNAL:
		return "stopped by signal";
	case VM_END_FAILED:
		return "accelerator failure";
	}
	return "?";
}

/*
 * Exit statuses of `vmm run` (also in README and `vmm run --help`):
 *   0   the guest powered off
 *   1   the VM could not be created (files, memory, devices)
 *   2   usage error or invalid spec
 *   3   the accelerator is not available on this host
 *   4   the guest reset the machine and on_reset is "exit"
 *   5   triple fault (shutdown) with on_triple_fault "exit"
 *   6   the accelerator failed (KVM internal error, emulation failure)
 *   128+N  stopped by signal N (SIGTERM, SIGINT, SIGHUP; Ctrl-A x counts as SIGINT)
 *   any    the status a test guest wrote to the debug-exit port
 */
int vm_end_exit_status(enum vm_end end, int status)
{
	switch (end) {
	case VM_END_NONE:
	case VM_END_POWEROFF:
		return 0;
	case VM_END_RESET:
		return 4;
	case VM_END_TRIPLE_FAULT:
		return 5;
	case VM_END_FAILED:
		return 6;
	case VM_END_SIGNAL:
		return 128 + status;
	case VM_END_DEBUG_EXIT:
		return status;
	}
	return 1;
}

void vm_request_end(struct vm *vm, enum vm_end end, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->end_lock);
	if (vm->end == VM_END_NONE) {
		vm->end = end;
		vm->end_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->end_msg, sizeof(vm->end_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->end_lock);
	/*
	 * Stop every vCPU before it runs another instruction: a guest that wrote the power-off
	 * or reset register must not see the instruction after it execute.
	 */
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i] && vm->vcpus[i]->av)
			vm->accel->vcpu_kick(vm->vcpus[i]->av);
	vm_wake(vm);
}

enum vm_end vm_current_end(struct vm *vm)
{
	enum vm_end end;

	pthread_mutex_lock(&vm->end_lock);
	end = vm->end;
	pthread_mutex_unlock(&vm->end_lock);
	return end;
}

/* Device requests (platform.h), called with the device lock held. */
static void vm_platform_request(struct platform *p, enum platform_request req, int code)
{
	struct vm *vm = p->owner;

	switch (req) {
	case PLATFORM_REQ_POWEROFF:
		vm_request_end(vm, VM_END_POWEROFF, 0, "the guest powered off");
		break;
	case PLATFORM_REQ_RESET:
		vm_request_end(vm, VM_END_RESET, 0, "the guest reset the machine");
		break;
	case PLATFORM_REQ_EXIT:
		vm_request_end(vm, VM_END_DEBUG_EXIT, code,
			       "the guest wrote exit status %d to the debug-exit port", code);
		break;
	}
}

static void vm_platform_msi(struct platform *p, u64 addr, u32 data)
{
	struct vm *vm = p->owner;

	if (vm->accel->has_irqchip && vm->accel->msi)
		vm->accel->msi(vm->avm, addr, data);
	else if (!vm->accel->has_irqchip && vm->board)
		board_pc_msi(vm->board, addr, data);
}

void vm_wake(struct vm *vm)
{
	u64 one = 1;

	if (write(vm->wake_fd, &one, sizeof(one)) < 0)
		log_dbg(LOG_CAT_DEV, "%s: wake: %s", vm->spec->name, strerror(errno));
}

/* A device moved the earliest deadline: wake the main loop so it re-arms its timerfd. */
static void vm_clock_wake(void *opaque)
{
	vm_wake(opaque);
}

/* gmem's on_write: device DMA reached guest RAM. */
static void vm_mem_written(void *opaque, u64 gpa, u64 len)
{
	struct vm *vm = opaque;

	vm->accel->mem_written(vm->avm, gpa, len);
}

/* Map into the accelerator every RAM region not mapped yet (loaders may add a firmware ROM). */
static int vm_map_ram(struct vm *vm, struct err *err)
{
	if (vm->accel->mem_written) {
		vm->plat.mem.on_write = vm_mem_written;
		vm->plat.mem.on_write_opaque = vm;
	}
	for (unsigned i = vm->nr_mapped; i < vm->plat.mem.nr; i++, vm->nr_mapped++) {
		const struct gmem_region *r = &vm->plat.mem.regions[i];
		int ret = vm->accel->map_ram(vm->avm, r->gpa, r->len, r->hva, 0);

		if (ret < 0)
			return err_set(err, ret, "%s: cannot map %llu MiB of RAM at %#llx: %s",
				       vm->accel->name, (unsigned long long)(r->len >> 20),
				       (unsigned long long)r->gpa, strerror(-ret));
	}
	return 0;
}

static int vm_load_boot(struct vm *vm, struct cpu_state *bsp, struct err *err)
{
	const struct boot_spec *b = &vm->spec->boot;
	struct boot_params_in in = { .nr_vcpus = vm->nr_vcpus };
	int ret;

	switch (b->kind) {
	case BOOT_LINUX:
		/* Debian's cloud kernel has no MP-table support: ACPI is how it finds the CPUs. */
		ret = board_pc_build_acpi(vm->board, &in.acpi_rsdp_gpa, err);
		if (ret < 0)
			return ret;
		in.kernel = b->image;
		in.initrd = b->initrd;
		in.cmdline = b->cmdline;
		in.unpack_on_host = b->decompress == BOOT_DECOMPRESS_HOST;
		return boot_linux(&vm->plat.mem, &in, bsp, err);
	case BOOT_MULTIBOOT:
		in.multiboot = b->image;
		in.cmdline = b->cmdline;
		if (b->nr_modules > ARRAY_SIZE(in.modules))
			return err_set(err, -E2BIG, "boot.modules: at most %zu modules",
				       ARRAY_SIZE(in.modules));
		for (unsigned i = 0; i < b->nr_modules; i++) {
			in.modules[i].path = b->modules[i].path;
			in.modules[i].cmdline = b->modules[i].cmdline;
		}
		in.nr_modules = b->nr_modules;
		return boot_multiboot(&vm->plat.mem, &in, bsp, err);
	case BOOT_FLAT:
		in.flat = b->image;
		in.load_address = b->load_address;
		return boot_flat(&vm->plat.mem, &in, bsp, err);
	case BOOT_FIRMWARE:
		in.firmware = b->image;
		return boot_firmware(&vm->plat.mem, &in, bsp, err);
	}
	return err_set(err, -EINVAL, "boot: unknown boot method");
}

static int vm_create_vcpus(struct vm *vm, struct err *err)
{
	struct cpu_state *bsp;
	int ret;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, i, &vm->vcpus[i], err);
		if (ret < 0)
			return ret;
	}
	/* The boot vCPU starts where the loader says; the others wait for INIT/SIPI. */
	bsp = calloc(1, sizeof(*bsp));
	if (!bsp)
		return err_set(err, -ENOMEM, "out of memory");
	ret = vm->accel->vcpu_get(vm->vcpus[0]->av, bsp);
	if (ret < 0) {
		err_set(err, ret, "vcpu0: cannot read the initial state: %s", strerror(-ret));
		goto out;
	}
	ret = vm_load_boot(vm, bsp, err);
	if (ret < 0)
		goto out;
	ret = vm_map_ram(vm, err);
	if (ret < 0)
		goto out;
	ret = vm->accel->vcpu_set(vm->vcpus[0]->av, bsp);
	if (ret < 0)
		err_set(err, ret, "vcpu0: cannot set the boot state: %s", strerror(-ret));
out:
	free(bsp);
	return ret;
}

int vm_create(const struct vm_spec *spec, const struct accel_ops *accel, struct console *console,
	      struct vm **out, struct err *err)
{
	struct accel_config cfg = { .nr_vcpus = spec->vcpus,
				    .ram_bytes = spec->memory_mib << 20,
				    .name = spec->name,
				    .bt_jit = spec->bt.engine == SPEC_BT_JIT,
				    .bt_jit_threshold = spec->bt.jit_threshold,
				    .bt_code_cache_bytes = (u64)spec->bt.code_cache_mib << 20 };
	struct vm *vm = calloc(1, sizeof(*vm));
	int ret;

	if (!vm)
		return err_set(err, -ENOMEM, "out of memory");
	if (spec->cpu.set) {
		vm->cpu = spec->cpu.model;
		cfg.cpu = &vm->cpu;
	} else if (!cpu_model_lookup(CPU_MODEL_DEFAULT, &vm->cpu)) {
		free(vm);
		return err_set(err, -EINVAL, "cpu: no CPU model %s", CPU_MODEL_DEFAULT);
	}
	vm->spec = spec;
	vm->accel = accel;
	vm->console = console;
	vm->nr_vcpus = spec->vcpus;
	vm->wake_fd = -1;
	pthread_mutex_init(&vm->end_lock, NULL);
	platform_lock_init(&vm->plat);
	bus_init(&vm->plat.pio, "pio", LOG_CAT_PIO, &vm->plat.dev_lock);
	bus_init(&vm->plat.mmio, "mmio", LOG_CAT_MMIO, &vm->plat.dev_lock);
	vclock_init_host(&vm->plat.clock);
	vm->plat.clock.wake = vm_clock_wake;
	vm->plat.clock.wake_opaque = vm;
	vm->plat.request = vm_platform_request;
	vm->plat.msi = vm_platform_msi;
	vm->plat.owner = vm;

	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->wake_fd < 0) {
		ret = err_set(err, -errno, "eventfd: %s", strerror(errno));
		goto err_destroy;
	}
	ret = gmem_init_pc(&vm->plat.mem, cfg.ram_bytes);
	if (ret < 0) {
		err_set(err, ret, "memory_mib: cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)spec->memory_mib, strerror(-ret));
		goto err_destroy;
	}
	ret = accel->vm_create(&cfg, &vm->avm, err);
	if (ret < 0)
		goto err_destroy;
	ret = vm_map_ram(vm, err);
	if (ret < 0)
		goto err_destroy;
	ret = board_pc_create(vm, &vm->board, err);
	if (ret < 0)
		goto err_destroy;
	ret = vm_create_vcpus(vm, err);
	if (ret < 0)
		goto err_destroy;
	*out = vm;
	return 0;

err_destroy:
	vm_destroy(vm);
	return ret;
}

struct vm_loop_ctx {
	struct vm *vm;
	int sig_fd, timer_fd;
};

static void vm_on_wake(void *opaque, int fd, u32 events)
{
	u64 v;

	(void)opaque;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "wake fd: %s", strerror(errno));
}

static void vm_on_signal(void *opaque, int fd, u32 events)
{
	struct vm_loop_ctx *ctx = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	/* Remembered even when the VM is already ending (a reset): the host's stop wins. */
	__atomic_store_n(&ctx->vm->stop_signal, (int)si.ssi_signo, __ATOMIC_RELAXED);
	vm_request_end(ctx->vm, VM_END_SIGNAL, (int)si.ssi_signo, "stopped by %s",
		       strsignal((int)si.ssi_signo));
}

static void vm_on_timer(void *opaque, int fd, u32 events)
{
	u64 v;

	(void)opaque;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "timer fd: %s", strerror(errno));
}

static void vm_console_quit(void *opaque)
{
	struct vm *vm = opaque;

	vm_request_end(vm, VM_END_SIGNAL, SIGINT, "quit from the console (Ctrl-A x)");
}

/* Fire due device timers and program the timerfd for the next deadline. */
static void vm_service_timers(struct vm *vm, int timer_fd)
{
	struct itimerspec its = { 0 };
	u64 next, now;

	pthread_mutex_lock(&vm->plat.dev_lock);
	timer_run_due(&vm->plat.clock);
	next = timer_next_deadline(&vm->plat.clock);
	now = vclock_now_ns(&vm->plat.clock);
	pthread_mutex_unlock(&vm->plat.dev_lock);
	if (next != TIMER_NEVER) {
		u64 delta = next > now ? next - now : 1;

		its.it_value.tv_sec = (time_t)(delta / 1000000000ull);
		its.it_value.tv_nsec = (long)(delta % 1000000000ull);
	}
	timerfd_settime(timer_fd, 0, &its, NULL);
}

static int vm_setup_loop(struct vm *vm, struct vm_loop_ctx *ctx)
{
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	ctx->vm = vm;
	ctx->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	ctx->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ctx->sig_fd < 0 || ctx->timer_fd < 0)
		return -errno;
	ret = loop_create(&vm->loop);
	if (ret < 0)
		return ret;
	ret = loop_add(vm->loop, vm->wake_fd, EPOLLIN, vm_on_wake, ctx);
	if (!ret)
		ret = loop_add(vm->loop, ctx->sig_fd, EPOLLIN, vm_on_signal, ctx);
	if (!ret)
		ret = loop_add(vm->loop, ctx->timer_fd, EPOLLIN, vm_on_timer, ctx);
	if (!ret)
		ret = board_pc_attach(vm->board, vm->loop);
	if (!ret && vm->console)
		ret = console_attach(vm->console, vm->loop, board_pc_console_input, vm_console_quit,
				     vm);
	return ret;
}

enum vm_end vm_run(struct vm *vm)
{
	struct vm_loop_ctx ctx = { .sig_fd = -1, .timer_fd = -1 };
	int ret = vm_setup_loop(vm, &ctx);

	if (ret < 0) {
		vm_request_end(vm, VM_END_FAILED, 0, "cannot set up the event loop: %s",
			       strerror(-ret));
		goto out;
	}
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_start(vm->vcpus[i]);
		if (ret < 0) {
			vm_request_end(vm, VM_END_FAILED, 0, "vcpu%u: cannot start its thread: %s",
				       i, strerror(-ret));
			goto out;
		}
	}
	while (vm_current_end(vm) == VM_END_NONE) {
		vm_service_timers(vm, ctx.timer_fd);
		/* Input the UART could not take yet; its rx_ready callback wakes us when it can. */
		if (vm->console && console_input_pending(vm->console))
			console_retry(vm->console);
		loop_run_once(vm->loop, -1);
	}
out:
	for (unsigned i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		if (vm->vcpus[i])
			vcpu_stop(vm->vcpus[i]);
	if (vm->console)
		console_detach(vm->console);
	board_pc_detach(vm->board);
	if (ctx.sig_fd >= 0)
		close(ctx.sig_fd);
	if (ctx.timer_fd >= 0)
		close(ctx.timer_fd);
	loop_destroy(vm->loop);
	vm->loop = NULL;
	return vm_current_end(vm);
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		vcpu_destroy(vm->vcpus[i]);
	free(vm->vcpus);
	board_pc_destroy(vm->board);
	platform_devs_free(&vm->plat);
	if (vm->avm)
		vm->accel->vm_destroy(vm->avm);
	gmem_destroy(&vm->plat.mem);
	bus_destroy(&vm->plat.pio);
	bus_destroy(&vm->plat.mmio);
	if (vm->wake_fd >= 0)
		close(vm->wake_fd);
	pthread_mutex_destroy(&vm->plat.dev_lock);
	pthread_mutex_destroy(&vm->end_lock);
	free(vm);
}
