// SPDX-License-Identifier: MIT
/*
 * The serial console's local files and sockets (src/vmm/console.c) against other local
 * processes: the unix socket's mode and who may connect, a stale socket replaced and a live
 * one refused without races, closing removes only our own socket, and the file target's
 * symbolic links, hard links and mode. Each test works in a fresh temporary folder.
 */
#include "vmm/console.h"

#include "tmpdir.h"
#include "vmm/loop.h"
#include "vmm/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static int fx_setup(void **state)
{
	return test_tmpdir_setup(state, "test-console", "serial.sock");
}

static int fx_teardown(void **state)
{
	return test_tmpdir_teardown(state);
}

static int open_unix(const char *path, struct console **c, struct err *e)
{
	struct serial_spec spec = { .target = SERIAL_UNIX, .path = (char *)path };

	return console_open(&spec, "test", c, e);
}

/* A socket listening at path (listen) or bound and closed again (a stale one). */
static int other_socket(const char *path, bool listen_on)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (!listen_on) {
		close(fd);
		return -1;
	}
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int try_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), ret;

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&a, sizeof(a));
	if (ret < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? st.st_ino : 0;
}

/* Mode 0600 whatever the umask (before: 0777 & ~umask, so anyone under umask 0). */
static void test_socket_mode_0600(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	mode_t old = umask(0);
	struct stat st;

	assert_int_equal(open_unix(f->path, &c, &e), 0);
	umask(old);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0600);
	console_close(c);
	assert_int_equal(ino_of(f->path), 0); /* removed at close */
}

/* A socket from an earlier run that nobody listens on is replaced; a live one is refused and
 * left alone (before, it was unlinked and its owner lost the name). */
static void test_stale_replaced_live_refused(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	ino_t stale, live;
	int lfd, cfd;

	other_socket(f->path, false);
	stale = ino_of(f->path);
	assert_int_equal(open_unix(f->path, &c, &e), 0);
	assert_true(ino_of(f->path) != stale);
	cfd = try_connect(f->path);
	assert_true(cfd >= 0);
	close(cfd);
	console_close(c);

	lfd = other_socket(f->path, true);
	live = ino_of(f->path);
	assert_int_equal(open_unix(f->path, &c, &e), -EADDRINUSE);
	assert_non_null(strstr(e.msg, "another process serves this socket"));
	assert_int_equal(ino_of(f->path), live);
	cfd = try_connect(f->path);
	assert_true(cfd >= 0);
	close(cfd);
	close(lfd);
}

/* Something that is not a socket at the path (a file, a symbolic link to a socket) is refused
 * and kept. */
static void test_not_a_socket_refused(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	char target[160];
	int fd = open(f->path, O_WRONLY | O_CREAT, 0644);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(open_unix(f->path, &c, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "not a socket"));
	assert_int_equal(unlink(f->path), 0);
	snprintf(target, sizeof(target), "%s/real.sock", f->dir);
	other_socket(target, false);
	assert_int_equal(symlink(target, f->path), 0);
	assert_int_equal(open_unix(f->path, &c, &e), -EEXIST);
	assert_true(ino_of(target) != 0);
}

/* Close removes the socket only if it is still ours (before: whatever had the name). */
static void test_close_leaves_foreign_socket(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	ino_t theirs;
	int lfd;

	assert_int_equal(open_unix(f->path, &c, &e), 0);
	assert_int_equal(unlink(f->path), 0);
	lfd = other_socket(f->path, true);
	theirs = ino_of(f->path);
	console_close(c);
	assert_int_equal(ino_of(f->path), theirs);
	close(lfd);
}

struct racer {
	const char *path;
	pthread_barrier_t *go;
	struct console *c;
	int ret;
};

static void *race_open(void *arg)
{
	struct racer *r = arg;
	struct err e = { 0 };

	pthread_barrier_wait(r->go);
	r->ret = open_unix(r->path, &r->c, &e);
	return NULL;
}

/*
 * Two VMMs started at once on the same path over a stale socket: exactly one gets it, and the
 * socket at the path is the winner's, live (before, both could succeed, one of them listening
 * on a socket nobody could reach any more).
 */
static void test_two_starters_race(void **state)
{
	struct test_tmpdir *f = *state;
	unsigned both = 0, none = 0;

	for (unsigned i = 0; i < 300; i++) {
		pthread_barrier_t go;
		struct racer r[2] = { { .path = f->path, .go = &go },
				      { .path = f->path, .go = &go } };
		pthread_t t[2];
		int cfd;

		other_socket(f->path, false);
		pthread_barrier_init(&go, NULL, 2);
		for (unsigned k = 0; k < 2; k++)
			assert_int_equal(pthread_create(&t[k], NULL, race_open, &r[k]), 0);
		for (unsigned k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&go);
		both += r[0].ret == 0 && r[1].ret == 0;
		none += r[0].ret != 0 && r[1].ret != 0;
		cfd = try_connect(f->path);
		if (cfd >= 0)
			close(cfd);
		else
			none++; /* nobody reachable at the path */
		for (unsigned k = 0; k < 2; k++)
			if (r[k].ret == 0)
				console_close(r[k].c);
		unlink(f->path);
	}
	assert_int_equal(both, 0);
	assert_int_equal(none, 0);
}

