// SPDX-License-Identifier: MIT
/*
 * Listening unix sockets for local clients (unix_sock.h). Local files are hostile ground
 * (docs/security.md): the socket appears at its path only once it listens with mode 0600, and
 * an existing path is taken over only when it is a socket nobody listens on.
 */
#include "vmm/unix_sock.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Is something listening on the unix socket at path? 0 no (stale), 1 yes, or -errno. */
static int unix_sock_in_use(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0 ? 1 :
	      errno == ECONNREFUSED				       ? 0 :
									 -errno;
	close(fd);
	return ret;
}

/*
 * Put the listening socket (named "s" in the private folder tmpfd) at path. A free path gets
 * it by link(2), which never replaces anything. An existing path is replaced only if it is a
 * socket nobody listens on, by exchanging the two names in one step (renameat2
 * RENAME_EXCHANGE) and checking that what came out is the file that was probed; anything
 * else (another process got there first) is put back and refused.
 */
static int unix_sock_install(int tmpfd, const char *path, const char *what, struct err *err)
{
	for (unsigned tries = 0; tries < 4; tries++) {
		struct stat probed, out;
		int busy;

		if (linkat(tmpfd, "s", AT_FDCWD, path, 0) == 0)
			return 0;
		if (errno != EEXIST)
			return err_set(err, -errno, "%s: cannot create %s: %s", what, path,
				       strerror(errno));
		if (lstat(path, &probed) < 0) {
			if (errno == ENOENT)
				continue; /* it went away meanwhile: try again */
			return err_set(err, -errno, "%s: %s: %s", what, path, strerror(errno));
		}
		if (!S_ISSOCK(probed.st_mode))
			return err_set(err, -EEXIST, "%s: %s exists and is not a socket", what,
				       path);
		busy = unix_sock_in_use(path);
		if (busy > 0)
			return err_set(err, -EADDRINUSE,
				       "%s: %s: another process serves this socket", what, path);
		if (busy < 0 && busy != -ENOENT)
			return err_set(err, busy, "%s: cannot check %s: %s", what, path,
				       strerror(-busy));
		if (renameat2(tmpfd, "s", AT_FDCWD, path, RENAME_EXCHANGE) < 0) {
			if (errno == ENOENT)
				continue;
			if (errno != EINVAL && errno != ENOSYS)
				return err_set(err, -errno, "%s: cannot replace %s: %s", what, path,
					       strerror(errno));
			/* No exchange on this file system: replace the stale socket outright. */
			if (renameat(tmpfd, "s", AT_FDCWD, path) < 0)
				return err_set(err, -errno, "%s: cannot replace %s: %s", what, path,
					       strerror(errno));
			log_info("%s: %s: removed a stale socket", what, path);
			return 0;
		}
		if (fstatat(tmpfd, "s", &out, AT_SYMLINK_NOFOLLOW) == 0 &&
		    out.st_dev == probed.st_dev && out.st_ino == probed.st_ino) {
			unlinkat(tmpfd, "s", 0); /* the stale socket, now ours to drop */
			log_info("%s: %s: removed a stale socket", what, path);
			return 0;
		}
		if (renameat2(tmpfd, "s", AT_FDCWD, path, RENAME_EXCHANGE) < 0)
			log_warn("%s: %s changed while starting and could not be restored: %s",
				 what, path, strerror(errno));
		return err_set(err, -EADDRINUSE,
			       "%s: %s was replaced by another process while starting", what, path);
	}
	return err_set(err, -EAGAIN, "%s: %s keeps changing", what, path);
}

int unix_sock_listen(const char *path, const char *what, int backlog, struct unix_sock *out,
		     struct err *err)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char *copy = strdup(path), tmp[PATH_MAX];
	struct stat st;
	int tmpfd = -1, fd = -1, ret;

	tmp[0] = 0;
	if (!copy)
		return err_set(err, -ENOMEM, "%s: out of memory", what);
	if (strlen(path) >= sizeof(addr.sun_path)) {
		ret = err_set(err, -ENAMETOOLONG, "%s: %s: too long for a socket path", what, path);
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		ret = err_set(err, -errno, "%s: %s", what, strerror(errno));
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.vmm-socket-XXXXXX", dirname(copy)) >=
	    sizeof(tmp)) {
		tmp[0] = 0;
		ret = err_set(err, -ENAMETOOLONG, "%s: %s: folder name too long", what, path);
		goto out;
	}
	if (!mkdtemp(tmp)) {
		tmp[0] = 0;
		ret = err_set(err, -errno, "%s: cannot create a folder next to %s: %s", what, path,
			      strerror(errno));
		goto out;
	}
	tmpfd = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tmpfd < 0) {
		ret = err_set(err, -errno, "%s: %s: %s", what, tmp, strerror(errno));
		goto out;
	}
	/* Bound by its full name when it fits, else through the folder's descriptor. */
	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/s", tmp) >=
	    sizeof(addr.sun_path))
		snprintf(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d/s", tmpfd);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    fchmodat(tmpfd, "s", 0600, 0) < 0 || listen(fd, backlog) < 0) {
		ret = err_set(err, -errno, "%s: cannot listen on %s: %s", what, path,
			      strerror(errno));
		goto out;
	}
	ret = unix_sock_install(tmpfd, path, what, err);
	if (ret < 0)
		goto out;
	out->fd = fd;
	out->dev = 0;
	out->ino = 0;
	if (fstatat(tmpfd, "s", &st, AT_SYMLINK_NOFOLLOW) == 0 || lstat(path, &st) == 0) {
		out->dev = st.st_dev;
		out->ino = st.st_ino;
	}
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	if (tmpfd >= 0)
		unlinkat(tmpfd, "s", 0); /* the temporary name (a link to the socket, if any) */
	if (tmp[0])
		rmdir(tmp);
	if (tmpfd >= 0)
		close(tmpfd);
	free(copy);
	return ret;
}

void unix_sock_unlink(const struct unix_sock *s, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->dev &&
	    st.st_ino == s->ino)
		unlink(path);
}
