// SPDX-License-Identifier: MIT
/*
 * The seccomp sandbox (sandbox.h, docs/sandbox.md) on libseccomp (seccomp_init(3),
 * seccomp_rule_add(3), seccomp_export_bpf(3)) and the kernel's seccomp(2).
 *
 * Each thread kind's allow-list is a set of named groups of rules (a rule: one system call,
 * optionally with conditions on its arguments; rules for the same call are ORed) plus the
 * ioctl requests of the accelerator (struct accel_sandbox) and of the consoles. A feature
 * that makes new system calls after lockdown (snapshots writing files, migration connecting,
 * hot-added disks opening images) adds a group and names the kinds that include it in
 * sandbox_kind_groups(); nothing else changes.
 *
 * sandbox_prepare compiles every kind's filter to BPF once, on the main thread and before
 * any vCPU thread exists, and keeps the programs; sandbox_lockdown then costs one seccomp(2)
 * call on the thread itself (no allocation, no libseccomp state shared between threads). The
 * names of the system calls are resolved up front too, so the SIGSYS handler only formats
 * into a stack buffer and calls write(2) and _exit(2), both async-signal-safe.
 *
 * Not done: per-argument checks on file descriptors (which fd a read uses): a filter cannot
 * tell a disk image's fd from any other, so the lists bound what kind of call is possible.
 * io_uring submissions are not system calls and are not seen by seccomp at all; the block
 * layer's ring is restricted to its own operations (aio_uring.c) instead.
 */
#include "vmm/sandbox.h"

#include "vmm/accel.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif
#ifndef SANDBOX_SANITIZER
#define SANDBOX_SANITIZER 0
#endif

/* Names are resolved for system call numbers below this (x86-64 has about 460). */
#define SANDBOX_MAX_NR 512

struct sandbox_rule {
	int nr; /* SCMP_SYS(name) */
	unsigned nr_args;
	struct scmp_arg_cmp args[2];
	bool enosys; /* refuse with ENOSYS instead of allowing (glibc then falls back) */
};

struct sandbox_group {
	const char *name;
	const struct sandbox_rule *rules;
	size_t nr_rules;
};

#define ALLOW(call)                                \
	{                                          \
		.nr = SCMP_SYS(call), .nr_args = 0 \
	}
#define ARG_EQ(i, v)                                                        \
	{                                                                   \
		.arg = (i), .op = SCMP_CMP_EQ, .datum_a = (v), .datum_b = 0 \
	}
#define ARG_MASKED(i, mask, v)                                                          \
	{                                                                               \
		.arg = (i), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask), .datum_b = (v) \
	}
#define ALLOW_IF(call, a0)                                         \
	{                                                          \
		.nr = SCMP_SYS(call), .nr_args = 1, .args = { a0 } \
	}
#define ALLOW_IF2(call, a0, a1)                                        \
	{                                                              \
		.nr = SCMP_SYS(call), .nr_args = 2, .args = { a0, a1 } \
	}
#define GROUP(n, r)                                                  \
	{                                                            \
		.name = (n), .rules = (r), .nr_rules = ARRAY_SIZE(r) \
	}

/* Every thread: memory, locks, time, signals, logging, ending. */
static const struct sandbox_rule sandbox_base[] = {
	/* logs, eventfds, stdio */
	ALLOW(read),
	ALLOW(write),
	ALLOW(readv),
	ALLOW(writev),
	ALLOW(close),
	ALLOW(lseek),
	ALLOW(fstat),
	ALLOW(newfstatat),
	/* locks */
	ALLOW(futex),
	ALLOW(sched_yield),
	/* malloc and thread stacks; never executable memory (accel_sandbox.vcpu_exec_mappings) */
	ALLOW_IF(mmap, ARG_MASKED(2, PROT_EXEC, 0)),
	ALLOW_IF(mprotect, ARG_MASKED(2, PROT_EXEC, 0)),
	ALLOW(munmap),
	ALLOW(mremap),
	ALLOW(madvise),
	ALLOW(brk),
	/* time (the vDSO's fallbacks) and sleeps */
	ALLOW(clock_gettime),
	ALLOW(clock_getres),
	ALLOW(gettimeofday),
	ALLOW(clock_nanosleep),
	ALLOW(nanosleep),
	/* identity; malloc's randomness */
	ALLOW(getpid),
	ALLOW(gettid),
	ALLOW(getrandom),
	/* signals (rt_sigtimedwait: the KVM vCPU consumes its kick signal); tgkill is added by
	 * sandbox_build_kind for this process only (kicks, abort()) */
	ALLOW(rt_sigprocmask),
	ALLOW(rt_sigreturn),
	ALLOW(rt_sigtimedwait),
	ALLOW(restart_syscall),
	/* ending */
	ALLOW(exit),
	ALLOW(exit_group),
};

