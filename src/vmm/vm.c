// SPDX-License-Identifier: MIT
/*
 * VM construction and the requests other threads make of it (vm.h): build
 * the platform (RAM, buses, clock), the accelerator VM, the board's devices
 * and the vCPUs from a validated spec, load the boot image; attach to the
 * main loop, whose wake callback carries out what vCPU and device threads
 * asked for (an end, a guest reset, a panic report). The state machine itself
 * (boot, pause, resume, reboot, shutdown, events) is in vm_lifecycle.c.
 *
 * vm.c never asks which accelerator it runs on (docs/architecture.md); the
 * board routes interrupt lines by accel->has_irqchip and tells the vCPUs
 * through their hooks whether they play INIT/SIPI.
 */
#include "vmm/vm.h"

#include "devices/vga.h"
#include "vmm/base/log.h"
#include "vmm/board_display.h"
#include "vmm/board_pc.h"
#include "vmm/boot/boot.h"
#include "vmm/console.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vcpu.h"
#include "vmm/vm_internal.h"
#include "vmm/vm_state.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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
	case VM_END_API:
		return "shut down through the API";
	}
	return "?";
}

/*
 * Exit statuses of `vmm run` (also in README and `vmm run --help`):
 *   0   the guest powered off (or vmm.shutdown / vm.shutdown through the API)
 *   1   the VM could not be created (files, memory, devices)
 *   2   usage error or invalid spec
 *   3   the accelerator is not available on this host
 *   4   the guest reset the machine and on_reset is "exit"
 *   5   triple fault (shutdown) with on_triple_fault "exit"
 *   6   the accelerator failed (KVM internal error, emulation failure)
 *   128+N  stopped by signal N (SIGTERM, SIGINT, SIGHUP; Ctrl-A x counts as SIGINT)
 *   159    the sandbox stopped the VMM: a forbidden system call (sandbox.h; not a vm_end)
 *   any    the status a test guest wrote to the debug-exit port
 */
