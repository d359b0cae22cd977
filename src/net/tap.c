// SPDX-License-Identifier: MIT
/*
 * The tap back end (net.h): frames to and from a Linux TAP interface through /dev/net/tun
 * (Documentation/networking/tuntap.rst): IFF_TAP | IFF_NO_PI, with IFF_VNET_HDR a 10-byte
 * struct virtio_net_hdr before each frame (TUNSETVNETHDRSZ) so checksum and segmentation
 * offloads cross both ways (TUNSETOFFLOAD for what the kernel may hand us), IFF_MULTI_QUEUE
 * for one fd per queue pair. Every fd is non-blocking; TUNSETSNDBUF bounds what the kernel
 * queues for us, so a busy host answers a write with EAGAIN and the device stops its TX ring
 * until EPOLLOUT.
 *
 * Not done: creating the interface (it must exist: `ip tuntap add`), TUNSETSTEERINGEBPF.
 */
#include "net/net_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAP_DEV		   "/dev/net/tun"
#define TAP_WAKE	   0xffu /* epoll data of the wake eventfd */
#define TAP_SNDBUF_DEFAULT (4u << 20)

struct tap_queue {
	int fd;
	bool rx_armed; /* EPOLLIN watched */
	bool tx_wait;  /* EPOLLOUT watched: a send got EAGAIN */
	bool held;     /* rx holds a frame the device could not take yet */
	bool retry;    /* the device has buffers again: deliver held */
	size_t held_len;
	u8 *rx; /* vnet header + NET_MAX_FRAME */
};

struct net_tap {
	struct net_backend be; /* first: container_of by cast */
	char ifname[IFNAMSIZ];
	int wake_fd; /* eventfd: a held frame may go now */
	bool wake_pending;
	unsigned rx_caps;
	struct tap_queue q[NET_MAX_QUEUES];
};

static int tap_watch(struct net_tap *t, unsigned q)
{
	struct tap_queue *tq = &t->q[q];
	struct epoll_event ev = {
		.events = (tq->rx_armed ? EPOLLIN : 0) | (tq->tx_wait ? EPOLLOUT : 0), .data.u64 = q
	};

	return epoll_ctl(t->be.epfd, EPOLL_CTL_MOD, tq->fd, &ev) < 0 ? -errno : 0;
}

