/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, vCPU level: creation (api.rst 4.7 KVM_CREATE_VCPU, 4.125
 * KVM_GET_VCPU_MMAP_SIZE), the KVM_RUN loop and its exits (api.rst 4.10 and
 * section 5, struct kvm_run), and kicks.
 *
 * Kicks. A kick must get a vCPU out of KVM_RUN promptly whether it is inside
 * the ioctl or about to enter it. The vCPU thread keeps KVM_KICK_SIGNAL
 * blocked at all times in userspace and hands KVM a mask without it through
 * KVM_SET_SIGNAL_MASK (api.rst 4.18), so the signal can only interrupt
 * KVM_RUN itself: never a device back end's read()/write() on the vCPU
 * thread. vcpu_kick sets run->immediate_exit (api.rst 5, for a vCPU between
 * two KVM_RUNs) and sends the signal with pthread_kill (for one inside). A
 * kick sent while the vCPU is outside KVM_RUN stays pending and makes the
 * next KVM_RUN return EINTR at once, so no kick is lost; after EINTR the
 * pending signal is consumed with sigtimedwait. The handler does nothing
 * (it only exists so that a stray delivery cannot kill the process).
 *
 * Exits handled here: IO (each of count accesses, string I/O included), MMIO,
 * HLT, SHUTDOWN (triple fault), SYSTEM_EVENT, INTERNAL_ERROR, FAIL_ENTRY,
 * INTR. Anything else stops the vCPU as FAILED with a log line.
 */
#include "vmm/kvm/kvm.h"
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/err.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t kvm_kick_once = PTHREAD_ONCE_INIT;

static void kvm_kick_handler(int sig)
{
	(void)sig;
}

static void kvm_kick_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kvm_kick_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(KVM_KICK_SIGNAL, &sa, NULL);
}

