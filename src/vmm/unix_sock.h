/* SPDX-License-Identifier: MIT */
/*
 * A listening unix stream socket at a path, made the way docs/security.md asks of local
 * sockets (unix_sock.c): mode 0600, bound and listening in a private folder before it appears
 * at the path, a stale socket from an earlier run replaced atomically, a live one or any other
 * file refused. The serial console, the VNC display, the control API and the destination of a
 * unix: migration use it.
 */
#ifndef VMM_UNIX_SOCK_H
#define VMM_UNIX_SOCK_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"

#include <sys/types.h>

struct unix_sock {
	int fd;	   /* listening, non-blocking, close-on-exec */
	dev_t dev; /* the socket file put at the path, to remove only our own at the end */
	ino_t ino;
};

/*
 * Listen at path with backlog; what names the setting in messages ("serial.path").
 * 0, or a negative errno with err set (nothing is left behind).
 */
MUST_CHECK int unix_sock_listen(const char *path, const char *what, int backlog,
				struct unix_sock *out, struct err *err);
/* Remove path if it is still the socket s put there. */
void unix_sock_unlink(const struct unix_sock *s, const char *path);

#endif
