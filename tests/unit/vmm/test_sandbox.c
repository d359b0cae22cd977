// SPDX-License-Identifier: MIT
/*
 * The seccomp sandbox's allow-lists, table-driven: each case forks a child that builds the
 * filters (sandbox_prepare), locks itself down as one thread kind and makes one system call;
 * the parent checks that allowed calls go through (exit 0) and forbidden ones end the child
 * with SANDBOX_EXIT_STATUS and a report on stderr naming the call. No VM, no accelerator:
 * a fake accel_ops carries the ioctl lists.
 */
#include "vmm/sandbox.h"

#include "vmm/accel.h"
#include "vmm/base/err.h"
#include "vmm/base/log.h"
#include "vmm/spec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define TEST_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_SANITIZER 1
#endif
#endif
#ifndef TEST_SANITIZER
#define TEST_SANITIZER 0
#endif

#define TEST_IOCTL_VCPU	  0x8090ae81ul /* bit 31 set: the filter must compare 32 bits */
#define TEST_IOCTL_DEVICE 0x4020ae46ul
#define TEST_IOCTL_BUILD  0xae01ul
#define TEST_IOCTL_STATE  0x4400ae8ful
#define TEST_IOCTL_OTHER  0xae02ul
#define TEST_IOCTL_RAM	  0x4020ae47ul

/* What the call returned in the child when it was allowed but failed (exit codes). */
#define CHILD_CALL_FAILED 10

static const unsigned long test_vcpu_ioctls[] = { TEST_IOCTL_VCPU, 0 };
static const unsigned long test_device_ioctls[] = { TEST_IOCTL_DEVICE, 0 };
static const unsigned long test_build_ioctls[] = { TEST_IOCTL_BUILD, 0 };
static const unsigned long test_state_ioctls[] = { TEST_IOCTL_STATE, 0 };
static const unsigned long test_ram_ioctls[] = { TEST_IOCTL_RAM, 0 };

static struct accel_sandbox test_accel_sandbox = {
	.vcpu_ioctls = test_vcpu_ioctls,
	.state_ioctls = test_state_ioctls,
	.device_ioctls = test_device_ioctls,
	.build_ioctls = test_build_ioctls,
	.ram_ioctls = test_ram_ioctls,
};
static const struct accel_ops test_accel = { .name = "test", .sandbox = &test_accel_sandbox };

/* sandbox_prepare_vm names every accelerator for a VMM that serves the API. */
static const unsigned long test_kvm_vcpu_ioctls[] = { 0xae80ul, 0 };
static const struct accel_sandbox test_kvm_sandbox = { .vcpu_ioctls = test_kvm_vcpu_ioctls };
const struct accel_ops accel_kvm = { .name = "kvm", .sandbox = &test_kvm_sandbox };
const struct accel_ops accel_bt = { .name = "bt" };

typedef int (*child_fn)(void);

struct child_result {
	int status; /* waitpid's */
	char err[2048];
};

/*
 * In a forked child: the default action for the signals cmocka catches. Its handlers would
 * take a child that faults (int 0x80 where the kernel has no 32-bit system calls) back into the
 * test runner, which would go on running the remaining cases in the child, on stdout.
 */
static void child_default_signals(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };

	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
}

/* Fork; the child prepares cfg, locks down as kind and returns fn()'s value as its status. */
static void run_child(const struct sandbox_config *cfg, enum sandbox_kind kind, child_fn fn,
		      struct child_result *out)
{
	int pipefd[2];
	pid_t pid;
	ssize_t n;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(pipe(pipefd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct err err = { 0 };

		child_default_signals();
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[0]);
		if (sandbox_prepare(cfg, &err) < 0) {
			fprintf(stderr, "prepare: %s\n", err.msg);
			_exit(20);
		}
		if (sandbox_lockdown(kind, "tester") < 0)
			_exit(21);
		_exit(fn());
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], out->err + len, sizeof(out->err) - 1 - len)) > 0)
		len += (size_t)n;
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &out->status, 0), pid);
}