int vm_end_exit_status(enum vm_end end, int status)
{
	switch (end) {
	case VM_END_NONE:
	case VM_END_POWEROFF:
	case VM_END_API:
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

enum vm_state vm_state(struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

void vm_wake(struct vm *vm)
{
	if (eventfd_write(vm->wake_fd, 1) < 0)
		log_dbg(LOG_CAT_DEV, "%s: wake: %s", vm->spec->name, strerror(errno));
}

void vm_pause_all_async(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			vcpu_request(vm->vcpus[i], VCPU_REQ_PAUSE);
}

void vm_request_end(struct vm *vm, enum vm_end end, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->req_lock);
	if (vm->end == VM_END_NONE) {
		vm->end = end;
		vm->end_status = status;
		va_start(ap, fmt);
		vsnprintf(vm->end_msg, sizeof(vm->end_msg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->req_lock);
	/*
	 * Stop every vCPU before it runs another instruction: a guest that wrote the power-off
	 * register must not see the instruction after it execute.
	 */
	vm_pause_all_async(vm);
	vm_wake(vm);
}

/* A guest-initiated reset: done in place by the main loop, or an end with on_reset "exit". */
static void vm_request_reset(struct vm *vm, const char *reason, const char *msg)
{
	if (vm->spec->on_reset == SPEC_ON_RESET_EXIT && strcmp(reason, "triple-fault")) {
		vm_request_end(vm, VM_END_RESET, 0, "%s", msg);
		return;
	}
	pthread_mutex_lock(&vm->req_lock);
	if (!vm->reset_pending) {
		vm->reset_pending = true;
		snprintf(vm->reset_reason, sizeof(vm->reset_reason), "%s", reason);
		snprintf(vm->reset_msg, sizeof(vm->reset_msg), "%s", msg);
	}
	pthread_mutex_unlock(&vm->req_lock);
	vm_pause_all_async(vm);
	vm_wake(vm);
}

/* ACPI S3: every vCPU is asked to stop at once; the main loop carries it out. */
static void vm_request_suspend(struct vm *vm)
{
	pthread_mutex_lock(&vm->req_lock);
	vm->suspend_pending = true;
	pthread_mutex_unlock(&vm->req_lock);
	vm_pause_all_async(vm);
	vm_wake(vm);
}

static void vm_request_wake(struct vm *vm)
{
	pthread_mutex_lock(&vm->req_lock);
	vm->wake_pending = true;
	pthread_mutex_unlock(&vm->req_lock);
	vm_wake(vm);
}

void vm_report_panic(struct vm *vm)
{
	pthread_mutex_lock(&vm->req_lock);
	vm->panics_pending++;
	pthread_mutex_unlock(&vm->req_lock);
	vm_wake(vm);
}

void vm_vcpu_stopped(struct vm *vm, struct vcpu *v, enum vcpu_stop why, int err)
{
	char msg[96];

	switch (why) {
	case VCPU_STOP_SHUTDOWN:
		snprintf(msg, sizeof(msg), "%s: triple fault (shutdown)", v->name);
		if (vm->spec->on_triple_fault == SPEC_ON_TRIPLE_FAULT_RESET)
			vm_request_reset(vm, "triple-fault", msg);
		else
			vm_request_end(vm, VM_END_TRIPLE_FAULT, 0, "%s", msg);
		break;
	case VCPU_STOP_RESET:
		snprintf(msg, sizeof(msg), "%s: the guest reset the machine", v->name);
		vm_request_reset(vm, "guest", msg);
		break;
	case VCPU_STOP_KICKED:
	case VCPU_STOP_HALTED:
	case VCPU_STOP_FAILED:
		if (err)
			vm_request_end(vm, VM_END_FAILED, 0, "%s: the %s accelerator failed: %s",
				       v->name, vm->accel->name, strerror(-err));
		else
			vm_request_end(vm, VM_END_FAILED, 0,
				       "%s: the %s accelerator could not continue (see above)",
				       v->name, vm->accel->name);
		break;
	}
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
		vm_request_reset(vm, "guest", "the guest reset the machine");
		break;
	case PLATFORM_REQ_EXIT:
		vm_request_end(vm, VM_END_DEBUG_EXIT, code,
			       "the guest wrote exit status %d to the debug-exit port", code);
		break;
	case PLATFORM_REQ_PANIC:
		vm_report_panic(vm);
		break;
	case PLATFORM_REQ_SUSPEND:
		vm_request_suspend(vm);
		break;
	case PLATFORM_REQ_WAKE:
		vm_request_wake(vm);
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

/* A device's RAM-like memory (platform.h map_ram), e.g. the VGA framebuffer BAR. */
static int vm_platform_map_ram(struct platform *p, u64 gpa, u64 len, void *hva, unsigned flags)
{
	struct vm *vm = p->owner;

	return vm->accel->map_ram(vm->avm, gpa, len, hva,
				  (flags & PLATFORM_MEM_LOG_DIRTY) ? ACCEL_MEM_LOG_DIRTY : 0);
}

static int vm_platform_dirty_log(struct platform *p, u64 gpa, u64 len, unsigned long *bitmap)
{
	struct vm *vm = p->owner;

	return vm->accel->dirty_log(vm->avm, gpa, len, bitmap);
}

/* ------------------------------------------------------------- the board's CPU side */

static struct vcpu *vm_cpu(struct vm *vm, unsigned cpu)
{
	return vm->vcpus && cpu < vm->nr_vcpus ? vm->vcpus[cpu] : NULL;
}

void vm_cpu_set_intr(struct vm *vm, unsigned cpu, bool level)
{
	struct vcpu *v = vm_cpu(vm, cpu);

	if (v && v->av && vm->accel->vcpu_set_intr)
		vm->accel->vcpu_set_intr(v->av, level);
}

void vm_cpu_nmi(struct vm *vm, unsigned cpu)
{
	struct vcpu *v = vm_cpu(vm, cpu);

	if (v && v->av && vm->accel->vcpu_nmi)
		vm->accel->vcpu_nmi(v->av);
}

void vm_cpu_startup(struct vm *vm, unsigned cpu, int vector)
{
	struct vcpu *v = vm_cpu(vm, cpu);

	if (v)
		vcpu_startup(v, vector);
}

/* ---------------------------------------------------------------------- creation */

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

/* Map into the accelerator every region not mapped yet (loaders may add a firmware ROM). */
static int vm_map_ram(struct vm *vm, struct err *err)
{
	if (vm->accel->mem_written) {
		vm->plat.mem.on_write = vm_mem_written;
		vm->plat.mem.on_write_opaque = vm;
	}
	for (unsigned i = vm->nr_mapped; i < vm->plat.mem.nr; i++, vm->nr_mapped++) {
		const struct gmem_region *r = &vm->plat.mem.regions[i];
		int ret = vm->accel->map_ram(vm->avm, r->gpa, r->len, r->hva,
					     r->rom ? ACCEL_MEM_READONLY : 0);

		if (ret == -ENOTSUP && r->rom) {
			log_warn("%s: the %s accelerator cannot map ROM read-only: the firmware at "
				 "%#llx is writable until the next boot reloads it",
				 vm->spec->name, vm->accel->name, (unsigned long long)r->gpa);
			ret = vm->accel->map_ram(vm->avm, r->gpa, r->len, r->hva, 0);
		}

		if (ret < 0)
			return err_set(err, ret, "%s: cannot map %llu MiB of RAM at %#llx: %s",
				       vm->accel->name, (unsigned long long)(r->len >> 20),
				       (unsigned long long)r->gpa, strerror(-ret));
	}
	return 0;
}

static int vm_load_boot_image(struct vm *vm, struct cpu_state *bsp, struct err *err)
{
	const struct boot_spec *b = &vm->spec->boot;
	struct boot_params_in in = { .nr_vcpus = vm->nr_vcpus };
	int ret;

	if (b->kind != BOOT_FIRMWARE)
		board_pc_prepare_direct_boot(vm->board);
	switch (b->kind) {
	case BOOT_LINUX:
		in.vga_text = board_display_boot(board_pc_display(vm->board), false);
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
		board_display_boot(board_pc_display(vm->board), false);
		/* the tables for the OS (and S3's FACS); the image is loaded over them if it asks */
		ret = board_pc_build_acpi(vm->board, &in.acpi_rsdp_gpa, err);
		if (ret < 0)
			return ret;
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
		board_display_boot(board_pc_display(vm->board), false);
		ret = board_pc_build_acpi(vm->board, &in.acpi_rsdp_gpa, err);
		if (ret < 0)
			return ret;
		in.flat = b->image;
		in.load_address = b->load_address;
		return boot_flat(&vm->plat.mem, &in, bsp, err);
	case BOOT_FIRMWARE:
		in.firmware = b->image;
		return boot_firmware(&vm->plat.mem, &in, bsp, err);
	}
	return err_set(err, -EINVAL, "boot: unknown boot method");
}

int vm_load_s3_resume(struct vm *vm, struct err *err)
{
	struct cpu_state *bsp = malloc(sizeof(*bsp));
	int ret;

	if (!bsp)
		return err_set(err, -ENOMEM, "out of memory");
	*bsp = *vm->vcpus[0]->power_on;
	if (vm->spec->boot.kind == BOOT_FIRMWARE)
		ret = boot_firmware_wake(bsp);
	else
		ret = boot_s3_resume(&vm->plat.mem, bsp, err);
	if (ret == 0) {
		ret = vm->accel->vcpu_set(vm->vcpus[0]->av, bsp);
		if (ret < 0)
			err_set(err, ret, "vcpu0: cannot set the waking state: %s", strerror(-ret));
	}
	free(bsp);
	return ret;
}

int vm_load_boot(struct vm *vm, struct err *err)
{
	struct cpu_state *bsp = malloc(sizeof(*bsp));
	int ret;

	/* The boot vCPU starts where the loader says; the others wait for INIT/SIPI. */
	if (!bsp)
		return err_set(err, -ENOMEM, "out of memory");
	*bsp = *vm->vcpus[0]->power_on;
	ret = vm_load_boot_image(vm, bsp, err);
	if (ret == 0)
		ret = vm_map_ram(vm, err);
	if (ret == 0) {
		ret = vm->accel->vcpu_set(vm->vcpus[0]->av, bsp);
		if (ret < 0)
			err_set(err, ret, "vcpu0: cannot set the boot state: %s", strerror(-ret));
	}
	free(bsp);
	return ret;
}

/*
 * VM_CREATE_FOR_STATE: of what the boot loader does, only the memory layout a state needs (a
 * firmware boot's ROM region, empty: the state's memory fills it), mapped.
 */
static int vm_prepare_for_state(struct vm *vm, struct err *err)
{
	const struct boot_spec *b = &vm->spec->boot;
	int ret;

	if (b->kind == BOOT_FIRMWARE) {
		ret = boot_firmware_reserve(&vm->plat.mem, b->image, err);
		if (ret < 0)
			return ret;
	}
	return vm_map_ram(vm, err);
}

void vm_boot_screen(struct vm *vm)
{
	board_display_boot(board_pc_display(vm->board), vm->spec->boot.kind == BOOT_FIRMWARE);
}

/*
 * Without firmware nobody programs the MTRRs, so the VMM does what firmware would
 * (boot_cpu_mtrrs) as part of every vCPU's power-on state: each boot, reboot, INIT/SIPI and S3
 * resume starts from it. With boot.firmware the firmware does it from the MTRRs' real power-on
 * state (disabled).
 */
static int vm_direct_boot_mtrrs(struct vm *vm, struct vcpu *v, struct err *err)
{
	unsigned bits = vm->accel->phys_addr_bits ? vm->accel->phys_addr_bits(vm->avm) : 36;
	int ret;

	if (vm->spec->boot.kind == BOOT_FIRMWARE)
		return 0;
	boot_cpu_mtrrs(v->power_on, board_pc_low_ram_max(vm->spec), bits);
	ret = vcpu_reset(v, NULL); /* into the accelerator, the APs still waiting for SIPI */
	if (ret < 0)
		return err_set(err, ret, "%s: cannot set the MTRRs firmware would: %s", v->name,
			       strerror(-ret));
	return 0;
}

static int vm_create_vcpus(struct vm *vm, unsigned flags, struct err *err)
{
	const struct vcpu_hooks *hooks = board_pc_vcpu_hooks(vm->board);
	int ret;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		ret = vcpu_create(vm, i, hooks, &vm->vcpus[i], err);
		if (ret < 0)
			return ret;
		ret = vm_direct_boot_mtrrs(vm, vm->vcpus[i], err);
		if (ret < 0)
			return ret;
	}
	return (flags & VM_CREATE_FOR_STATE) ? vm_prepare_for_state(vm, err) :
					       vm_load_boot(vm, err);
}

int vm_create(const struct vm_spec *spec, const struct accel_ops *accel, struct console *console,
	      unsigned flags, struct vm **out, struct err *err)
{
	struct accel_config cfg = { .nr_vcpus = spec->vcpus,
				    .ram_bytes = spec->memory_mib << 20,
				    .name = spec->name,
				    .bt_jit = spec->bt.engine == SPEC_BT_JIT,
				    .bt_jit_threshold = spec->bt.jit_threshold,
				    .bt_code_cache_bytes = (u64)spec->bt.code_cache_mib << 20,
				    .vmware_backdoor = spec->hypercall.vmware_backdoor,
				    .vmware_cpuid =
					    spec->hypercall.identity == HYPERCALL_IDENTITY_VMWARE,
				    /* both accelerators' local APICs count a 1 GHz bus */
				    .apic_bus_khz = 1000000 };
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
	vm->timer_fd = -1;
	vm->state = VM_STATE_CREATED;
	pthread_mutex_init(&vm->req_lock, NULL);
	platform_lock_init(&vm->plat);
	bus_init(&vm->plat.pio, "pio", LOG_CAT_PIO, &vm->plat.dev_lock);
	bus_init(&vm->plat.mmio, "mmio", LOG_CAT_MMIO, &vm->plat.dev_lock);
	vclock_init_host(&vm->plat.clock);
	vm->plat.clock.wake = vm_clock_wake;
	vm->plat.clock.wake_opaque = vm;
	vm->plat.request = vm_platform_request;
	vm->plat.msi = vm_platform_msi;
	vm->plat.map_ram = vm_platform_map_ram;
	vm->plat.dirty_log = vm_platform_dirty_log;
	vm->plat.owner = vm;

	vm->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (vm->wake_fd < 0 || vm->timer_fd < 0) {
		ret = err_set(err, -errno, "eventfd/timerfd: %s", strerror(errno));
		goto err_destroy;
	}
	ret = gmem_init_pc_hole(&vm->plat.mem, cfg.ram_bytes, board_pc_low_ram_max(spec));
	if (ret < 0) {
		err_set(err, ret, "memory_mib: cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)spec->memory_mib, strerror(-ret));
		goto err_destroy;
	}
	/* The legacy VGA window belongs to the card, not to RAM. */
	if (spec->display.type != DISPLAY_NONE) {
		ret = gmem_hole(&vm->plat.mem, VGA_LEGACY_GPA, VGA_LEGACY_LEN);
		if (ret < 0) {
			err_set(err, ret, "display: cannot keep 0xa0000-0xbffff out of guest RAM");
			goto err_destroy;
		}
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
	ret = vm_create_vcpus(vm, flags, err);
	if (ret < 0)
		goto err_destroy;
	*out = vm;
	return 0;

err_destroy:
	vm_destroy(vm);
	return ret;
}

/* ------------------------------------------------------------------- the main loop */

void vm_service_timers(struct vm *vm)
{
	struct itimerspec its = { 0 };
	u64 next = TIMER_NEVER, now = 0;

	if (!vclock_frozen(&vm->plat.clock)) { /* paused: nothing can come due */
		pthread_mutex_lock(&vm->plat.dev_lock);
		timer_run_due(&vm->plat.clock);
		next = timer_next_deadline(&vm->plat.clock);
		now = vclock_now_ns(&vm->plat.clock);
		pthread_mutex_unlock(&vm->plat.dev_lock);
	}
	if (next != TIMER_NEVER) {
		u64 delta = next > now ? next - now : 1;

		its.it_value.tv_sec = (time_t)(delta / 1000000000ull);
		its.it_value.tv_nsec = (long)(delta % 1000000000ull);
	}
	timerfd_settime(vm->timer_fd, 0, &its, NULL);
}

static void vm_on_wake(void *opaque, int fd, u32 events)
{
	struct vm *vm = opaque;
	eventfd_t v;

	(void)events;
	if (eventfd_read(fd, &v) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "%s: wake fd: %s", vm->spec->name, strerror(errno));
	vm_carry_out_requests(vm);
	vm_service_timers(vm);
	/* Input the UART could not take yet; its rx_ready callback wakes us when it can. */
	if (vm->console_attached && console_input_pending(vm->console))
		console_retry(vm->console);
}

static void vm_on_timer(void *opaque, int fd, u32 events)
{
	struct vm *vm = opaque;
	u64 v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "%s: timer fd: %s", vm->spec->name, strerror(errno));
	vm_service_timers(vm);
}

static void vm_console_quit(void *opaque)
{
	struct vm *vm = opaque;

	vm_request_end(vm, VM_END_SIGNAL, SIGINT, "quit from the console (Ctrl-A x)");
}

int vm_attach(struct vm *vm, struct loop *l, struct err *err)
{
	int ret;

	vm->loop = l;
	ret = loop_add(l, vm->wake_fd, EPOLLIN, vm_on_wake, vm);
	if (!ret)
		ret = loop_add(l, vm->timer_fd, EPOLLIN, vm_on_timer, vm);
	if (!ret)
		ret = board_pc_attach(vm->board, l);
	if (!ret && vm->console) {
		ret = console_attach(vm->console, l, board_pc_console_input, vm_console_quit, vm);
		vm->console_attached = ret == 0;
	}
	if (ret < 0) {
		vm_detach(vm);
		return err_set(err, ret, "%s: cannot watch its files on the event loop: %s",
			       vm->spec->name, strerror(-ret));
	}
	ret = vm_state_debug_attach(vm, l, err);
	if (ret < 0) {
		vm_detach(vm);
		return ret;
	}
	vm_service_timers(vm);
	return 0;
}

void vm_detach(struct vm *vm)
{
	if (!vm->loop)
		return;
	vm_state_debug_detach(vm);
	if (vm->console_attached)
		console_detach(vm->console);
	vm->console_attached = false;
	board_pc_detach(vm->board);
	loop_del(vm->loop, vm->wake_fd);
	loop_del(vm->loop, vm->timer_fd);
	vm->loop = NULL;
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus && vm->vcpus; i++)
		if (vm->vcpus[i])
			vcpu_stop(vm->vcpus[i]);
	vm_detach(vm);
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
	if (vm->timer_fd >= 0)
		close(vm->timer_fd);
	pthread_mutex_destroy(&vm->plat.dev_lock);
	pthread_mutex_destroy(&vm->req_lock);
	free(vm);
}

u64 vm_memory_bytes(const struct vm *vm)
{
	return vm->spec->memory_mib << 20;
}

struct display *vm_display(struct vm *vm)
{
	return board_display_display(board_pc_display(vm->board));
}