const char *kvm_exit_name(u32 reason)
{
	static const char *const names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO",
		[KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG",
		[KVM_EXIT_HLT] = "HLT",
		[KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR",
		[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI",
		[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	if (reason < ARRAY_SIZE(names) && names[reason])
		return names[reason];
	return "?";
}

static const char *kvm_suberror_name(u32 suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		return "instruction emulation failed";
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		return "exit while delivering an event";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON:
		return "unexpected exit reason";
	default:
		return "unknown suberror";
	}
}

int kvm_vcpu_create(struct accel_vm *avm, unsigned index, const struct accel_io *io,
		    struct accel_vcpu **out, struct err *err)
{
	struct accel_vcpu *v;
	int ret;

	pthread_once(&kvm_kick_once, kvm_kick_install);
	v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(err, -ENOMEM, "%s: out of memory", avm->name);
	v->vm = avm;
	v->index = index;
	v->io = io;
	snprintf(v->name, sizeof(v->name), "vcpu%u", index);
	v->fd = ioctl(avm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (v->fd < 0) {
		ret = err_set(err, -errno, "%s: KVM_CREATE_VCPU: %s", v->name, strerror(errno));
		goto err_free;
	}
	v->run = mmap(NULL, avm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		ret = err_set(err, -errno, "%s: mmap of kvm_run: %s", v->name, strerror(errno));
		goto err_close;
	}
	ret = kvm_cpuid_setup(v);
	if (ret < 0) {
		err_set(err, ret, "%s: KVM_SET_CPUID2: %s", v->name, strerror(-ret));
		goto err_unmap;
	}
	ret = kvm_regs_init(v);
	if (ret < 0) {
		err_set(err, ret, "%s: initial MSR/FPU state: %s", v->name, strerror(-ret));
		goto err_unmap;
	}
	ret = kvm_capture_vcpu_reset_state(v);
	if (ret < 0) {
		err_set(err, ret, "%s: KVM_GET_LAPIC: %s", v->name, strerror(-ret));
		goto err_unmap;
	}
	if (index != 0) {
		/* Application processors wait for INIT/SIPI from the in-kernel LAPIC (SDM 3A 8.4). */
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };

		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
			ret = err_set(err, -errno, "%s: KVM_SET_MP_STATE: %s", v->name,
				      strerror(errno));
			goto err_unmap;
		}
	}
	if (index < avm->nr_vcpus)
		avm->vcpus[index] = v;
	*out = v;
	return 0;

err_unmap:
	free(v->reset_lapic);
	munmap(v->run, avm->run_size);
err_close:
	close(v->fd);
err_free:
	free(v);
	return ret;
}

void kvm_vcpu_destroy(struct accel_vcpu *v)
{
	if (!v)
		return;
	if (v->index < v->vm->nr_vcpus && v->vm->vcpus[v->index] == v)
		v->vm->vcpus[v->index] = NULL;
	munmap(v->run, v->vm->run_size);
	close(v->fd);
	free(v->reset_lapic);
	free(v);
}

/* On the thread that runs this vCPU: block the kick signal outside KVM_RUN, unblock inside. */
static int kvm_vcpu_bind_thread(struct accel_vcpu *v)
{
	struct {
		struct kvm_signal_mask hdr;
		u8 set[8]; /* the kernel's sigset_t: 64 bits on x86-64 */
	} kmask;

	sigset_t block, old;

	if (atomic_load(&v->thread_known) && pthread_equal(v->thread, pthread_self()))
		return 0;
	sigemptyset(&block);
	sigaddset(&block, KVM_KICK_SIGNAL);
	if (pthread_sigmask(SIG_BLOCK, &block, &old) != 0)
		return -EINVAL;
	sigdelset(&old, KVM_KICK_SIGNAL);
	kmask.hdr.len = sizeof(kmask.set);
	memcpy(kmask.set, &old, sizeof(kmask.set));
	if (ioctl(v->fd, KVM_SET_SIGNAL_MASK, &kmask) < 0) {
		int e = errno;

		log_err("%s: KVM_SET_SIGNAL_MASK: %s", v->name, strerror(e));
		return -e;
	}
	v->thread = pthread_self();
	atomic_store(&v->thread_known, true);
	return 0;
}

/* Consume kick signals left pending by an interrupted KVM_RUN. */
static void kvm_vcpu_eat_kicks(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KVM_KICK_SIGNAL);
	while (sigtimedwait(&set, NULL, &zero) >= 0)
		;
}

/*
 * A VMware backdoor call: IN EAX, DX on the backdoor port with the magic in EAX. The registers
 * are read and written around the call; KVM completes the IN from the data (and advances RIP)
 * at the next KVM_RUN, as for any port read. With kvm.enable_vmware_backdoor=1 KVM also routes
 * ring-3 calls here (it emulates the #GP they take); without it they fault in the guest.
 * false: not a backdoor call.
 */
static bool kvm_vcpu_backdoor(struct accel_vcpu *v, u32 *data)
{
	struct kvm_regs regs;
	struct accel_backdoor r;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0 || (u32)regs.rax != ACCEL_BACKDOOR_MAGIC)
		return false;
	r = (struct accel_backdoor){ .rax = regs.rax,
				     .rbx = regs.rbx,
				     .rcx = regs.rcx,
				     .rdx = regs.rdx,
				     .rsi = regs.rsi,
				     .rdi = regs.rdi,
				     .rbp = regs.rbp };
	v->io->backdoor(v->io->vm, &r);
	/* EAX is the IN's result (zero-extended, SDM vol. 1 3.4.1.1): set here too, as KVM's
	 * PVM flavour was seen to apply the registers after completing the read. */
	regs.rax = (u32)r.rax;
	regs.rbx = r.rbx;
	regs.rcx = r.rcx;
	regs.rdx = r.rdx;
	regs.rsi = r.rsi;
	regs.rdi = r.rdi;
	regs.rbp = r.rbp;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		log_err("%s: KVM_SET_REGS after a backdoor call: %s", v->name, strerror(errno));
	*data = (u32)r.rax;
	return true;
}