/* Threads that run device code (the main loop, vCPU exits): block I/O, console output. */
static const struct sandbox_rule sandbox_device_io[] = {
	/* disk images (raw, VMDK grains and descriptors, discard) */
	ALLOW(pread64),
	ALLOW(pwrite64),
	ALLOW(preadv),
	ALLOW(pwritev),
	ALLOW(preadv2),
	ALLOW(pwritev2),
	ALLOW(fsync),
	ALLOW(fdatasync),
	ALLOW(fallocate),
	ALLOW(ftruncate),
	/* the aio engines (io_uring, libaio) and waiting for them */
	ALLOW(io_uring_enter),
	ALLOW(io_submit),
	ALLOW(io_getevents),
	ALLOW(poll),
	ALLOW(ppoll),
	/* console sockets */
	ALLOW(sendto),
	ALLOW(sendmsg),
	ALLOW(recvfrom),
	ALLOW(recvmsg),
};

/* The main thread's event loop: epoll, timers, the console's listening socket and terminal. */
static const struct sandbox_rule sandbox_loop[] = {
	ALLOW(epoll_wait),
	ALLOW(epoll_pwait),
	ALLOW(epoll_ctl),
	ALLOW(timerfd_settime),
	ALLOW(timerfd_gettime),
	ALLOW(accept4),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(shutdown),
	ALLOW(unlink), /* a unix console's socket file, at exit */
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_DUPFD_CLOEXEC)),
};

/*
 * The display's VNC server on the main loop (display/vnc.c): libvncserver polls its clients'
 * sockets with a zero-timeout select (pselect6) and asks a new client's address
 * (getpeername); the rest (accept4, reads, writes, socket options) is on the loop's lists.
 */
static const struct sandbox_rule sandbox_display[] = {
	ALLOW(pselect6),
	ALLOW(getpeername),
};

/*
 * sd_notify(3) under systemd: a datagram to $NOTIFY_SOCKET on a new AF_UNIX socket each time
 * (libsystemd 252 also grows its send buffer and reads the credentials it would attach).
 */
static const struct sandbox_rule sandbox_notify[] = {
	ALLOW_IF2(socket, ARG_EQ(0, AF_UNIX), ARG_MASKED(1, 0xff, SOCK_DGRAM)),
	ALLOW(sendmsg),
	ALLOW(getsockopt),
	ALLOW(setsockopt),
	ALLOW(getuid),
	ALLOW(geteuid),
	ALLOW(getgid),
	ALLOW(getegid),
};

/*
 * User-mode networking (libslirp, src/net/user.c): the guest's TCP and UDP flows and pings
 * become host sockets, created, connected, read and written by the device code that takes the
 * guest's frames (a vCPU thread, or the main loop) and by the main loop's polling, which also
 * keeps them in the back end's epoll set and its timer armed; forwarded ports accept. slirp
 * reads /etc/resolv.conf (read-only) for the DNS server it forwards to, on the first query
 * and when the file changes. Only IPv4 and IPv6 sockets: no unix, netlink or packet sockets.
 */
static const struct sandbox_rule sandbox_net_user[] = {
	ALLOW_IF(socket, ARG_EQ(0, AF_INET)),
	ALLOW_IF(socket, ARG_EQ(0, AF_INET6)),
	ALLOW(connect),
	ALLOW(bind),
	ALLOW(listen),
	ALLOW(accept),
	ALLOW(accept4),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(shutdown),
	ALLOW(sendto),
	ALLOW(recvfrom),
	ALLOW(sendmsg),
	ALLOW(recvmsg),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFD)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD)),
	ALLOW_IF(openat, ARG_MASKED(2, O_ACCMODE | O_CREAT | O_TRUNC | O_TMPFILE, O_RDONLY)),
	ALLOW(epoll_ctl),
	ALLOW(timerfd_settime),
};

/* A TAP (src/net/tap.c): a full host queue makes it watch for room (epoll_ctl). */
static const struct sandbox_rule sandbox_net_tap[] = {
	ALLOW(epoll_ctl),
};

/* Bytes waiting on a UDP socket (slirp sizes its buffer with them). */
static const unsigned long sandbox_net_user_ioctls[] = {
	FIONREAD,
	0,
};

/* A guest driver's features set the TAP's offloads (tap_set_rx_caps). */
static const unsigned long sandbox_net_tap_ioctls[] = {
	TUNSETOFFLOAD,
	0,
};

/*
 * Opening a TAP for a VM built after lockdown (vm-build): the interface's index and hardware
 * type through a socket's ioctls, the queue's attach and its vnet header and send buffer.
 */
static const unsigned long sandbox_net_tap_build_ioctls[] = {
	SIOCGIFINDEX, SIOCGIFHWADDR, TUNSETIFF, TUNGETIFF, TUNSETVNETHDRSZ, TUNSETSNDBUF, 0,
};