static struct sandbox_config test_cfg(void)
{
	struct sandbox_config cfg = {
		.enabled = true,
		.action = SANDBOX_ACTION_TRAP,
		.accels = { &test_accel },
		.nr_accels = 1,
		.name = "t",
	};
	return cfg;
}

static void expect_allowed(const struct sandbox_config *cfg, enum sandbox_kind kind, child_fn fn,
			   const char *what)
{
	struct child_result r;

	run_child(cfg, kind, fn, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0)
		fail_msg("%s: expected allowed, got status %#x, stderr: %s", what, r.status, r.err);
}

static void expect_forbidden(const struct sandbox_config *cfg, enum sandbox_kind kind, child_fn fn,
			     const char *report)
{
	struct child_result r;

	run_child(cfg, kind, fn, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != SANDBOX_EXIT_STATUS)
		fail_msg("%s: expected exit %d, got status %#x, stderr: %s", report,
			 SANDBOX_EXIT_STATUS, r.status, r.err);
	if (!strstr(r.err, "sandbox: tester made a system call its allow-list forbids: ") ||
	    !strstr(r.err, report))
		fail_msg("report lacks '%s': %s", report, r.err);
}

/* ---- the calls ---- */

static int call_basics(void)
{
	char c = 'x';
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct timespec ts;

	if (p == MAP_FAILED || mprotect(p, 4096, PROT_READ) < 0 || munmap(p, 65536) < 0)
		return CHILD_CALL_FAILED;
	if (syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) < 0 || getpid() <= 0)
		return CHILD_CALL_FAILED + 1;
	free(malloc(1 << 20)); /* large: mmap by malloc */
	if (syscall(SYS_gettid) <= 0 || sched_yield() < 0)
		return CHILD_CALL_FAILED + 2;
	if (write(STDERR_FILENO, &c, 0) < 0)
		return CHILD_CALL_FAILED + 3;
	return 0;
}

static int call_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? CHILD_CALL_FAILED : 0;
}

static int call_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return CHILD_CALL_FAILED;
	return mprotect(p, 4096, PROT_READ | PROT_EXEC) < 0 ? CHILD_CALL_FAILED + 1 : 0;
}

/* The BT JIT's code buffer: one memfd, a writable view and an executable one. */
static int call_dual_map(void)
{
	int fd = memfd_create("test-jit", MFD_CLOEXEC);
	void *rw, *rx;

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return CHILD_CALL_FAILED;
	rw = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rx = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	return rw == MAP_FAILED || rx == MAP_FAILED ? CHILD_CALL_FAILED + 1 : 0;
}

static int call_mmap_wx(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? CHILD_CALL_FAILED : 0;
}

static int call_tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	return fd < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_unix_dgram_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return fd < 0 ? CHILD_CALL_FAILED : 0;
}

/* A listed request on a closed descriptor: allowed through the filter, EBADF from the kernel. */
static int call_ioctl(unsigned long req)
{
	return ioctl(-1, req, 0) < 0 && errno == EBADF ? 0 : CHILD_CALL_FAILED;
}

static int call_ioctl_vcpu(void)
{
	return call_ioctl(TEST_IOCTL_VCPU);
}

static int call_ioctl_device(void)
{
	return call_ioctl(TEST_IOCTL_DEVICE);
}

static int call_ioctl_build(void)
{
	return call_ioctl(TEST_IOCTL_BUILD);
}

static int call_ioctl_state(void)
{
	return call_ioctl(TEST_IOCTL_STATE);
}

static int call_ioctl_ram(void)
{
	return call_ioctl(TEST_IOCTL_RAM);
}

