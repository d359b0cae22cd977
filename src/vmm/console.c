// SPDX-License-Identifier: MIT
/*
 * Serial console back ends: stdio, file, pty, unix socket, none.
 * Input is read on the main thread and pushed into the guest's UART through
 * the input callback; what the UART cannot take yet stays in a small buffer
 * and is retried (console_retry) while the file descriptor is not polled, so
 * a fast paste cannot overrun the 16-byte FIFO.
 * Local files and sockets are hostile ground (docs/security.md): the unix socket is 0600 and
 * accepts only our uid and root, it appears at its path only once listening, a stale socket
 * is replaced atomically and a live one is refused; the file target is created 0600 and
 * never opened through a symbolic link or as a file with other (hard-linked) names.
 */
#include "vmm/console.h"

#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/unix_sock.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#define CONSOLE_ESCAPE	0x01  /* Ctrl-A */
#define CONSOLE_BACKLOG 65536 /* output kept for a socket client that connects later */

struct console {
	enum serial_target target;
	int in_fd, out_fd; /* -1 when absent */
	int listen_fd;	   /* SERIAL_UNIX */
	char path[256];	   /* socket or pty path */
	dev_t sock_dev;	   /* SERIAL_UNIX: the socket file we put at path */
	ino_t sock_ino;
	uid_t owner_uid; /* SERIAL_UNIX: the user whose clients are accepted (and root) */
	bool raw;	 /* stdin termios changed */
	struct termios saved;
	bool escape; /* Ctrl-A seen */
	pthread_mutex_t out_lock;
	/*
	 * SERIAL_UNIX: output not delivered yet, as a ring: the latest output while no client is
	 * connected (replayed on connect), and what a connected client's socket could not take
	 * yet (tx_pending: sent from the main loop when the socket is writable again). Only the
	 * newest CONSOLE_BACKLOG bytes are kept; the guest is never blocked.
	 */
	u8 *backlog;
	size_t backlog_len, backlog_head; /* ring: bytes held, next write position */
	bool tx_pending;
	int flush_efd;	  /* vCPU threads ask the main loop to send the ring */
	int out_watch_fd; /* dup of the client socket watched for EPOLLOUT, or -1 */

	struct loop *loop;
	console_input_fn input;
	console_quit_fn quit;
	void *opaque;
	bool in_watched;
	u8 pending[4096];
	size_t pending_len, pending_off;
};

/* A listening socket at path for the console (vmm/unix_sock.h says how it is made safe). */
static int console_open_unix(struct console *c, const char *path, struct err *err)
{
	struct unix_sock us;
	int ret;

	c->backlog = malloc(CONSOLE_BACKLOG);
	if (!c->backlog)
		return err_set(err, -ENOMEM, "serial: out of memory");
	c->flush_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->flush_efd < 0)
		return err_set(err, -errno, "serial: %s", strerror(errno));
	ret = unix_sock_listen(path, "serial.path", 1, &us, err);
	if (ret < 0)
		return ret;
	c->listen_fd = us.fd;
	c->sock_dev = us.dev;
	c->sock_ino = us.ino;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

/*
 * The file target: created with mode 0600 (the guest's console output is nobody else's
 * business), never through a symbolic link, and never a file that has other names (a hard
 * link planted to make the VMM truncate something else). Output only.
 */
static int console_open_file(struct console *c, const char *path, struct err *err)
{
	struct stat st;

	c->out_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->out_fd < 0 && errno == ELOOP)
		return err_set(err, -ELOOP, "serial.path: %s is a symbolic link (refused)", path);
	if (c->out_fd < 0)
		return err_set(err, -errno, "serial.path: cannot open %s: %s", path,
			       strerror(errno));
	if (fstat(c->out_fd, &st) < 0)
		return err_set(err, -errno, "serial.path: %s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode) && st.st_nlink > 1)
		return err_set(err, -EPERM,
			       "serial.path: %s has %ju other names (hard links); refused", path,
			       (uintmax_t)st.st_nlink - 1);
	if (S_ISREG(st.st_mode) && ftruncate(c->out_fd, 0) < 0)
		return err_set(err, -errno, "serial.path: cannot truncate %s: %s", path,
			       strerror(errno));
	return 0;
}