/*
 * Building a VM again after lockdown (sandbox_config.rebuild): the spec's files, guest RAM,
 * the event loop's descriptors, the block layer's rings, vCPU threads. clone3 gets ENOSYS (its
 * flags are in memory, out of a filter's reach) so glibc falls back to clone, whose flags are
 * checked: threads only, never a new process.
 */
static const struct sandbox_rule sandbox_build[] = {
	/* the spec's files: checked (access, realpath), opened, read */
	ALLOW(openat),
	ALLOW(statx),
	ALLOW(readlink),
	ALLOW(getcwd),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(faccessat2),
	/* the serial console: a unix socket or a pty */
	ALLOW_IF2(socket, ARG_EQ(0, AF_UNIX), ARG_MASKED(1, 0xff, SOCK_STREAM)),
	ALLOW(bind),
	ALLOW(listen),
	ALLOW(umask),
	ALLOW(chmod),
	ALLOW(fchmod),
	ALLOW(geteuid), /* the console's accepted user */
	/* its socket is bound in a private folder, then linked or exchanged into place */
	ALLOW(mkdir),
	ALLOW(rmdir),
	ALLOW(linkat),
	ALLOW(renameat),
	ALLOW(renameat2),
	ALLOW(unlinkat),
	ALLOW(fchmodat),
	/* the event loop's descriptors, the block layer's rings, vCPU threads */
	ALLOW(eventfd2),
	ALLOW(epoll_create1),
	ALLOW(signalfd4),
	ALLOW(timerfd_create),
	ALLOW(io_uring_setup),
	ALLOW(io_uring_register),
	ALLOW(io_setup),
	ALLOW(io_destroy),
	ALLOW_IF(clone, ARG_MASKED(0, CLONE_THREAD, CLONE_THREAD)),
	{ .nr = SCMP_SYS(clone3), .nr_args = 0, .enosys = true },
	ALLOW(set_robust_list),
	ALLOW(rseq),
	ALLOW(rt_sigaction),
	ALLOW(sigaltstack),
	ALLOW_IF(seccomp, ARG_EQ(0, SECCOMP_SET_MODE_FILTER)), /* the new vCPU threads' own lists */
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFD)),
	/* a TAP's interface looked up by name (if_nametoindex's socket) */
	ALLOW_IF2(socket, ARG_EQ(0, AF_UNIX), ARG_MASKED(1, 0xff, SOCK_DGRAM)),
};

/*
 * The main thread's reset in place (vm.reboot, a guest reset): the boot loader reads the
 * kernel, initrd or firmware again. Opens are read-only and create nothing.
 */
static const struct sandbox_rule sandbox_reboot[] = {
	ALLOW_IF(openat, ARG_MASKED(2, O_ACCMODE | O_CREAT | O_TRUNC | O_TMPFILE, O_RDONLY)),
};

/*
 * The worker thread (worker.h), when the process serves the control API: a snapshot's folder
 * and files (created under temporary names, renamed into place, removed on failure; the
 * pagemap read), and one stream connection to a migration peer, unix or TCP, as the client or
 * the listening side. It runs no device code and makes no ioctl but the dirty log's.
 */
static const struct sandbox_rule sandbox_worker[] = {
	ALLOW(openat),
	ALLOW(mkdir),
	ALLOW(mkdirat),
	ALLOW(rename),
	ALLOW(renameat),
	ALLOW(renameat2),
	ALLOW(unlink),
	ALLOW(unlinkat),
	ALLOW(access),
	ALLOW(faccessat),
	ALLOW(faccessat2),
	ALLOW_IF2(socket, ARG_EQ(0, AF_UNIX), ARG_MASKED(1, 0xff, SOCK_STREAM)),
	ALLOW_IF2(socket, ARG_EQ(0, AF_INET), ARG_MASKED(1, 0xff, SOCK_STREAM)),
	ALLOW_IF2(socket, ARG_EQ(0, AF_INET6), ARG_MASKED(1, 0xff, SOCK_STREAM)),
	ALLOW(connect),
	ALLOW(bind),
	ALLOW(listen),
	ALLOW(accept4),
	ALLOW(getsockname),
	ALLOW(getpeername),
	ALLOW(setsockopt),
	ALLOW(getsockopt),
	ALLOW(shutdown),
	ALLOW_IF(fcntl, ARG_EQ(1, F_GETFL)),
	ALLOW_IF(fcntl, ARG_EQ(1, F_SETFL)),
};

/*
 * Sanitizer builds only (-Db_sanitize=address): what the ASan/LSan runtime does after
 * lockdown. LeakSanitizer's exit-time check stops the world with a tracer task (clone
 * without CLONE_THREAD) that ptrace-attaches every thread and reads /proc/self/task; error
 * reports read /proc/self/maps. Release builds never contain this group.
 */