/* libvncserver's poll of its clients: select with a zero timeout (pselect6 in glibc). */
static int call_select(void)
{
	struct timeval tv = { 0 };
	fd_set fds;

	FD_ZERO(&fds);
	FD_SET(STDERR_FILENO, &fds);
	return select(STDERR_FILENO + 1, NULL, &fds, NULL, &tv) < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_getpeername(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	return getpeername(-1, (struct sockaddr *)&ss, &len) < 0 && errno == EBADF ?
		       0 :
		       CHILD_CALL_FAILED;
}

static int call_ioctl_kvm_vcpu(void)
{
	return call_ioctl(0xae80ul);
}

static int call_ioctl_other(void)
{
	return call_ioctl(TEST_IOCTL_OTHER);
}

static int call_ioctl_tcgets(void)
{
	return call_ioctl(TCGETS);
}

static int call_ioctl_fionread(void)
{
	return call_ioctl(FIONREAD);
}

static int call_ioctl_tunsetoffload(void)
{
	return call_ioctl(TUNSETOFFLOAD);
}

/* What slirp does for a guest's TCP flow: a socket, non-blocking, connected (refused). */
static int call_tcp_connect(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), fl;

	if (fd < 0)
		return CHILD_CALL_FAILED;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return CHILD_CALL_FAILED + 1;
	/* port 0 is never listened on: ECONNREFUSED, or EINPROGRESS for a non-blocking socket */
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return CHILD_CALL_FAILED + 2;
	return close(fd) < 0 ? CHILD_CALL_FAILED + 3 : 0;
}

static int call_netlink_socket(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	return fd < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_epoll_wait(void)
{
	struct epoll_event ev;

	/* -1: EBADF when allowed */
	return epoll_wait(-1, &ev, 1, 0) < 0 && errno == EBADF ? 0 : CHILD_CALL_FAILED;
}

static int call_openat(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	return fd < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_openat_write(void)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);

	return fd < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_openat_create(void)
{
	/* O_RDONLY | O_CREAT would make a file: a read-only open must not */
	int fd = open("/nonexistent-vmm-test", O_RDONLY | O_CREAT | O_CLOEXEC, 0600);

	return fd < 0 && errno != ENOENT && errno != EACCES && errno != EROFS ? CHILD_CALL_FAILED :
										0;
}

static int call_mkdir_rename(void)
{
	/* The calls are made; their results (EEXIST, ENOENT) do not matter. */
	if (mkdir("/", 0700) == 0 || rename("/nonexistent-vmm-a", "/nonexistent-vmm-b") == 0)
		return CHILD_CALL_FAILED;
	return 0;
}

static int call_execve(void)
{
	char *argv[] = { (char *)"/bin/true", NULL };

	execve(argv[0], argv, NULL);
	return CHILD_CALL_FAILED;
}

static int call_tgkill_other(void)
{
	/* pid 1 is never us; a signal number of 0 only checks, if the filter let it through */
	return syscall(SYS_tgkill, 1, 1, 0) < 0 && errno != EPERM && errno != ESRCH ?
		       CHILD_CALL_FAILED :
		       0;
}

static int call_tgkill_self(void)
{
	return syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), 0) < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_clone_process(void)
{
	/* a new process (no CLONE_THREAD): what fork() does */
	long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);

	if (pid == 0)
		_exit(0);
	return pid < 0 ? CHILD_CALL_FAILED : 0;
}

static int call_clone3(void)
{
	struct clone_args args = { .exit_signal = SIGCHLD };
	long pid = syscall(SYS_clone3, &args, sizeof(args));

	if (pid == 0)
		_exit(0);
	/* the sandbox answers ENOSYS so glibc falls back to clone(), whose flags it can see */
	return pid < 0 && errno == ENOSYS ? 0 : CHILD_CALL_FAILED;
}

/* int 0x80 with __NR_getpid of the i386 ABI (20): a call of another architecture */
static int call_int80(void)
{
	long ret = 20;

	__asm__ volatile("int $0x80" : "+a"(ret) : : "memory");
	return ret > 0 ? 0 : CHILD_CALL_FAILED;
}

/* ---- the cases ---- */

static void test_basics_allowed_on_every_kind(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_basics, "main basics");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_basics, "vcpu basics");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_tgkill_self, "main tgkill self");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_tgkill_self, "vcpu tgkill self");
}