static int console_open_pty(struct console *c, struct err *err)
{
	struct termios tio;
	int master, slave;

	if (openpty(&master, &slave, c->path, NULL, NULL) < 0)
		return err_set(err, -errno, "serial: cannot create a pty: %s", strerror(errno));
	/* The guest owns line discipline: make the host side transparent. */
	if (!tcgetattr(slave, &tio)) {
		cfmakeraw(&tio);
		tcsetattr(slave, TCSANOW, &tio);
	}
	/* Keep the slave open so the master does not see EIO while no one has it open. */
	fcntl(master, F_SETFL, O_NONBLOCK);
	fcntl(master, F_SETFD, FD_CLOEXEC);
	c->in_fd = c->out_fd = master;
	c->listen_fd = slave; /* reused to hold the slave fd open */
	return 0;
}

static void console_setup_stdio(struct console *c)
{
	c->in_fd = STDIN_FILENO;
	c->out_fd = STDOUT_FILENO;
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &c->saved)) {
		struct termios tio = c->saved;

		cfmakeraw(&tio);
		tio.c_oflag |= OPOST | ONLCR; /* keep our own log lines readable */
		if (!tcsetattr(STDIN_FILENO, TCSANOW, &tio))
			c->raw = true;
	}
}

int console_open(const struct serial_spec *spec, const char *vm_name, struct console **out,
		 struct err *err)
{
	struct console *c = calloc(1, sizeof(*c));
	int ret = 0;