static const struct sandbox_rule sandbox_sanitizer[] = {
	/* LeakSanitizer's tracer task and what it reads (/proc/self/task, maps, exe): the
	 * runtime makes raw system calls, open and getdents rather than libc's openat and
	 * getdents64 */
	ALLOW(clone),
	ALLOW(ptrace),
	ALLOW(wait4),
	ALLOW(prctl),
	ALLOW(open),
	ALLOW(openat),
	ALLOW(getdents),
	ALLOW(getdents64),
	ALLOW(readlink),
	ALLOW(sigaltstack),
	ALLOW(rt_sigaction),
	ALLOW(set_robust_list),
	ALLOW(getppid),
	ALLOW(sched_getaffinity),
	ALLOW(process_vm_readv),
	/* stack bounds */
	ALLOW(getrlimit),
	ALLOW(prlimit64),
};

/* Console terminal ioctls (console.c: raw mode on stdio and its restore at exit). */
static const unsigned long sandbox_console_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, 0,
};

static const struct {
	const char *name; /* names the thread kind in messages */
} sandbox_kinds[SANDBOX_NR_KINDS] = {
	[SANDBOX_KIND_MAIN] = { "main" },
	[SANDBOX_KIND_VCPU] = { "vcpu" },
	[SANDBOX_KIND_WORKER] = { "worker" },
};

struct sandbox_state {
	bool prepared, enabled;
	enum sandbox_probe probe;
	char vm_name[64]; /* the first VM's name, for messages ("" before) */
	struct sock_fprog progs[SANDBOX_NR_KINDS];
	char *names[SANDBOX_MAX_NR]; /* system call names, for the SIGSYS handler */
	u32 arch;		     /* AUDIT_ARCH_* of this build (seccomp_arch_native) */
	bool journal;		     /* stderr is the journal: "<2>" instead of "error: " */
};

/*
 * Process-wide by nature: the filters are per thread but built once, and the SIGSYS handler
 * can reach nothing else.
 */
static struct sandbox_state sandbox_st;
static __thread const char *sandbox_thread_name;
static __thread bool sandbox_locked;

const char *sandbox_action_name(enum sandbox_action a)
{
	switch (a) {
	case SANDBOX_ACTION_TRAP:
		return "trap";
	case SANDBOX_ACTION_KILL:
		return "kill";
	case SANDBOX_ACTION_LOG:
		return "log";
	}
	return "?";
}