static int tap_send(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
		    const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct net_tap *t = (struct net_tap *)be;
	struct tap_queue *tq = &t->q[q];
	struct iovec v[IOV_MAX];
	unsigned n = 0;
	ssize_t w;

	if (be->vnet_hdr_len)
		v[n++] = (struct iovec){ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) };
	if (iovcnt + n > IOV_MAX) { /* flatten: writev takes at most IOV_MAX pieces */
		size_t off = 0;

		for (unsigned i = 0; i < iovcnt; i++) {
			memcpy(be->linear + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		v[n++] = (struct iovec){ .iov_base = be->linear, .iov_len = len };
	} else {
		memcpy(v + n, iov, iovcnt * sizeof(*iov));
		n += iovcnt;
	}
	w = writev(tq->fd, v, (int)n);
	if (w >= 0)
		return 0;
	if (errno == EAGAIN || errno == ENOBUFS) {
		if (!tq->tx_wait) {
			tq->tx_wait = true;
			tap_watch(t, q);
		}
		return -EAGAIN;
	}
	log_guest("%s: tap %s refused a %zu-byte frame: %s", be->name, t->ifname, len,
		  strerror(errno));
	return -errno;
}

static void tap_wake(struct net_tap *t)
{
	if (t->wake_pending)
		return;
	t->wake_pending = true;
	if (eventfd_write(t->wake_fd, 1) < 0)
		log_warn("%s: cannot wake the main loop: %s", t->be.name, strerror(errno));
}

static void tap_rx_ready(struct net_backend *be, unsigned q)
{
	struct net_tap *t = (struct net_tap *)be;
	struct tap_queue *tq = &t->q[q];

	if (tq->held) {
		tq->retry = true;
		tap_wake(t);
	} else if (!tq->rx_armed) {
		tq->rx_armed = true;
		tap_watch(t, q);
	}
}

/* Hand the frame in tq->rx to the device. false: it must wait (reading stops). */
static bool tap_deliver(struct net_tap *t, unsigned q)
{
	struct tap_queue *tq = &t->q[q];
	unsigned hl = t->be.vnet_hdr_len;
	struct net_hdr hdr = { 0 };
	struct iovec iov;
	int ret;

	if (hl)
		memcpy(&hdr, tq->rx, sizeof(hdr));
	iov = (struct iovec){ .iov_base = tq->rx + hl, .iov_len = tq->held_len - hl };
	ret = net_backend_deliver(&t->be, q, &hdr, &iov, 1, iov.iov_len);
	tq->held = ret == -EAGAIN;
	if (tq->held && tq->rx_armed) {
		tq->rx_armed = false;
		tap_watch(t, q);
	}
	return !tq->held;
}

/*
 * Read and deliver up to NET_POLL_FRAMES frames. The read() runs without lock (the device
 * lock): it fills tq->rx, which only the main loop's poll uses, while tq->held is false (so a
 * vCPU's tap_rx_ready has nothing to retry); the delivery runs with it.
 */
static void tap_read(struct net_tap *t, unsigned q, pthread_mutex_t *lock)
{
	struct tap_queue *tq = &t->q[q];
	unsigned hl = t->be.vnet_hdr_len;

	for (unsigned i = 0; i < NET_POLL_FRAMES; i++) {
		ssize_t n;
		int e;

		if (tq->held && !tap_deliver(t, q))
			return;
		if (lock)
			pthread_mutex_unlock(lock);
		n = read(tq->fd, tq->rx, hl + NET_MAX_FRAME);
		e = errno;
		if (lock)
			pthread_mutex_lock(lock);
		if (n < 0) {
			if (e != EAGAIN && e != EINTR)
				log_warn("%s: reading tap %s: %s", t->be.name, t->ifname,
					 strerror(e));
			return;
		}
		if ((size_t)n <= hl) /* nothing behind the header */
			continue;
		tq->held = true;
		tq->held_len = (size_t)n;
		if (!tap_deliver(t, q))
			return;
	}
}

static void tap_poll(struct net_backend *be, pthread_mutex_t *lock)
{
	struct net_tap *t = (struct net_tap *)be;
	struct epoll_event evs[NET_MAX_QUEUES + 1];
	int n = epoll_wait(be->epfd, evs, NET_MAX_QUEUES + 1, 0);

	for (int i = 0; i < n; i++) {
		unsigned q = (unsigned)evs[i].data.u64;
		struct tap_queue *tq;

		if (q == TAP_WAKE) {
			eventfd_t v;

			(void)eventfd_read(t->wake_fd, &v);
			t->wake_pending = false;
			for (unsigned k = 0; k < be->nr_queues; k++) {
				if (!t->q[k].retry)
					continue;
				t->q[k].retry = false;
				if (tap_deliver(t, k) && !t->q[k].rx_armed) {
					t->q[k].rx_armed = true;
					tap_watch(t, k);
				}
			}
			continue;
		}
		tq = &t->q[q];
		if ((evs[i].events & EPOLLOUT) && tq->tx_wait) {
			tq->tx_wait = false;
			tap_watch(t, q);
			if (be->has_peer && be->peer.tx_ready)
				be->peer.tx_ready(be->peer.opaque, q);
		}
		if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && tq->rx_armed)
			tap_read(t, q, lock);
	}
}

static unsigned tap_set_rx_caps(struct net_backend *be, unsigned caps)
{
	struct net_tap *t = (struct net_tap *)be;
	unsigned flags = 0;

	if (!be->vnet_hdr_len)
		return 0;
	if (caps & NET_CAP_CSUM) {
		flags |= TUN_F_CSUM;
		if (caps & NET_CAP_TSO4)
			flags |= TUN_F_TSO4;
		if (caps & NET_CAP_TSO6)
			flags |= TUN_F_TSO6;
		if ((caps & NET_CAP_ECN) && (flags & (TUN_F_TSO4 | TUN_F_TSO6)))
			flags |= TUN_F_TSO_ECN;
	}
	if (ioctl(t->q[0].fd, TUNSETOFFLOAD, flags) < 0) {
		log_warn("%s: tap %s: TUNSETOFFLOAD %#x: %s; receiving plain frames", be->name,
			 t->ifname, flags, strerror(errno));
		(void)ioctl(t->q[0].fd, TUNSETOFFLOAD, 0);
		t->rx_caps = 0;
		return 0;
	}
	t->rx_caps = caps & (NET_CAP_CSUM | ((flags & TUN_F_TSO4) ? NET_CAP_TSO4 : 0) |
			     ((flags & TUN_F_TSO6) ? NET_CAP_TSO6 : 0) |
			     ((flags & TUN_F_TSO_ECN) ? NET_CAP_ECN : 0));
	return t->rx_caps;
}