static void test_no_executable_memory(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_mmap_exec, "mmap (9");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_mmap_exec, "mmap (9");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_mprotect_exec, "mprotect (10");
	/* a JIT that flips W^X asks for it on vCPU threads only */
	test_accel_sandbox.vcpu_exec_mappings = true;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_mmap_exec, "vcpu mmap exec with a JIT");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_mprotect_exec, "vcpu mprotect exec with JIT");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_mprotect_exec, "mprotect (10");
	test_accel_sandbox.vcpu_exec_mappings = false;
	/* a JIT with a dual-mapped buffer: only a VM built again after lockdown maps one */
	test_accel_sandbox.build_exec_mappings = true;
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_dual_map, "memfd_create (319");
	cfg.rebuild = true;
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_dual_map, "rebuild: dual-mapped code buffer");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_mmap_wx, "mmap (9");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_mprotect_exec, "mprotect (10");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_dual_map, "memfd_create (319");
	test_accel_sandbox.build_exec_mappings = false;
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_dual_map, "memfd_create (319");
}

static void test_network_and_exec_forbidden(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_tcp_socket,
			 "socket (41, arguments 0x2, 0x1");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_tcp_socket, "socket (41");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_execve, "execve (59");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_execve, "execve (59");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_tgkill_other, "tgkill (234, arguments 0x1");
}

static void test_ioctls_by_kind(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_vcpu, "vcpu: vcpu ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_device, "vcpu: device ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_device, "main: device ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_state, "main: state ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_state, "vcpu: state ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_tcgets, "main: terminal ioctl");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_ioctl_vcpu, "ioctl (16, arguments");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_tcgets, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_build, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_ioctl_build, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_other, ", 0xae02)");
}

/* A NIC's back end adds its group to both kinds: device code on either sends the frames. */
static void test_net_backends(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	cfg.net = SANDBOX_NET_USER;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_tcp_connect, "user: vcpu TCP flow");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_tcp_connect, "user: main TCP flow");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_openat, "user: resolv.conf");
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_fionread, "user: FIONREAD");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_tunsetoffload, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_netlink_socket,
			 "socket (41, arguments 0x10");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_unix_dgram_socket,
			 "socket (41, arguments 0x1");
	if (!TEST_SANITIZER)
		expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_openat_write, "openat (257");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_execve, "execve (59");
	cfg.net = SANDBOX_NET_TAP;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_tunsetoffload, "tap: offloads");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_tunsetoffload, "tap: main offloads");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_tcp_socket, "socket (41, arguments 0x2");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_fionread, "ioctl (16");
}

/* The worker (snapshot files, a migration's stream): what it needs and nothing of the rest. */
static void test_worker_list(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	cfg.rebuild = true; /* the worker exists with the control API */
	expect_allowed(&cfg, SANDBOX_KIND_WORKER, call_tcp_socket, "worker: TCP socket");
	expect_allowed(&cfg, SANDBOX_KIND_WORKER, call_openat_write, "worker: open for writing");
	expect_allowed(&cfg, SANDBOX_KIND_WORKER, call_mkdir_rename, "worker: mkdir, rename");
	expect_allowed(&cfg, SANDBOX_KIND_WORKER, call_ioctl_state, "worker: state ioctl");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_unix_dgram_socket, "socket (41");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_execve, "execve (59");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_epoll_wait, "epoll_wait (232");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_ioctl_vcpu, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_ioctl_build, "ioctl (16");
	/* a NIC's groups are the device threads', never the worker's */
	cfg.net = SANDBOX_NET_USER | SANDBOX_NET_TAP;
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_ioctl_fionread, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_WORKER, call_ioctl_tunsetoffload, "ioctl (16");
	cfg.net = 0;
	/* the main thread still opens no network socket */
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_tcp_socket, "socket (41");
}

static void test_loop_calls_are_main_only(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_epoll_wait, "main epoll_wait");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_epoll_wait, "epoll_wait (232");
}

/*
 * A VM with a display maps device RAM while it runs (the framebuffer BAR, from a vCPU's
 * config write) and serves VNC on the main loop; a VM without one may do neither.
 */
static void test_display_calls_only_with_a_display(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_ioctl_ram, "ioctl (16");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_select, "pselect6 (270");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_getpeername, "getpeername (52");
	cfg.display = true;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_ioctl_ram, "display: ram ioctl on a vCPU");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_ram, "display: ram ioctl on main");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_select, "display: select on main");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_getpeername, "display: getpeername on main");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_select, "pselect6 (270");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_tcp_socket, "socket (41");
}

