// SPDX-License-Identifier: MIT
/*
 * The VNC server of a display (display.h) through libvncserver (RFB 3.8, RFC 6143), run on
 * the main loop rather than in libvncserver's threads: this file listens (TCP, or a unix
 * socket made by vmm/unix_sock.h), accepts, and hands each connection to rfbNewClient; every
 * client socket is watched on the loop through a duplicate descriptor (libvncserver closes its
 * own when the client goes), and readiness, like each refresh, runs rfbProcessEvents without
 * waiting. Framebuffer updates are sent as soon as a client asks (no deferral); a client that
 * stops reading for VNC_CLIENT_WAIT_MS is dropped (libvncserver's write wait). Desktop size
 * changes go to clients that support them (the DesktopSize pseudo-encoding).
 *
 * The socket has no password: keep it on loopback (the default 127.0.0.1) or use a unix
 * socket (mode 0600; connections from other users than ours and root are closed).
 */
#include "vmm/display/display.h"

#include "devices/vga.h"
#include "vmm/base/log.h"
#include "vmm/loop.h"
#include "vmm/sandbox.h"
#include "vmm/spec.h"
#include "vmm/unix_sock.h"

#include <rfb/rfb.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define VNC_CLIENT_WAIT_MS 2000

struct vnc_client {
	struct vnc *v;
	int watch_fd; /* our duplicate of the client socket, watched on the loop */
};

struct vnc {
	rfbScreenInfoPtr screen;
	struct vnc_hooks hooks;
	char desktop[64];
	char where[300]; /* for messages: "127.0.0.1:5900" or the socket path */
	char *path;	 /* unix socket path, or NULL */
	struct unix_sock us;
	uid_t uid; /* ours, read at creation: unix-socket clients must be us or root */
	int listen_fd;
	struct loop *loop;
	unsigned nr_clients;
	u32 blank[1]; /* the framebuffer until the card's first frame */
};

static void vnc_log(const char *fmt, ...)
{
	char buf[512];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	log_dbg(LOG_CAT_DEV, "vnc: %s", buf);
}

static void vnc_on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	v->hooks.key(v->hooks.opaque, (u32)keysym, down);
}

static void vnc_on_pointer(int buttons, int x, int y, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	v->hooks.pointer(v->hooks.opaque, buttons, x, y);
	rfbDefaultPtrAddEvent(buttons, x, y, cl);
}

static void vnc_run(struct vnc *v)
{
	/* every client that has input or is owed an update, without waiting */
	rfbProcessEvents(v->screen, 0);
}

static void vnc_on_client_event(void *opaque, int fd, u32 events)
{
	struct vnc_client *c = opaque;

	(void)fd, (void)events;
	vnc_run(c->v);
}

static void vnc_on_client_gone(rfbClientPtr cl)
{
	struct vnc_client *c = cl->clientData;
	struct vnc *v = c->v;

	if (v->loop)
		loop_del(v->loop, c->watch_fd);
	close(c->watch_fd);
	free(c);
	v->nr_clients--;
	log_info("%s: VNC client left (%u connected)", v->desktop, v->nr_clients);
	v->hooks.clients(v->hooks.opaque, v->nr_clients);
}

static enum rfbNewClientAction vnc_on_new_client(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;
	struct vnc_client *c = calloc(1, sizeof(*c));

	if (!c)
		return RFB_CLIENT_REFUSE;
	c->v = v;
	c->watch_fd = fcntl(cl->sock, F_DUPFD_CLOEXEC, 0);
	if (c->watch_fd < 0 || loop_add(v->loop, c->watch_fd, EPOLLIN, vnc_on_client_event, c)) {
		if (c->watch_fd >= 0)
			close(c->watch_fd);
		free(c);
		return RFB_CLIENT_REFUSE;
	}
	cl->clientData = c;
	cl->clientGoneHook = vnc_on_client_gone;
	v->nr_clients++;
	log_info("%s: VNC client connected on %s (%u connected)", v->desktop, v->where,
		 v->nr_clients);
	v->hooks.clients(v->hooks.opaque, v->nr_clients);
	return RFB_CLIENT_ACCEPT;
}

/* A unix-socket client must be us or root (the socket's mode could have been changed). */
static bool vnc_peer_ok(const struct vnc *v, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (!v->path)
		return true;
	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
	       (cred.uid == v->uid || cred.uid == 0);
}

static void vnc_on_accept(void *opaque, int fd, u32 events)
{
	struct vnc *v = opaque;
	int one = 1, cfd;

	(void)events;
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	if (!vnc_peer_ok(v, cfd) || v->nr_clients >= DISPLAY_VNC_MAX_CLIENTS) {
		log_warn("%s: VNC connection on %s refused (%s)", v->desktop, v->where,
			 v->nr_clients >= DISPLAY_VNC_MAX_CLIENTS ? "too many clients" :
								    "another user");
		close(cfd);
		return;
	}
	if (!v->path)
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!rfbNewClient(v->screen, cfd))
		log_warn("%s: VNC client on %s could not be set up", v->desktop, v->where);
	vnc_run(v);
}