int sandbox_action_parse(const char *name, enum sandbox_action *out)
{
	static const enum sandbox_action all[] = { SANDBOX_ACTION_TRAP, SANDBOX_ACTION_KILL,
						   SANDBOX_ACTION_LOG };

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (!strcmp(name, sandbox_action_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the SIGSYS report (async-signal-safe: no stdio, no malloc, no locks) ---- */

static size_t sandbox_put(char *buf, size_t n, size_t cap, const char *s)
{
	while (*s && n + 1 < cap)
		buf[n++] = *s++;
	return n;
}

static size_t sandbox_put_uint(char *buf, size_t n, size_t cap, unsigned long v)
{
	char digits[24];
	size_t k = 0;

	do {
		digits[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && k < sizeof(digits));
	while (k && n + 1 < cap)
		buf[n++] = digits[--k];
	return n;
}

static size_t sandbox_put_hex(char *buf, size_t n, size_t cap, unsigned long long v)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 60;

	n = sandbox_put(buf, n, cap, "0x");
	while (shift > 0 && !((v >> shift) & 0xf))
		shift -= 4;
	for (; shift >= 0 && n + 1 < cap; shift -= 4)
		buf[n++] = hex[(v >> shift) & 0xf];
	return n;
}

/* The first two arguments of the trapped call (ioctl's request, socket's domain and type). */
static size_t sandbox_put_args(char *buf, size_t n, size_t cap, const void *uctx)
{
#if defined(__x86_64__)
	const ucontext_t *uc = uctx;

	n = sandbox_put(buf, n, cap, ", arguments ");
	n = sandbox_put_hex(buf, n, cap, (unsigned long long)uc->uc_mcontext.gregs[REG_RDI]);
	n = sandbox_put(buf, n, cap, ", ");
	n = sandbox_put_hex(buf, n, cap, (unsigned long long)uc->uc_mcontext.gregs[REG_RSI]);
#else
	(void)buf;
	(void)cap;
	(void)uctx;
#endif
	return n;
}

static void sandbox_on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	const char *thread = sandbox_thread_name ? sandbox_thread_name : "a thread";
	const char *name = NULL;
	char buf[320];
	size_t n = 0;

	(void)sig;
	if (si->si_arch == sandbox_st.arch && si->si_syscall >= 0 &&
	    si->si_syscall < SANDBOX_MAX_NR)
		name = sandbox_st.names[si->si_syscall];
	n = sandbox_put(buf, n, sizeof(buf), sandbox_st.journal ? "<2>" : "error: ");
	if (sandbox_st.vm_name[0]) {
		n = sandbox_put(buf, n, sizeof(buf), sandbox_st.vm_name);
		n = sandbox_put(buf, n, sizeof(buf), ": ");
	}
	n = sandbox_put(buf, n, sizeof(buf), "sandbox: ");
	n = sandbox_put(buf, n, sizeof(buf), thread);
	n = sandbox_put(buf, n, sizeof(buf), " made a system call its allow-list forbids: ");
	if (si->si_arch != sandbox_st.arch) {
		n = sandbox_put(buf, n, sizeof(buf), "number ");
		n = sandbox_put_uint(buf, n, sizeof(buf), (unsigned)si->si_syscall);
		n = sandbox_put(buf, n, sizeof(buf), " of another architecture");
	} else {
		n = sandbox_put(buf, n, sizeof(buf), name ? name : "unknown");
		n = sandbox_put(buf, n, sizeof(buf), " (");
		n = sandbox_put_uint(buf, n, sizeof(buf), (unsigned)si->si_syscall);
		n = sandbox_put_args(buf, n, sizeof(buf), uctx);
		n = sandbox_put(buf, n, sizeof(buf), ")");
	}
	n = sandbox_put(buf, n, sizeof(buf), "; the VMM stops with exit status ");
	n = sandbox_put_uint(buf, n, sizeof(buf), SANDBOX_EXIT_STATUS);
	n = sandbox_put(buf, n, sizeof(buf), " (docs/sandbox.md: extending the lists)");
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* nothing left to tell it to */
	}
	_exit(SANDBOX_EXIT_STATUS);
}

/* ---- building the filters ---- */

static int sandbox_add(scmp_filter_ctx ctx, const struct sandbox_rule *r, struct err *err)
{
	u32 action = r->enosys ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
	int ret = seccomp_rule_add_array(ctx, action, r->nr, r->nr_args, r->args);

	if (ret < 0) {
		char *name = seccomp_syscall_resolve_num_arch(seccomp_arch_native(), r->nr);

		err_set(err, ret, "sandbox: cannot add a rule for %s: %s", name ? name : "?",
			strerror(-ret));
		free(name);
	}
	return ret;
}

static int sandbox_add_group(scmp_filter_ctx ctx, const struct sandbox_group *g, struct err *err)
{
	for (size_t i = 0; i < g->nr_rules; i++) {
		int ret = sandbox_add(ctx, &g->rules[i], err);

		if (ret < 0) {
			err_prefix(err, "group %s", g->name);
			return ret;
		}
	}
	return 0;
}

/* ioctl(fd, req, ...) for each req of a 0-terminated list (NULL: none). */
static int sandbox_add_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, struct err *err)
{
	for (; reqs && *reqs; reqs++) {
		/* The kernel takes the request as an unsigned int: compare the low 32 bits. */
		struct sandbox_rule r = ALLOW_IF(ioctl, ARG_MASKED(1, 0xffffffffu, *reqs));
		int ret = sandbox_add(ctx, &r, err);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* The groups a kind's list is made of. Returns how many were written to out. */
static size_t sandbox_kind_groups(enum sandbox_kind kind, const struct sandbox_config *cfg,
				  const struct sandbox_group **out)
{
	static const struct sandbox_group base = GROUP("base", sandbox_base);
	static const struct sandbox_group device_io = GROUP("device-io", sandbox_device_io);
	static const struct sandbox_group loop = GROUP("loop", sandbox_loop);
	static const struct sandbox_group notify = GROUP("notify", sandbox_notify);
	static const struct sandbox_group build = GROUP("vm-build", sandbox_build);
	static const struct sandbox_group reboot = GROUP("reboot", sandbox_reboot);
	static const struct sandbox_group sanitizer = GROUP("sanitizer", sandbox_sanitizer);
	static const struct sandbox_group net_user = GROUP("net-user", sandbox_net_user);
	static const struct sandbox_group net_tap = GROUP("net-tap", sandbox_net_tap);
	static const struct sandbox_group worker = GROUP("worker", sandbox_worker);
	static const struct sandbox_group display = GROUP("display", sandbox_display);
	size_t n = 0;

	out[n++] = &base;
	out[n++] = &device_io;
	/* device code on either kind of thread sends the guest's frames (the worker runs none) */
	if ((cfg->net & SANDBOX_NET_USER) && kind != SANDBOX_KIND_WORKER)
		out[n++] = &net_user;
	if ((cfg->net & SANDBOX_NET_TAP) && kind != SANDBOX_KIND_WORKER)
		out[n++] = &net_tap;
	if (kind == SANDBOX_KIND_MAIN) {
		out[n++] = &loop;
		out[n++] = &reboot;
		if (getenv("NOTIFY_SOCKET"))
			out[n++] = &notify;
		if (cfg->rebuild)
			out[n++] = &build;
		if (cfg->display || cfg->rebuild)
			out[n++] = &display;
	}
	if (kind == SANDBOX_KIND_WORKER)
		out[n++] = &worker;
	if (SANDBOX_SANITIZER)
		out[n++] = &sanitizer;
	return n;
}

static int sandbox_accel_ioctls(scmp_filter_ctx ctx, enum sandbox_kind kind,
				const struct accel_sandbox *as, const struct sandbox_config *cfg,
				struct err *err)
{
	bool rebuild = cfg->rebuild;
	int ret = sandbox_add_ioctls(ctx, as->device_ioctls, err);

	if (!ret)
		ret = sandbox_add_ioctls(ctx, as->state_ioctls, err);
	if (!ret && (cfg->display || rebuild) && as->ram_ioctls)
		ret = sandbox_add_ioctls(ctx, as->ram_ioctls, err);
	/*
	 * vCPU threads created after lockdown (a VM built again) inherit the main list and stack
	 * their own on it: the main list must then allow what they do too.
	 */
	if (!ret && (kind == SANDBOX_KIND_VCPU || (kind == SANDBOX_KIND_MAIN && rebuild)))
		ret = sandbox_add_ioctls(ctx, as->vcpu_ioctls, err);
	if (!ret && kind == SANDBOX_KIND_MAIN && rebuild)
		ret = sandbox_add_ioctls(ctx, as->build_ioctls, err);
	if (!ret && (kind == SANDBOX_KIND_VCPU || (kind == SANDBOX_KIND_MAIN && rebuild)) &&
	    as->vcpu_exec_mappings) {
		static const struct sandbox_rule exec[] = { ALLOW(mmap), ALLOW(mprotect) };

		for (size_t i = 0; !ret && i < ARRAY_SIZE(exec); i++)
			ret = sandbox_add(ctx, &exec[i], err);
	}
	if (!ret && kind == SANDBOX_KIND_MAIN && rebuild && as->build_exec_mappings) {
		/* a second view of a memfd, executable but not writable (W^X holds) */
		static const struct sandbox_rule dual[] = {
			ALLOW_IF(memfd_create, ARG_EQ(1, MFD_CLOEXEC)),
			ALLOW_IF(mmap, ARG_MASKED(2, PROT_EXEC | PROT_WRITE, PROT_EXEC)),
		};

		for (size_t i = 0; !ret && i < ARRAY_SIZE(dual); i++)
			ret = sandbox_add(ctx, &dual[i], err);
	}
	return ret;
}

static int sandbox_kind_ioctls(scmp_filter_ctx ctx, enum sandbox_kind kind,
			       const struct sandbox_config *cfg, struct err *err)
{
	int ret = 0;

	if (kind == SANDBOX_KIND_MAIN)
		ret = sandbox_add_ioctls(ctx, sandbox_console_ioctls, err);
	if (!ret && (cfg->net & SANDBOX_NET_USER) && kind != SANDBOX_KIND_WORKER)
		ret = sandbox_add_ioctls(ctx, sandbox_net_user_ioctls, err);
	if (!ret && (cfg->net & SANDBOX_NET_TAP) && kind != SANDBOX_KIND_WORKER)
		ret = sandbox_add_ioctls(ctx, sandbox_net_tap_ioctls, err);
	if (!ret && kind == SANDBOX_KIND_MAIN && cfg->rebuild)
		ret = sandbox_add_ioctls(ctx, sandbox_net_tap_build_ioctls, err);
	for (unsigned i = 0; !ret && i < cfg->nr_accels; i++) {
		const struct accel_sandbox *as = cfg->accels[i]->sandbox;

		if (as)
			ret = sandbox_accel_ioctls(ctx, kind, as, cfg, err);
	}
	return ret;
}

static u32 sandbox_default_action(enum sandbox_action a)
{
	switch (a) {
	case SANDBOX_ACTION_KILL:
		return SCMP_ACT_KILL_PROCESS;
	case SANDBOX_ACTION_LOG:
		return SCMP_ACT_LOG;
	case SANDBOX_ACTION_TRAP:
		break;
	}
	return SCMP_ACT_TRAP;
}

/* Compile ctx to a BPF program in memory (libseccomp 2.5 exports only to a descriptor). */
static int sandbox_export(scmp_filter_ctx ctx, struct sock_fprog *prog, struct err *err)
{
	int fd = memfd_create("vmm-seccomp", MFD_CLOEXEC);
	off_t len;
	void *buf;
	int ret;

	if (fd < 0)
		return err_set(err, -errno, "sandbox: memfd_create: %s", strerror(errno));
	ret = seccomp_export_bpf(ctx, fd);
	if (ret < 0) {
		err_set(err, ret, "sandbox: cannot compile a filter: %s", strerror(-ret));
		goto out;
	}
	len = lseek(fd, 0, SEEK_END);
	if (len <= 0 || len % (off_t)sizeof(struct sock_filter) ||
	    len / (off_t)sizeof(struct sock_filter) > BPF_MAXINSNS) {
		ret = err_set(err, -E2BIG, "sandbox: the compiled filter has a bad size (%lld)",
			      (long long)len);
		goto out;
	}
	buf = malloc((size_t)len);
	if (!buf) {
		ret = err_set(err, -ENOMEM, "sandbox: out of memory");
		goto out;
	}
	if (pread(fd, buf, (size_t)len, 0) != len) {
		ret = err_set(err, -EIO, "sandbox: cannot read the compiled filter back");
		free(buf);
		goto out;
	}
	prog->filter = buf;
	prog->len = (unsigned short)(len / (off_t)sizeof(struct sock_filter));
	ret = 0;
out:
	close(fd);
	return ret;
}

static int sandbox_build_kind(enum sandbox_kind kind, const struct sandbox_config *cfg,
			      struct sock_fprog *prog, struct err *err)
{
	const struct sandbox_group *groups[14];
	u32 def = sandbox_default_action(cfg->action);
	scmp_filter_ctx ctx = seccomp_init(def);
	size_t nr_groups = sandbox_kind_groups(kind, cfg, groups);
	int ret;

	if (!ctx)
		return err_set(err, -ENOMEM, "sandbox: seccomp_init failed");
	/* no_new_privs is set once by sandbox_prepare; a call of another ABI gets the default. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!ret)
		ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, def);
	if (ret < 0) {
		err_set(err, ret, "sandbox: seccomp_attr_set: %s", strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < nr_groups && !ret; i++)
		ret = sandbox_add_group(ctx, groups[i], err);
	if (!ret) {
		/* kicks (KVM's signal) and abort(): only to threads of this process */
		struct sandbox_rule tgkill = ALLOW_IF(tgkill, ARG_EQ(0, (u64)getpid()));

		ret = sandbox_add(ctx, &tgkill, err);
	}
	if (!ret)
		ret = sandbox_kind_ioctls(ctx, kind, cfg, err);
	if (!ret)
		ret = sandbox_export(ctx, prog, err);
	if (ret < 0)
		err_prefix(err, "%s threads", sandbox_kinds[kind].name);
out:
	seccomp_release(ctx);
	return ret;
}

/* Resolve every system call name now: the SIGSYS handler cannot call libseccomp. */
static int sandbox_resolve_names(struct err *err)
{
	for (int nr = 0; nr < SANDBOX_MAX_NR; nr++) {
		char *name = seccomp_syscall_resolve_num_arch(sandbox_st.arch, nr);

		if (name && !strcmp(name, "UNKNOWN")) {
			free(name);
			name = NULL;
		}
		sandbox_st.names[nr] = name;
	}
	if (!sandbox_st.names[SCMP_SYS(read)])
		return err_set(err, -ENOSYS, "sandbox: libseccomp cannot name system calls");
	return 0;
}

static int sandbox_install_handler(struct err *err)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return err_set(err, -errno, "sandbox: sigaction(SIGSYS): %s", strerror(errno));
	return 0;
}