static void kvm_vcpu_do_io(struct accel_vcpu *v)
{
	struct kvm_run *run = v->run;
	u8 *data = (u8 *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	if (v->vm->vmware_backdoor && v->io->backdoor && run->io.port == ACCEL_BACKDOOR_PORT &&
	    run->io.size == 4 && run->io.count == 1 && !is_write) {
		u32 val;

		if (kvm_vcpu_backdoor(v, &val)) {
			memcpy(data, &val, 4);
			return;
		}
	}

	for (u32 i = 0; i < run->io.count; i++) {
		v->io->pio(v->io->vm, run->io.port, run->io.size, is_write, data);
		data += run->io.size;
	}
}

static u64 kvm_vcpu_rip(struct accel_vcpu *v)
{
	struct kvm_regs regs;

	if (ioctl(v->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ull;
	return regs.rip;
}

static void kvm_vcpu_log_internal(struct accel_vcpu *v)
{
	struct kvm_run *run = v->run;
	char extra[128] = "";
	size_t used = 0;

	for (u32 i = 0; i < run->internal.ndata && i < 4 && used < sizeof(extra); i++)
		used += (size_t)snprintf(extra + used, sizeof(extra) - used, " %#llx",
					 (unsigned long long)run->internal.data[i]);
	log_err("%s: KVM internal error %u (%s) at rip %#llx; data:%s", v->name,
		run->internal.suberror, kvm_suberror_name(run->internal.suberror),
		(unsigned long long)kvm_vcpu_rip(v), extra);
}

/* Handle one exit: true if the vCPU must stop with *why, false to re-enter. */
static bool kvm_vcpu_exit(struct accel_vcpu *v, enum vcpu_stop *why)
{
	struct kvm_run *run = v->run;
	u64 *count = &v->exits[MIN(run->exit_reason, (u32)KVM_EXIT_COUNTED - 1)];

	__atomic_store_n(count, __atomic_load_n(count, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		kvm_vcpu_do_io(v);
		return false;
	case KVM_EXIT_MMIO:
		v->io->mmio(v->io->vm, run->mmio.phys_addr, run->mmio.len, run->mmio.is_write,
			    run->mmio.data);
		return false;
	case KVM_EXIT_HLT:
		*why = VCPU_STOP_HALTED;
		return true;
	case KVM_EXIT_SHUTDOWN:
		log_dbg(LOG_CAT_KVM, "%s: shutdown (triple fault) at rip %#llx", v->name,
			(unsigned long long)kvm_vcpu_rip(v));
		*why = VCPU_STOP_SHUTDOWN;
		return true;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			*why = VCPU_STOP_SHUTDOWN;
			return true;
		case KVM_SYSTEM_EVENT_RESET:
			*why = VCPU_STOP_RESET;
			return true;
		default:
			log_err("%s: KVM system event %u", v->name, run->system_event.type);
			*why = VCPU_STOP_FAILED;
			return true;
		}
	case KVM_EXIT_INTERNAL_ERROR:
		kvm_vcpu_log_internal(v);
		*why = VCPU_STOP_FAILED;
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		log_err("%s: VM entry failed, hardware reason %#llx, at rip %#llx", v->name,
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason,
			(unsigned long long)kvm_vcpu_rip(v));
		*why = VCPU_STOP_FAILED;
		return true;
	case KVM_EXIT_INTR:
		*why = VCPU_STOP_KICKED;
		return true;
	default:
		log_err("%s: unhandled KVM exit %u (%s) at rip %#llx", v->name, run->exit_reason,
			kvm_exit_name(run->exit_reason), (unsigned long long)kvm_vcpu_rip(v));
		*why = VCPU_STOP_FAILED;
		return true;
	}
}

/* vCPU thread. 0 with *why set, or a negative errno if KVM_RUN itself failed. */
int kvm_vcpu_run(struct accel_vcpu *v, enum vcpu_stop *why)
{
	int ret = kvm_vcpu_bind_thread(v);

	if (ret < 0)
		return ret;
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			int e = errno;

			/*
			 * EAGAIN: a vCPU waiting for SIPI was woken by INIT/SIPI (api.rst 4.10
			 * KVM_RUN, x86 MP states): not a kick, enter again to run it.
			 */
			if (e == EAGAIN)
				continue;
			if (e == EINTR) {
				__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				kvm_vcpu_eat_kicks();
				*why = VCPU_STOP_KICKED;
				return 0;
			}
			log_err("%s: KVM_RUN failed: %s", v->name, strerror(e));
			return -e;
		}
		if (kvm_vcpu_exit(v, why))
			return 0;
	}
}

/* Any thread. */
void kvm_vcpu_kick(struct accel_vcpu *v)
{
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (atomic_load(&v->thread_known))
		pthread_kill(v->thread, KVM_KICK_SIGNAL);
}