static int vnc_listen_tcp(struct vnc *v, const struct display_spec *spec, struct err *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res, *ai;
	char port[8];
	int one = 1, ret, e = 0;

	snprintf(port, sizeof(port), "%u", spec->listen_port);
	snprintf(v->where, sizeof(v->where), strchr(spec->listen_host, ':') ? "[%s]:%u" : "%s:%u",
		 spec->listen_host, spec->listen_port);
	/* A VM created through the API after lockdown: no list lets this process open TCP. */
	if (sandbox_confined())
		return err_set(err, -EPERM,
			       "display.listen: %s: the sandbox is on, so a VM created after the "
			       "first can serve VNC only on a unix socket (\"unix:PATH\")",
			       v->where);
	ret = getaddrinfo(spec->listen_host, port, &hints, &res);
	if (ret)
		return err_set(err, -EINVAL, "display.listen: %s: %s", v->where, gai_strerror(ret));
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4) == 0) {
			v->listen_fd = fd;
			break;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(res);
	if (v->listen_fd < 0)
		return err_set(err, -e, "display.listen: cannot listen on %s: %s", v->where,
			       strerror(e));
	return 0;
}

int vnc_create(const struct display_spec *spec, const char *name, const struct vnc_hooks *hooks,
	       struct vnc **out, struct err *err)
{
	struct vnc *v = calloc(1, sizeof(*v));
	int ret;

	if (!v)
		return err_set(err, -ENOMEM, "display: out of memory");
	v->hooks = *hooks;
	v->uid = geteuid(); /* read once: the sandboxed main loop may not ask later */
	v->listen_fd = -1;
	snprintf(v->desktop, sizeof(v->desktop), "%s", name);
	if (spec->listen_path) {
		v->path = strdup(spec->listen_path);
		snprintf(v->where, sizeof(v->where), "%s", spec->listen_path);
		ret = v->path ? unix_sock_listen(v->path, "display.listen", 4, &v->us, err) :
				err_set(err, -ENOMEM, "display: out of memory");
		v->listen_fd = ret == 0 ? v->us.fd : -1;
	} else {
		ret = vnc_listen_tcp(v, spec, err);
	}
	if (ret < 0)
		goto err_free;
	rfbLog = vnc_log;
	rfbErr = vnc_log;
	rfbMaxClientWait = VNC_CLIENT_WAIT_MS;
	v->screen = rfbGetScreen(NULL, NULL, 1, 1, 8, 3, 4);
	if (!v->screen) {
		ret = err_set(err, -ENOMEM, "display: cannot set up the VNC server");
		goto err_close;
	}
	v->screen->frameBuffer = (char *)v->blank;
	v->screen->cursor = NULL; /* the guest draws its own: nothing painted into the frames */
	v->screen->desktopName = v->desktop;
	v->screen->screenData = v;
	v->screen->alwaysShared = TRUE;
	v->screen->port = 0; /* we listen ourselves */
	v->screen->ipv6port = 0;
	v->screen->autoPort = FALSE;
	v->screen->httpDir = NULL;
	v->screen->deferUpdateTime = 0;
	v->screen->kbdAddEvent = vnc_on_key;
	v->screen->ptrAddEvent = vnc_on_pointer;
	v->screen->newClientHook = vnc_on_new_client;
	rfbInitServer(v->screen);
	log_info("%s: VNC server on %s", name, v->where);
	*out = v;
	return 0;

err_close:
	close(v->listen_fd);
	if (v->path)
		unix_sock_unlink(&v->us, v->path);
err_free:
	free(v->path);
	free(v);
	return ret;
}

int vnc_attach(struct vnc *v, struct loop *l)
{
	v->loop = l;
	return loop_add(l, v->listen_fd, EPOLLIN, vnc_on_accept, v);
}

void vnc_detach(struct vnc *v)
{
	rfbClientIteratorPtr it;
	rfbClientPtr cl;

	if (!v->loop)
		return;
	/* the clients go: their hooks remove the watches while the loop is known */
	it = rfbGetClientIterator(v->screen);
	while ((cl = rfbClientIteratorNext(it)))
		rfbCloseClient(cl);
	rfbReleaseClientIterator(it);
	rfbProcessEvents(v->screen, 0);
	loop_del(v->loop, v->listen_fd);
	v->loop = NULL;
}

void vnc_destroy(struct vnc *v)
{
	if (!v)
		return;
	vnc_detach(v);
	rfbShutdownServer(v->screen, TRUE);
	rfbScreenCleanup(v->screen);
	close(v->listen_fd);
	if (v->path)
		unix_sock_unlink(&v->us, v->path);
	free(v->path);
	free(v);
}

void vnc_update(struct vnc *v, struct vga_frame *f)
{
	rfbScreenInfoPtr s = v->screen;

	if (f->resized || (char *)f->pixels != s->frameBuffer) {
		rfbNewFramebuffer(s, (char *)f->pixels, (int)f->width, (int)f->height, 8, 3, 4);
		rfbMarkRectAsModified(s, 0, 0, (int)f->width, (int)f->height);
	} else {
		/* rows with damage, merged while they follow each other */
		for (unsigned y = 0; y < f->height;) {
			unsigned x0 = f->dmg_x0[y], x1 = f->dmg_x1[y], y1 = y + 1;

			if (x0 >= x1) {
				y++;
				continue;
			}
			while (y1 < f->height && f->dmg_x0[y1] < f->dmg_x1[y1]) {
				x0 = MIN(x0, f->dmg_x0[y1]);
				x1 = MAX(x1, f->dmg_x1[y1]);
				y1++;
			}
			rfbMarkRectAsModified(s, (int)x0, (int)y, (int)x1, (int)y1);
			y = y1;
		}
	}
	vnc_run(v);
}