static void tap_destroy(struct net_backend *be)
{
	struct net_tap *t = (struct net_tap *)be;

	for (unsigned q = 0; q < NET_MAX_QUEUES; q++) {
		if (t->q[q].fd >= 0)
			close(t->q[q].fd);
		free(t->q[q].rx);
	}
	if (t->wake_fd >= 0)
		close(t->wake_fd);
	net_backend_fini(be);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.kind = "tap",
	.send = tap_send,
	.rx_ready = tap_rx_ready,
	.set_rx_caps = tap_set_rx_caps,
	.poll = tap_poll,
	.destroy = tap_destroy,
};

/*
 * The interface must exist and be an Ethernet one (a TAP; a TUN is layer 3). Asked of the
 * kernel in the caller's network namespace (sysfs may show another one).
 */
static int tap_check_interface(const struct net_tap_config *cfg, struct err *err)
{
	struct ifreq ifr = { 0 };
	int s, ret = 0;

	if (!if_nametoindex(cfg->ifname))
		return err_set(err, -ENODEV,
			       "%s: no network interface '%s' on this host: create the TAP first "
			       "(ip tuntap add dev %s mode tap%s user USER)",
			       cfg->name, cfg->ifname, cfg->ifname,
			       cfg->nr_queues > 1 ? " multi_queue" : "");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	if (s >= 0 && ioctl(s, SIOCGIFHWADDR, &ifr) == 0 &&
	    ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		ret = err_set(err, -EINVAL,
			      "%s: '%s' is not an Ethernet interface (a TUN is layer 3): use a TAP "
			      "(ip tuntap add dev NAME mode tap)",
			      cfg->name, cfg->ifname);
	if (s >= 0)
		close(s);
	return ret;
}

/* Open queue q's fd on the named interface. */
static int tap_attach(struct net_tap *t, const struct net_tap_config *cfg, unsigned q,
		      struct err *err)
{
	struct ifreq ifr = { 0 };
	int fd = open(TAP_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC), e;

	if (fd < 0) {
		e = errno;
		return err_set(err, -e, "%s: cannot open %s: %s%s", cfg->name, TAP_DEV, strerror(e),
			       e == ENOENT ? " (load the tun module)" : "");
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (cfg->vnet_hdr)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (cfg->nr_queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		close(fd);
		if (e == EPERM || e == EACCES)
			return err_set(err, -e,
				       "%s: permission denied attaching to tap '%s' (its owner or "
				       "group must be this user, or run with CAP_NET_ADMIN)",
				       cfg->name, cfg->ifname);
		if (e == EBUSY)
			return err_set(err, -e, "%s: tap '%s' is already attached elsewhere",
				       cfg->name, cfg->ifname);
		if (e == EINVAL)
			return err_set(
				err, -e,
				"%s: '%s' is not a TAP %s multi_queue, as %u queue%s need (ip "
				"tuntap add dev %s mode tap%s)",
				cfg->name, cfg->ifname, cfg->nr_queues > 1 ? "created" : "without",
				cfg->nr_queues, cfg->nr_queues > 1 ? "s" : "", cfg->ifname,
				cfg->nr_queues > 1 ? " multi_queue" : "");
		return err_set(err, -e, "%s: cannot attach to tap '%s': %s", cfg->name, cfg->ifname,
			       strerror(e));
	}
	t->q[q].fd = fd;
	return 0;
}

/* Take over an open tap fd: it must be a TAP; its flags say whether it has a vnet header. */
static int tap_adopt(struct net_tap *t, const struct net_tap_config *cfg, unsigned q,
		     struct err *err)
{
	struct ifreq ifr = { 0 };
	int fd = cfg->fds[q], fl;

	if (ioctl(fd, TUNGETIFF, &ifr) < 0)
		return err_set(err, -EINVAL, "%s: fd %d is not a tap: %s", cfg->name, fd,
			       strerror(errno));
	if (!(ifr.ifr_flags & IFF_TAP) || !(ifr.ifr_flags & IFF_NO_PI))
		return err_set(err, -EINVAL, "%s: fd %d is not a TAP opened with IFF_NO_PI",
			       cfg->name, fd);
	if (cfg->ifname && strncmp(ifr.ifr_name, cfg->ifname, IFNAMSIZ))
		return err_set(err, -EINVAL, "%s: fd %d is attached to tap '%.*s', not '%s'",
			       cfg->name, fd, IFNAMSIZ, ifr.ifr_name, cfg->ifname);
	if (q == 0)
		snprintf(t->ifname, sizeof(t->ifname), "%.*s", IFNAMSIZ - 1, ifr.ifr_name);
	if (q == 0)
		t->be.vnet_hdr_len = (ifr.ifr_flags & IFF_VNET_HDR) ? sizeof(struct net_hdr) : 0;
	else if (!!(ifr.ifr_flags & IFF_VNET_HDR) != !!t->be.vnet_hdr_len)
		return err_set(err, -EINVAL, "%s: the tap fds disagree on IFF_VNET_HDR", cfg->name);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return err_set(err, -errno, "%s: fd %d: %s", cfg->name, fd, strerror(errno));
	t->q[q].fd = fd;
	return 0;
}

static int tap_setup_queue(struct net_tap *t, const struct net_tap_config *cfg, unsigned q,
			   struct err *err)
{
	struct tap_queue *tq = &t->q[q];
	int sndbuf = (int)(cfg->sndbuf_bytes ? cfg->sndbuf_bytes : TAP_SNDBUF_DEFAULT);
	int hdrsz = sizeof(struct net_hdr);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = q };

	if (t->be.vnet_hdr_len && ioctl(tq->fd, TUNSETVNETHDRSZ, &hdrsz) < 0)
		return err_set(err, -errno, "%s: TUNSETVNETHDRSZ: %s", cfg->name, strerror(errno));
	if (ioctl(tq->fd, TUNSETSNDBUF, &sndbuf) < 0)
		log_warn("%s: TUNSETSNDBUF: %s", cfg->name, strerror(errno));
	tq->rx = malloc(sizeof(struct net_hdr) + NET_MAX_FRAME);
	if (!tq->rx)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	tq->rx_armed = true;
	if (epoll_ctl(t->be.epfd, EPOLL_CTL_ADD, tq->fd, &ev) < 0)
		return err_set(err, -errno, "%s: epoll: %s", cfg->name, strerror(errno));
	return 0;
}

int net_tap_open(const struct net_tap_config *cfg, struct net_backend **out, struct err *err)
{
	unsigned nq = cfg->nr_queues ? cfg->nr_queues : 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAP_WAKE };
	struct net_tap *t;
	int ret;

	if (nq > NET_MAX_QUEUES || (!cfg->ifname && !cfg->fds))
		return err_set(err, -EINVAL,
			       "%s: a tap needs an interface name or fds, and 1..%d "
			       "queues",
			       cfg->name, NET_MAX_QUEUES);
	if (!cfg->fds) {
		ret = tap_check_interface(cfg, err);
		if (ret < 0)
			return ret;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	for (unsigned q = 0; q < NET_MAX_QUEUES; q++)
		t->q[q].fd = -1;
	t->wake_fd = -1;
	ret = net_backend_init(&t->be, &tap_ops, cfg->name, err);
	if (ret < 0) {
		free(t);
		return ret;
	}
	t->be.nr_queues = nq;
	if (!cfg->fds) {
		snprintf(t->ifname, sizeof(t->ifname), "%s", cfg->ifname);
		t->be.vnet_hdr_len = cfg->vnet_hdr ? sizeof(struct net_hdr) : 0;
	}
	for (unsigned q = 0; q < nq; q++) {
		ret = cfg->fds ? tap_adopt(t, cfg, q, err) : tap_attach(t, cfg, q, err);
		if (ret == 0)
			ret = tap_setup_queue(t, cfg, q, err);
		if (ret < 0)
			goto err_destroy;
	}
	if (t->be.vnet_hdr_len)
		t->be.caps = t->be.rx_caps =
			NET_CAP_CSUM | NET_CAP_TSO4 | NET_CAP_TSO6 | NET_CAP_ECN;
	t->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wake_fd < 0 || epoll_ctl(t->be.epfd, EPOLL_CTL_ADD, t->wake_fd, &ev) < 0) {
		ret = err_set(err, -errno, "%s: eventfd: %s", cfg->name, strerror(errno));
		goto err_destroy;
	}
	tap_set_rx_caps(&t->be, 0);
	log_info("%s: tap %s, %u queue%s, %s", cfg->name, t->ifname, nq, nq > 1 ? "s" : "",
		 t->be.vnet_hdr_len ? "offloads through the vnet header" : "no vnet header");
	*out = &t->be;
	return 0;

err_destroy:
	if (cfg->fds) /* fds we were given stay the caller's on failure */
		for (unsigned q = 0; q < nq; q++)
			if (t->q[q].fd == cfg->fds[q])
				t->q[q].fd = -1;
	tap_destroy(&t->be);
	return ret;
}