	if (!c)
		return err_set(err, -ENOMEM, "serial: out of memory");
	c->target = spec->target;
	c->owner_uid = geteuid(); /* read once: the sandbox does not let the main loop ask later */
	c->in_fd = c->out_fd = c->listen_fd = c->flush_efd = c->out_watch_fd = -1;
	pthread_mutex_init(&c->out_lock, NULL);
	switch (spec->target) {
	case SERIAL_STDIO:
		console_setup_stdio(c);
		break;
	case SERIAL_FILE:
		ret = console_open_file(c, spec->path, err);
		break;
	case SERIAL_PTY:
		ret = console_open_pty(c, err);
		if (!ret)
			log_info("%s: serial console on %s", vm_name, c->path);
		break;
	case SERIAL_UNIX:
		ret = console_open_unix(c, spec->path, err);
		if (!ret)
			log_info("%s: serial console on unix socket %s", vm_name, c->path);
		break;
	case SERIAL_NONE:
		break;
	}
	if (ret < 0) {
		console_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

static bool console_backlog_flush(struct console *c);

/* At exit: give a connected socket client up to two seconds to take the queued output. */
static void console_drain(struct console *c)
{
	if (c->target != SERIAL_UNIX)
		return;
	for (unsigned i = 0; i < 200; i++) {
		struct pollfd pfd = { .fd = c->out_fd, .events = POLLOUT };
		bool drained;

		pthread_mutex_lock(&c->out_lock);
		drained = console_backlog_flush(c) || c->out_fd < 0;
		pthread_mutex_unlock(&c->out_lock);
		if (drained || poll(&pfd, 1, 10) < 0)
			return;
	}
}

/* Remove the socket at path, if it is still the one we put there. */
static void console_unlink_ours(const struct console *c)
{
	struct stat st;

	if (c->path[0] && !lstat(c->path, &st) && S_ISSOCK(st.st_mode) &&
	    st.st_dev == c->sock_dev && st.st_ino == c->sock_ino)
		unlink(c->path);
}

void console_close(struct console *c)
{
	if (!c)
		return;
	console_detach(c);
	console_drain(c);
	if (c->raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	if (c->target == SERIAL_UNIX) {
		if (c->in_fd >= 0)
			close(c->in_fd);
		if (c->listen_fd >= 0)
			close(c->listen_fd);
		console_unlink_ours(c);
	} else if (c->target == SERIAL_FILE || c->target == SERIAL_PTY) {
		if (c->out_fd >= 0)
			close(c->out_fd);
		if (c->listen_fd >= 0)
			close(c->listen_fd);
	}
	if (c->flush_efd >= 0)
		close(c->flush_efd);
	pthread_mutex_destroy(&c->out_lock);
	free(c->backlog);
	free(c);
}

/* Keep the newest CONSOLE_BACKLOG bytes. out_lock held. */
static void console_backlog_add(struct console *c, const u8 *p, size_t len)
{
	if (!c->backlog)
		return;
	for (size_t i = 0; i < len; i++) {
		c->backlog[c->backlog_head] = p[i];
		c->backlog_head = (c->backlog_head + 1) % CONSOLE_BACKLOG;
	}
	c->backlog_len = MIN(c->backlog_len + len, (size_t)CONSOLE_BACKLOG);
}

/*
 * Send the ring to the connected client as far as its socket takes it; what is left stays
 * queued (tx_pending). out_lock held. Returns true when the ring is empty.
 */
static bool console_backlog_flush(struct console *c)
{
	size_t start = (c->backlog_head + CONSOLE_BACKLOG - c->backlog_len) % CONSOLE_BACKLOG;

	while (c->backlog_len && c->out_fd >= 0) {
		size_t n = MIN(c->backlog_len, (size_t)CONSOLE_BACKLOG - start);
		ssize_t w = send(c->out_fd, c->backlog + start, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		start = (start + (size_t)w) % CONSOLE_BACKLOG;
		c->backlog_len -= (size_t)w;
	}
	c->tx_pending = c->backlog_len && c->out_fd >= 0;
	return !c->backlog_len;
}

/* Wake the main loop to send the queued output. Any thread. */
static void console_kick_flush(struct console *c)
{
	u64 one = 1;

	if (write(c->flush_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_dbg(LOG_CAT_DEV, "serial: flush eventfd: %s", strerror(errno));
}

void console_write(struct console *c, const void *buf, size_t len)
{
	const char *p = buf;
	bool kick = false;

	if (!c)
		return;
	pthread_mutex_lock(&c->out_lock);
	if (c->target == SERIAL_UNIX && (c->out_fd < 0 || c->tx_pending)) {
		/* No client, or one that lags: queue behind what is already waiting. */
		console_backlog_add(c, buf, len);
		pthread_mutex_unlock(&c->out_lock);
		return;
	}
	while (len && c->out_fd >= 0) {
		ssize_t n = write(c->out_fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A socket client lagging: queue the rest; elsewhere (pty, pipe) drop it. */
			if (c->target == SERIAL_UNIX && n < 0 && errno == EAGAIN) {
				console_backlog_add(c, (const u8 *)p, len);
				c->tx_pending = kick = true;
			}
			break; /* never block the guest */
		}
		p += n;
		len -= (size_t)n;
	}
	pthread_mutex_unlock(&c->out_lock);
	if (kick)
		console_kick_flush(c);
}

const char *console_pty_path(const struct console *c)
{
	return c->target == SERIAL_PTY ? c->path : NULL;
}

bool console_input_pending(const struct console *c)
{
	return c->pending_off < c->pending_len;
}

static void console_watch_input(struct console *c, bool on);

/* Push pending bytes into the guest; poll the fd again once everything went in. */
void console_retry(struct console *c)
{
	if (console_input_pending(c) && c->input) {
		size_t n = c->input(c->opaque, c->pending + c->pending_off,
				    c->pending_len - c->pending_off);

		c->pending_off += n;
	}
	if (!console_input_pending(c)) {
		c->pending_off = c->pending_len = 0;
		console_watch_input(c, true);
	}
}

/* Strip the Ctrl-A escape sequences from stdio input; returns the bytes kept. */
static size_t console_filter_escape(struct console *c, u8 *buf, size_t len)
{
	size_t out = 0;

	for (size_t i = 0; i < len; i++) {
		u8 ch = buf[i];

		if (c->escape) {
			c->escape = false;
			if (ch == 'x' || ch == 'X') {
				if (c->quit)
					c->quit(c->opaque);
				continue;
			}
			if (ch != CONSOLE_ESCAPE)
				continue; /* unknown escape: swallow it */
		} else if (ch == CONSOLE_ESCAPE) {
			c->escape = true;
			continue;
		}
		buf[out++] = ch;
	}
	return out;
}

static void console_watch_output(struct console *c, bool on);

static void console_client_gone(struct console *c)
{
	console_watch_input(c, false);
	console_watch_output(c, false);
	close(c->in_fd);
	c->in_fd = c->out_fd = -1;
	c->tx_pending = false; /* what is queued waits for the next client */
}

/* Main loop: the flush eventfd fired or the client's socket became writable. */
static void console_on_flush(void *opaque, int fd, u32 events)
{
	struct console *c = opaque;
	bool drained;
	u64 v;

	(void)events;
	if (fd == c->flush_efd && read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&c->out_lock);
	drained = console_backlog_flush(c);
	pthread_mutex_unlock(&c->out_lock);
	console_watch_output(c, !drained && c->out_fd >= 0);
}

/* Watch the client socket for EPOLLOUT (through a dup: its input is watched separately). */
static void console_watch_output(struct console *c, bool on)
{
	if (!c->loop || on == (c->out_watch_fd >= 0))
		return;
	if (on) {
		c->out_watch_fd = fcntl(c->in_fd, F_DUPFD_CLOEXEC, 0);
		if (c->out_watch_fd >= 0 &&
		    loop_add(c->loop, c->out_watch_fd, EPOLLOUT, console_on_flush, c) < 0) {
			close(c->out_watch_fd);
			c->out_watch_fd = -1;
		}
	} else {
		loop_del(c->loop, c->out_watch_fd);
		close(c->out_watch_fd);
		c->out_watch_fd = -1;
	}
}

static void console_on_input(void *opaque, int fd, u32 events)
{
	struct console *c = opaque;
	ssize_t n = read(fd, c->pending, sizeof(c->pending));

	(void)events;
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (c->target == SERIAL_UNIX) {
			pthread_mutex_lock(&c->out_lock);
			console_client_gone(c);
			pthread_mutex_unlock(&c->out_lock);
		} else {
			console_watch_input(c,
					    false); /* EOF on stdin: the guest just gets no input */
		}
		return;
	}
	c->pending_len = (size_t)n;
	c->pending_off = 0;
	if (c->target == SERIAL_STDIO && c->raw)
		c->pending_len = console_filter_escape(c, c->pending, c->pending_len);
	console_watch_input(c, false);
	console_retry(c);
}

#define CONSOLE_SOCK_SNDBUF (8 << 20)

static void console_on_accept(void *opaque, int fd, u32 events)
{
	struct console *c = opaque;
	int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	/*
	 * Output is dropped when the client lags (console_write never blocks the guest). A UART
	 * writes a byte at a time and each byte costs a whole skb (~768 bytes) of the send buffer,
	 * so the default 208 KiB holds only ~280 bytes of lag; ask for more (capped by
	 * net.core.wmem_max; best effort).
	 */
	int sndbuf = CONSOLE_SOCK_SNDBUF;

	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)events;
	if (cfd < 0)
		return;
	/* The socket is 0600, but check who connected anyway (the mode may have been changed,
	 * or the socket reached another way): our user and root only. */
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0 ||
	    (cred.uid != c->owner_uid && cred.uid != 0)) {
		log_guest("serial: refused a connection to %s from uid %d (pid %d)", c->path,
			  clen == sizeof(cred) ? (int)cred.uid : -1,
			  clen == sizeof(cred) ? (int)cred.pid : -1);
		close(cfd);
		return;
	}
	setsockopt(cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	pthread_mutex_lock(&c->out_lock);
	if (c->in_fd >= 0) { /* one client at a time */
		pthread_mutex_unlock(&c->out_lock);
		close(cfd);
		return;
	}
	c->in_fd = c->out_fd = cfd;
	console_backlog_flush(c);
	pthread_mutex_unlock(&c->out_lock);
	console_watch_input(c, true);
	if (c->tx_pending)
		console_kick_flush(c);
}

static void console_watch_input(struct console *c, bool on)
{
	if (!c->loop || c->in_fd < 0 || on == c->in_watched)
		return;
	if (on) {
		if (loop_add(c->loop, c->in_fd, EPOLLIN, console_on_input, c) == 0)
			c->in_watched = true;
	} else {
		loop_del(c->loop, c->in_fd);
		c->in_watched = false;
	}
}

int console_attach(struct console *c, struct loop *l, console_input_fn fn, console_quit_fn quit,
		   void *opaque)
{
	int ret;

	c->loop = l;
	c->input = fn;
	c->quit = quit;
	c->opaque = opaque;
	if (c->target == SERIAL_UNIX) {
		ret = loop_add(l, c->listen_fd, EPOLLIN, console_on_accept, c);
		if (!ret)
			ret = loop_add(l, c->flush_efd, EPOLLIN, console_on_flush, c);
		if (ret < 0)
			return ret;
	}
	if (c->target != SERIAL_FILE && c->target != SERIAL_NONE)
		console_watch_input(c, true);
	return 0;
}

void console_detach(struct console *c)
{
	if (!c->loop)
		return;
	console_watch_input(c, false);
	console_watch_output(c, false);
	if (c->target == SERIAL_UNIX) {
		loop_del(c->loop, c->listen_fd);
		loop_del(c->loop, c->flush_efd);
	}
	c->loop = NULL;
	c->input = NULL;
	c->pending_len = c->pending_off = 0;
}