int sandbox_prepare(const struct sandbox_config *cfg, struct err *err)
{
	int ret;

	sandbox_release();
	snprintf(sandbox_st.vm_name, sizeof(sandbox_st.vm_name), "%s",
		 cfg->name ? cfg->name : "vmm");
	sandbox_st.probe = cfg->probe;
	sandbox_st.prepared = true;
	if (!cfg->enabled) {
		log_warn("%s: sandbox: off (\"sandbox\": false in the spec); system calls are not "
			 "filtered",
			 cfg->name);
		return 0;
	}
	if (cfg->action != SANDBOX_ACTION_TRAP && seccomp_api_get() < 3) {
		ret = err_set(err, -ENOTSUP,
			      "sandbox: the action \"%s\" needs a newer kernel or libseccomp "
			      "(API level 3, found %u)",
			      sandbox_action_name(cfg->action), seccomp_api_get());
		goto err_release;
	}
	sandbox_st.journal = log_journal_stream();
	sandbox_st.arch = seccomp_arch_native();
	ret = sandbox_resolve_names(err);
	for (unsigned k = 0; !ret && k < SANDBOX_NR_KINDS; k++)
		ret = sandbox_build_kind((enum sandbox_kind)k, cfg, &sandbox_st.progs[k], err);
	if (!ret)
		ret = sandbox_install_handler(err);
	if (!ret && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		ret = err_set(err, -errno, "sandbox: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	if (ret < 0)
		goto err_release;
	sandbox_st.enabled = true;
	log_info("%s: sandbox: on (action %s); %u system call filter instructions for the main "
		 "thread, %u for vCPU threads, %u for the worker%s",
		 cfg->name, sandbox_action_name(cfg->action),
		 sandbox_st.progs[SANDBOX_KIND_MAIN].len, sandbox_st.progs[SANDBOX_KIND_VCPU].len,
		 sandbox_st.progs[SANDBOX_KIND_WORKER].len,
		 cfg->rebuild ? "; the main thread may rebuild the VM on a reset" : "");
	return 0;

err_release:
	sandbox_release();
	return ret;
}

int sandbox_prepare_vm(const struct vm_spec *spec, const struct accel_ops *accel, bool api,
		       enum sandbox_action action, struct err *err)
{
	static const enum sandbox_probe probes[] = {
		[SPEC_FORBIDDEN_SYSCALL_NONE] = SANDBOX_PROBE_NONE,
		[SPEC_FORBIDDEN_SYSCALL_MAIN] = SANDBOX_PROBE_MAIN,
		[SPEC_FORBIDDEN_SYSCALL_VCPU] = SANDBOX_PROBE_VCPU,
	};
	struct sandbox_config cfg = {
		.enabled = !spec->sandbox_off,
		.action = action,
		.rebuild = api,
		.display = spec->display.type != DISPLAY_NONE,
		.probe = probes[spec->debug.forbidden_syscall],
		.name = spec->name,
	};

	for (unsigned i = 0; i < spec->nr_nics; i++)
		cfg.net |= spec->nics[i].backend == NIC_BACKEND_TAP ? SANDBOX_NET_TAP :
								      SANDBOX_NET_USER;

	if (sandbox_st.prepared) {
		/* A VM created through the API after the first: the filters are in place. */
		sandbox_st.probe = cfg.probe;
		if (cfg.enabled != sandbox_st.enabled)
			log_warn("%s: sandbox: \"sandbox\": %s has no effect on a VM created after "
				 "the first; the sandbox stays %s in this process",
				 spec->name, cfg.enabled ? "true" : "false",
				 sandbox_st.enabled ? "on" : "off");
		return 0;
	}
	if (api) {
		/* a VM the API creates later (or vm.add-net) may have NICs of either kind */
		cfg.net = SANDBOX_NET_USER | SANDBOX_NET_TAP;
		cfg.accels[cfg.nr_accels++] = &accel_kvm;
		cfg.accels[cfg.nr_accels++] = &accel_bt;
	} else {
		cfg.accels[cfg.nr_accels++] = accel;
	}
	return sandbox_prepare(&cfg, err);
}

/*
 * debug.forbidden_syscall: open a netlink socket (the host's routes and interfaces), which no
 * thread kind's list allows, whatever the VM has (a NIC's back end may open TCP sockets).
 */
static void sandbox_run_probe(enum sandbox_kind kind, const char *thread_name)
{
	bool mine = (kind == SANDBOX_KIND_MAIN && sandbox_st.probe == SANDBOX_PROBE_MAIN) ||
		    (kind == SANDBOX_KIND_VCPU && sandbox_st.probe == SANDBOX_PROBE_VCPU &&
		     !strcmp(thread_name, "vcpu0"));
	int fd;

	if (!mine)
		return;
	log_warn("%s: debug.forbidden_syscall: %s opens a netlink socket, which the sandbox "
		 "forbids",
		 sandbox_st.vm_name, thread_name);
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd >= 0) {
		log_warn("%s: debug.forbidden_syscall: %s was allowed to (the sandbox is off)",
			 sandbox_st.vm_name, thread_name);
		close(fd);
	}
}

bool sandbox_confined(void)
{
	return sandbox_locked && sandbox_st.enabled;
}

int sandbox_lockdown(enum sandbox_kind kind, const char *thread_name)
{
	int ret = 0;

	if (sandbox_locked || !sandbox_st.prepared)
		return 0;
	sandbox_locked = true;
	sandbox_thread_name = thread_name;
	/*
	 * The worker is older than sandbox_prepare: it has not inherited no_new_privs (and no
	 * filter of the main thread that would forbid prctl).
	 */
	if (sandbox_st.enabled && kind == SANDBOX_KIND_WORKER &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_err("%s: sandbox: %s: PR_SET_NO_NEW_PRIVS: %s", sandbox_st.vm_name, thread_name,
			strerror(errno));
		return -errno;
	}
	if (sandbox_st.enabled &&
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sandbox_st.progs[kind]) < 0) {
		ret = -errno;
		log_err("%s: sandbox: %s: the kernel refused the filter: %s", sandbox_st.vm_name,
			thread_name, strerror(errno));
		return ret;
	}
	if (sandbox_st.enabled)
		log_dbg(LOG_CAT_DEV, "%s: sandbox: %s locked down (%s list)", sandbox_st.vm_name,
			thread_name, sandbox_kinds[kind].name);
	sandbox_run_probe(kind, thread_name);
	return 0;
}

void sandbox_release(void)
{
	for (unsigned k = 0; k < SANDBOX_NR_KINDS; k++) {
		free(sandbox_st.progs[k].filter);
		sandbox_st.progs[k].filter = NULL;
		sandbox_st.progs[k].len = 0;
	}
	for (unsigned nr = 0; nr < SANDBOX_MAX_NR; nr++) {
		free(sandbox_st.names[nr]);
		sandbox_st.names[nr] = NULL;
	}
	sandbox_st.enabled = false;
	sandbox_st.prepared = false;
}