static size_t sink_input(void *opaque, const u8 *buf, size_t len)
{
	(void)opaque;
	(void)buf;
	return len;
}

static void sink_quit(void *opaque)
{
	(void)opaque;
}

/* A client connecting as another user: run as uid 65534 with the socket opened up to 0666. */
static int connect_as_nobody(const char *path)
{
	struct timeval tv = { .tv_sec = 3 };
	char b;
	pid_t pid = fork();
	int fd;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		fd = try_connect(path);
		if (fd < 0)
			_exit(3);
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		_exit(read(fd, &b, 1) == 0 ? 0 : 1); /* 0: the VMM hung up on us */
	}
	return pid;
}

/*
 * SO_PEERCRED: another user's client is hung up on at once, even through a socket whose mode
 * was opened up; ours is served. Needs root (to be another user); skipped otherwise.
 */
static void test_peer_uid_checked(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct loop *l;
	struct err e = { 0 };
	char b[64];
	pid_t pid;
	int st = -1, fd;

	if (geteuid() != 0) {
		print_message("SKIP: not root, cannot connect as another user\n");
		skip();
	}
	assert_int_equal(chmod(f->dir, 0755), 0);
	assert_int_equal(open_unix(f->path, &c, &e), 0);
	assert_int_equal(loop_create(&l), 0);
	assert_int_equal(console_attach(c, l, sink_input, sink_quit, NULL), 0);
	console_write(c, "hello", 5);
	assert_int_equal(chmod(f->path, 0666), 0);
	pid = connect_as_nobody(f->path);
	for (unsigned i = 0; i < 300 && waitpid(pid, &st, WNOHANG) == 0; i++)
		loop_run_once(l, 10);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	fd = try_connect(f->path); /* our own uid: gets the output queued so far */
	assert_true(fd >= 0);
	loop_run_once(l, 100);
	assert_int_equal(read(fd, b, sizeof(b)), 5);
	close(fd);
	console_detach(c);
	console_close(c);
	loop_destroy(l);
}

/* A socket path too long for bind in its own folder's name still works (bound through the
 * temporary folder's descriptor), and one too long for sockaddr_un is refused clearly. */
static void test_long_socket_path(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	char deep[256], path[320];
	size_t n;
	int cfd;

	n = (size_t)snprintf(deep, sizeof(deep), "%s/", f->dir);
	memset(deep + n, 'd', 100 - n - 12);
	deep[100 - 12] = 0;
	assert_int_equal(mkdir(deep, 0700), 0);
	snprintf(path, sizeof(path), "%s/s.sock", deep); /* 95 bytes: fits, its temp name not */
	assert_true(strlen(path) < 108 && strlen(deep) + strlen("/.vmm-socket-XXXXXX/s") >= 108);
	assert_int_equal(open_unix(path, &c, &e), 0);
	cfd = try_connect(path);
	assert_true(cfd >= 0);
	close(cfd);
	console_close(c);
	memset(path, 'x', 200);
	path[0] = '/';
	path[200] = 0;
	assert_int_equal(open_unix(path, &c, &e), -ENAMETOOLONG);
}

static int open_file(const char *path, struct console **c, struct err *e)
{
	struct serial_spec spec = { .target = SERIAL_FILE, .path = (char *)path };

	return console_open(&spec, "test", c, e);
}

/*
 * The file target: a symbolic link at the path is refused with a clear message (before, it
 * was followed and its target truncated); a file with another name (a planted hard link) is
 * refused untouched; a new file is 0600; an existing one is truncated and written.
 */
static void test_file_target(void **state)
{
	struct test_tmpdir *f = *state;
	struct console *c;
	struct err e = { 0 };
	char victim[160], log[160], buf[16];
	mode_t old;
	struct stat st;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	snprintf(log, sizeof(log), "%s/serial.log", f->dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	assert_int_equal(symlink(victim, log), 0);
	assert_int_equal(open_file(log, &c, &e), -ELOOP);
	assert_non_null(strstr(e.msg, "symbolic link"));
	assert_int_equal(unlink(log), 0);
	assert_int_equal(link(victim, log), 0);
	assert_int_equal(open_file(log, &c, &e), -EPERM);
	assert_non_null(strstr(e.msg, "hard link"));
	assert_int_equal(unlink(log), 0);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 8);

	old = umask(0);
	assert_int_equal(open_file(log, &c, &e), 0);
	umask(old);
	assert_int_equal(stat(log, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	console_write(c, "out", 3);
	console_close(c);
	fd = open(log, O_WRONLY | O_APPEND);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(open_file(log, &c, &e), 0);
	console_write(c, "new", 3);
	console_close(c);
	fd = open(log, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "new", 3);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
		T(test_socket_mode_0600),     T(test_stale_replaced_live_refused),
		T(test_not_a_socket_refused), T(test_close_leaves_foreign_socket),
		T(test_two_starters_race),    T(test_peer_uid_checked),
		T(test_long_socket_path),     T(test_file_target),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