static void test_reboot_reads_rebuild_builds(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	/* a reset in place reads the boot files again: read-only opens on the main thread */
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_openat, "main: read-only open");
	if (!TEST_SANITIZER) { /* LeakSanitizer needs open/openat and clone: allowed there */
		expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_openat_write, "openat (257");
		expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_openat_create, "openat (257");
		expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_openat, "openat (257");
	}
	/* a VMM that serves the API may create another VM after lockdown */
	cfg.rebuild = true;
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_openat_write, "rebuild: open for writing");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_build, "rebuild: build ioctl");
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_clone3, "rebuild: clone3 -> ENOSYS");
	/* vCPU threads created now inherit the main list: it must allow what they do */
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_ioctl_vcpu, "rebuild: vcpu ioctl on main");
	if (!TEST_SANITIZER) {
		expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_clone_process, "clone (56");
		expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_openat_write, "openat (257");
	}
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_execve, "execve (59");
}

static int prepare_spec_child(const struct vm_spec *spec, bool api, enum sandbox_kind kind,
			      child_fn fn)
{
	struct err err = { 0 };
	int fds[2];
	pid_t pid;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child_default_signals();
		dup2(fds[1], STDERR_FILENO);
		if (sandbox_prepare_vm(spec, &test_accel, api, SANDBOX_ACTION_TRAP, &err) < 0 ||
		    sandbox_lockdown(kind, "tester") < 0)
			_exit(20);
		_exit(fn());
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int prepare_vm_child(bool api, enum sandbox_kind kind, child_fn fn)
{
	struct vm_spec spec = { .name = (char *)"t" };

	return prepare_spec_child(&spec, api, kind, fn);
}

static void test_prepare_vm_lists_by_mode(void **state)
{
	(void)state;
	/* one VM from the command line: its accelerator's lists only, no rebuilding */
	assert_int_equal(prepare_vm_child(false, SANDBOX_KIND_VCPU, call_ioctl_vcpu), 0);
	assert_int_equal(prepare_vm_child(false, SANDBOX_KIND_VCPU, call_ioctl_kvm_vcpu),
			 SANDBOX_EXIT_STATUS);
	if (!TEST_SANITIZER)
		assert_int_equal(prepare_vm_child(false, SANDBOX_KIND_MAIN, call_openat_write),
				 SANDBOX_EXIT_STATUS);
	/* the API may create a VM on another accelerator later: every accelerator, rebuilding */
	assert_int_equal(prepare_vm_child(true, SANDBOX_KIND_VCPU, call_ioctl_kvm_vcpu), 0);
	assert_int_equal(prepare_vm_child(true, SANDBOX_KIND_MAIN, call_openat_write), 0);
	/* NICs: a VM's back ends decide the net groups; the API's VMs may have either */
	assert_int_equal(prepare_vm_child(false, SANDBOX_KIND_VCPU, call_tcp_connect),
			 SANDBOX_EXIT_STATUS);
	assert_int_equal(prepare_vm_child(true, SANDBOX_KIND_VCPU, call_tcp_connect), 0);
	assert_int_equal(prepare_vm_child(true, SANDBOX_KIND_MAIN, call_ioctl_tunsetoffload), 0);
	{
		struct nic_spec nics[2] = { { .backend = NIC_BACKEND_TAP } };
		struct vm_spec spec = { .name = (char *)"t", .nics = nics, .nr_nics = 1 };

		assert_int_equal(prepare_spec_child(&spec, false, SANDBOX_KIND_VCPU,
						    call_ioctl_tunsetoffload),
				 0);
		assert_int_equal(
			prepare_spec_child(&spec, false, SANDBOX_KIND_VCPU, call_tcp_connect),
			SANDBOX_EXIT_STATUS);
		nics[1].backend = NIC_BACKEND_USER;
		spec.nr_nics = 2;
		assert_int_equal(
			prepare_spec_child(&spec, false, SANDBOX_KIND_VCPU, call_tcp_connect), 0);
	}
}

static void test_notify_socket_only_under_systemd(void **state)
{
	struct sandbox_config cfg = test_cfg();

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_unix_dgram_socket,
			 "socket (41, arguments "
			 "0x1, 0x80002");
	setenv("NOTIFY_SOCKET", "/run/test-notify", 1);
	expect_allowed(&cfg, SANDBOX_KIND_MAIN, call_unix_dgram_socket, "main: notify socket");
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_tcp_socket, "socket (41");
	expect_forbidden(&cfg, SANDBOX_KIND_VCPU, call_unix_dgram_socket, "socket (41");
	unsetenv("NOTIFY_SOCKET");
}

static void test_other_architecture_trapped(void **state)
{
	struct sandbox_config cfg = test_cfg();
	struct sandbox_config off = test_cfg();
	struct child_result r;

	(void)state;
	/* Does this kernel run i386 system calls at all (IA32 emulation)? */
	off.enabled = false;
	run_child(&off, SANDBOX_KIND_MAIN, call_int80, &r);
	if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
		print_message("skipped: this kernel has no 32-bit system calls (int 0x80)\n");
		skip();
	}
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_int80, "number 20 of another architecture");
}

static void test_off_filters_nothing(void **state)
{
	struct sandbox_config cfg = test_cfg();
	struct child_result r;

	(void)state;
	cfg.enabled = false;
	run_child(&cfg, SANDBOX_KIND_VCPU, call_execve, &r);
	/* execve of /bin/true succeeded: the child became true and exited 0 */
	assert_true(WIFEXITED(r.status));
	assert_int_equal(WEXITSTATUS(r.status), 0);
	assert_non_null(strstr(r.err, "t: sandbox: off"));
}

static void test_kill_action(void **state)
{
	struct sandbox_config cfg = test_cfg();
	struct child_result r;

	(void)state;
	cfg.action = SANDBOX_ACTION_KILL;
	run_child(&cfg, SANDBOX_KIND_VCPU, call_tcp_socket, &r);
	assert_true(WIFSIGNALED(r.status));
	assert_int_equal(WTERMSIG(r.status), SIGSYS);
}

static int call_nothing(void)
{
	return 0;
}

static void test_probe_makes_the_forbidden_call(void **state)
{
	struct sandbox_config cfg = test_cfg();
	struct child_result r;

	(void)state;
	cfg.probe = SANDBOX_PROBE_MAIN;
	expect_forbidden(&cfg, SANDBOX_KIND_MAIN, call_nothing, "socket (41");
	/* the vCPU probe is vcpu0's: "tester" is not a vCPU name, so nothing happens */
	cfg.probe = SANDBOX_PROBE_VCPU;
	expect_allowed(&cfg, SANDBOX_KIND_VCPU, call_nothing, "vcpu probe on another thread");
	cfg.enabled = false;
	cfg.probe = SANDBOX_PROBE_MAIN;
	run_child(&cfg, SANDBOX_KIND_MAIN, call_nothing, &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "was allowed to (the sandbox is off)"));
}

static void test_action_names(void **state)
{
	enum sandbox_action a;

	(void)state;
	assert_int_equal(sandbox_action_parse("kill", &a), 0);
	assert_int_equal(a, SANDBOX_ACTION_KILL);
	assert_string_equal(sandbox_action_name(SANDBOX_ACTION_LOG), "log");
	assert_int_equal(sandbox_action_parse("errno", &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics_allowed_on_every_kind),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_network_and_exec_forbidden),
		cmocka_unit_test(test_ioctls_by_kind),
		cmocka_unit_test(test_net_backends),
		cmocka_unit_test(test_loop_calls_are_main_only),
		cmocka_unit_test(test_display_calls_only_with_a_display),
		cmocka_unit_test(test_reboot_reads_rebuild_builds),
		cmocka_unit_test(test_worker_list),
		cmocka_unit_test(test_prepare_vm_lists_by_mode),
		cmocka_unit_test(test_notify_socket_only_under_systemd),
		cmocka_unit_test(test_other_architecture_trapped),
		cmocka_unit_test(test_off_filters_nothing),
		cmocka_unit_test(test_kill_action),
		cmocka_unit_test(test_probe_makes_the_forbidden_call),
		cmocka_unit_test(test_action_names),
	};

	log_min_level = LOG_LEVEL_WARN;
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
