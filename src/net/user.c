// SPDX-License-Identifier: MIT
/*
 * The user back end (net.h): user-mode networking with libslirp (its libslirp.h is the
 * reference). The guest sees a router at .2 of its /24 (10.0.2.0/24 unless set) that hands
 * out .15 and up by DHCP, answers DNS at .3 by forwarding to the host's resolvers (unless dns
 * is off), and turns the guest's TCP and UDP flows into host sockets; hostfwd rules listen on
 * host ports and connect into the guest. Restricted mode drops every flow out of the VM
 * except the forwarded ones.
 *
 * Main-loop integration without a thread: slirp's sockets sit in this back end's epoll set
 * (net_backend_fd), re-synchronised after each slirp_pollfds_fill with the events slirp asks
 * for (slirp unregisters an fd before it closes it); its timeout and timers drive a timerfd
 * in the same set. Every slirp call runs with the device lock held, so the device's
 * slirp_input (TX) and the main loop's slirp_pollfds_poll never overlap. Frames slirp
 * produces while a device is sending (an ARP or DHCP answer, TCP data released by an ACK,
 * inside slirp_input) wait in the bounded receive queue and reach the device when its
 * transmit round ends (net_backend_tx_done) or from the next poll, never re-entering it.
 *
 * Not done: IPv6 (in6_enabled off), TFTP/bootfile, guestfwd, slirp state in snapshots (flows
 * are host state: they break across a restore as they would across a host restart).
 */
#include "net/net_internal.h"

#include "net/net_offload.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <libslirp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

_Static_assert(SLIRP_CONFIG_VERSION_MAX >= 4, "libslirp 4.7 or newer");

#define USER_TIMER    (1ull << 40) /* epoll data of the timerfd */
#define USER_WAKE     (2ull << 40) /* ... of the wake eventfd */
#define USER_MTU_MAX  65520
#define USER_POLL_MAX 256	  /* epoll events taken per poll */
#define USER_NET      0x0a000200u /* 10.0.2.0 */
#define USER_MASK     0xffffff00u
#define USER_LRO_HDR  54		  /* Ethernet, IPv4 and TCP headers without options */
#define USER_LRO_MAX  (64u * 1024 - 1024) /* payload of one coalesced frame */
#define USER_TCP_ACK  0x10
#define USER_TCP_PSH  0x08

struct user_timer {
	SlirpTimerCb cb; /* timer_new */
	void *cb_opaque;
	SlirpTimerId id; /* timer_new_opaque */
	bool by_id;
	s64 expire_ms; /* -1: not armed */
	struct user_timer *next;
};

struct user_fd {
	u32 want, events; /* epoll events asked in this fill / registered */
	u32 revents;	  /* from the last epoll_wait, valid while rgen == poll_gen */
	u32 mark, rgen;
	bool registered;
};

struct user_frame {
	size_t len;
	u8 data[];
};

struct net_user {
	struct net_backend be; /* first: container_of by cast */
	Slirp *slirp;
	int timer_fd, wake_fd;
	bool wake_pending, in_send, in_poll;
	bool lro_on; /* the device takes TCPV4 segmentation offload frames: coalesce */
	u8 *lro;     /* USER_LRO_HDR + USER_LRO_MAX: one coalesced frame */

	struct {
		int fd;
		int events;
	} * pfds; /* the last fill, by slirp's index */

	unsigned nr_pfds, cap_pfds;
	struct user_fd *fds; /* by fd number */
	unsigned cap_fds;
	int *reg; /* fds registered in the epoll set */
	unsigned nr_reg, cap_reg;
	u32 gen, poll_gen;
	struct user_frame *rxq[NET_RX_QUEUE_FRAMES];
	unsigned rx_head, rx_count;
	struct user_timer *timers;
	char addr[32]; /* the guest's first DHCP address, for logs */
};

static s64 user_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (s64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void user_wake(struct net_user *u)
{
	if (u->wake_pending)
		return;
	u->wake_pending = true;
	if (eventfd_write(u->wake_fd, 1) < 0)
		log_warn("%s: cannot wake the main loop: %s", u->be.name, strerror(errno));
}

/* ---- frames for the guest ---- */

/* ---- coalescing for a device that takes TCP segmentation offload frames ---- */

/* A plain TCP/IPv4 segment with data: no IP or TCP options, only ACK (and PSH) set. */
static bool user_lro_seg(const struct user_frame *f, struct net_layers *l)
{
	u8 flags;

	if (net_parse(f->data, f->len, l) || l->ipv6 || l->proto != NET_IPPROTO_TCP ||
	    l->fragment || l->l3_off != NET_ETH_HLEN || l->l4_off != USER_LRO_HDR - 20 ||
	    l->hdr_len != USER_LRO_HDR || l->l4_off + l->l4_len != f->len)
		return false;
	flags = f->data[l->l4_off + 13];
	return (flags & USER_TCP_ACK) && !(flags & ~(USER_TCP_ACK | USER_TCP_PSH)) &&
	       f->len > USER_LRO_HDR;
}

static u32 user_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

/*
 * Merge the queued segments of one flow from rx_head on (in sequence, full-sized but the last)
 * into u->lro: one frame with a TCPV4 segmentation header, as a host NIC's LRO makes them, so
 * the guest's stack takes up to 64 KiB at once. Returns how many frames it took (0 or 1: no
 * merge, deliver the head as it is).
 */
static unsigned user_lro_merge(struct net_user *u, struct net_hdr *hdr, size_t *len)
{
	const struct user_frame *f = u->rxq[u->rx_head];
	size_t mss = f->len - USER_LRO_HDR, total = mss;
	u32 seq = user_be32(f->data + 38) + (u32)mss, sum;
	struct net_layers l;
	unsigned n = 1;
	u8 flags;

	if (!user_lro_seg(f, &l))
		return 0;
	memcpy(u->lro, f->data, f->len);
	flags = f->data[47];
	while (n < u->rx_count) {
		const struct user_frame *g = u->rxq[(u->rx_head + n) % NET_RX_QUEUE_FRAMES];
		size_t pl = g->len - USER_LRO_HDR;

		if (!user_lro_seg(g, &l) || memcmp(g->data + 26, f->data + 26, 12) ||
		    user_be32(g->data + 38) != seq || pl > mss || total + pl > USER_LRO_MAX)
			break;
		memcpy(u->lro + USER_LRO_HDR + total, g->data + USER_LRO_HDR, pl);
		memcpy(u->lro + 42, g->data + 42, 4); /* the newest ACK and window */
		memcpy(u->lro + 48, g->data + 48, 2);
		flags |= g->data[47];
		total += pl;
		seq += (u32)pl;
		n++;
		if (pl < mss)
			break; /* a short segment ends the run */
	}
	if (n < 2)
		return 1;
	*len = USER_LRO_HDR + total;
	u->lro[16] = (u8)((*len - NET_ETH_HLEN) >> 8);
	u->lro[17] = (u8)(*len - NET_ETH_HLEN);
	u->lro[47] = flags;
	if (net_parse(u->lro, *len, &l))
		return 1;	    /* cannot happen: every part was parsed */
	net_fill_csums(u->lro, &l); /* the IP header's; the TCP one is replaced below */
	/* NEEDS_CSUM: the TCP field holds the pseudo-header sum, the rest is the guest's. */
	sum = net_csum_add(0, u->lro + 26, 8);
	sum = net_csum_add(
		sum, (u8[]){ 0, NET_IPPROTO_TCP, (u8)((*len - 34) >> 8), (u8)(*len - 34) }, 4);
	sum = (u16)~net_csum_fold(sum);
	u->lro[50] = (u8)(sum >> 8);
	u->lro[51] = (u8)sum;
	*hdr = (struct net_hdr){ .flags = NET_HDR_F_NEEDS_CSUM,
				 .gso_type = NET_HDR_GSO_TCPV4,
				 .hdr_len = USER_LRO_HDR,
				 .gso_size = (u16)mss,
				 .csum_start = 34,
				 .csum_offset = 16 };
	u->be.stats.rx_coalesced += n;
	return n;
}

static void user_rx_flush(struct net_user *u)
{
	while (u->rx_count) {
		struct user_frame *f = u->rxq[u->rx_head];
		struct net_hdr hdr = { .flags = NET_HDR_F_DATA_VALID };
		struct iovec iov = { .iov_base = f->data, .iov_len = f->len };
		unsigned n = 0;
		size_t len = f->len;

		if (u->lro_on && u->rx_count > 1)
			n = user_lro_merge(u, &hdr, &len);
		if (n > 1)
			iov = (struct iovec){ .iov_base = u->lro, .iov_len = len };
		else
			n = 1;
		if (net_backend_deliver(&u->be, 0, &hdr, &iov, 1, len) == -EAGAIN)
			return;
		for (unsigned i = 0; i < n; i++) {
			free(u->rxq[u->rx_head]);
			u->rxq[u->rx_head] = NULL;
			u->rx_head = (u->rx_head + 1) % NET_RX_QUEUE_FRAMES;
			u->rx_count--;
		}
	}
}

static void user_rx_enqueue(struct net_user *u, const void *buf, size_t len)
{
	struct user_frame *f;

	if (u->rx_count == NET_RX_QUEUE_FRAMES || !(f = malloc(sizeof(*f) + len))) {
		u->be.stats.rx_dropped++; /* TCP resends; the guest is not taking frames */
		return;
	}
	f->len = len;
	memcpy(f->data, buf, len);
	u->rxq[(u->rx_head + u->rx_count++) % NET_RX_QUEUE_FRAMES] = f;
}

/* slirp has a frame for the guest. */
static ssize_t user_cb_send(const void *buf, size_t len, void *opaque)
{
	struct net_user *u = opaque;
	struct net_hdr hdr = { .flags = NET_HDR_F_DATA_VALID };
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	if (u->in_poll && u->rx_count == NET_RX_QUEUE_FRAMES)
		user_rx_flush(u); /* the main loop's poll: the device may be called */
	if (u->in_send || u->in_poll || u->rx_count) {
		/* Never re-enter the sending device; keep the order; let a burst coalesce. */
		user_rx_enqueue(u, buf, len);
		if (u->in_send)
			user_wake(u);
		return (ssize_t)len;
	}
	if (net_backend_deliver(&u->be, 0, &hdr, &iov, 1, len) == -EAGAIN)
		user_rx_enqueue(u, buf, len);
	return (ssize_t)len;
}

/* ---- slirp callbacks ---- */

static void user_cb_guest_error(const char *msg, void *opaque)
{
	struct net_user *u = opaque;

	log_guest("%s: slirp: %s", u->be.name, msg);
}

static int64_t user_cb_clock(void *opaque)
{
	(void)opaque;
	return user_now_ns();
}

static struct user_timer *user_timer_add(struct net_user *u)
{
	struct user_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void *user_cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct user_timer *t = user_timer_add(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *user_cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct user_timer *t = user_timer_add(opaque);

	if (t) {
		t->by_id = true;
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void user_cb_timer_free(void *timer, void *opaque)
{
	struct net_user *u = opaque;

	for (struct user_timer **pp = &u->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = (*pp)->next;
			free(timer);
			return;
		}
	}
}

static void user_cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_timer *t = timer;

	t->expire_ms = expire_ms;
	user_wake(opaque); /* the timerfd is set again after the next poll */
}

static void user_cb_register_fd(int fd, void *opaque)
{
	(void)fd;
	user_wake(opaque); /* a new socket: the next fill watches it */
}

static void user_cb_unregister_fd(int fd, void *opaque)
{
	struct net_user *u = opaque;

	if (fd < 0 || (unsigned)fd >= u->cap_fds || !u->fds[fd].registered)
		return;
	epoll_ctl(u->be.epfd, EPOLL_CTL_DEL, fd, NULL);
	u->fds[fd].registered = false;
	for (unsigned i = 0; i < u->nr_reg; i++) {
		if (u->reg[i] == fd) {
			u->reg[i] = u->reg[--u->nr_reg];
			break;
		}
	}
}

static void user_cb_notify(void *opaque)
{
	user_wake(opaque);
}

static const SlirpCb user_callbacks = {
	.send_packet = user_cb_send,
	.guest_error = user_cb_guest_error,
	.clock_get_ns = user_cb_clock,
	.timer_new = user_cb_timer_new,
	.timer_free = user_cb_timer_free,
	.timer_mod = user_cb_timer_mod,
	.register_poll_fd = user_cb_register_fd,
	.unregister_poll_fd = user_cb_unregister_fd,
	.notify = user_cb_notify,
	.timer_new_opaque = user_cb_timer_new_opaque,
};

/* ---- the epoll set ---- */

static int user_grow(void **arr, unsigned *cap, unsigned need, size_t elem)
{
	unsigned n = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * elem);
	if (!p)
		return -ENOMEM;
	memset((char *)p + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
	*arr = p;
	*cap = n;
	return 0;
}

static int user_cb_add_poll(int fd, int events, void *opaque)
{
	struct net_user *u = opaque;
	u32 ev = 0;

	if (fd < 0 ||
	    user_grow((void **)&u->pfds, &u->cap_pfds, u->nr_pfds + 1, sizeof(*u->pfds)) ||
	    user_grow((void **)&u->fds, &u->cap_fds, (unsigned)fd + 1, sizeof(*u->fds)))
		return -1; /* slirp treats the fd as not polled this round */
	u->pfds[u->nr_pfds].fd = fd;
	u->pfds[u->nr_pfds].events = events;
	if (events & SLIRP_POLL_IN)
		ev |= EPOLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= EPOLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= EPOLLPRI;
	if (u->fds[fd].mark != u->gen) {
		u->fds[fd].mark = u->gen;
		u->fds[fd].want = 0;
	}
	u->fds[fd].want |= ev;
	return (int)u->nr_pfds++;
}

static void user_epoll_set(struct net_user *u, int fd, int op, u32 events)
{
	struct epoll_event e = { .events = events, .data.u64 = (u64)(unsigned)fd };

	if (epoll_ctl(u->be.epfd, op, fd, &e) == 0)
		return;
	if (op == EPOLL_CTL_MOD && errno == ENOENT &&
	    epoll_ctl(u->be.epfd, EPOLL_CTL_ADD, fd, &e) == 0)
		return;
	log_warn("%s: epoll on slirp socket %d: %s", u->be.name, fd, strerror(errno));
}

/* Ask slirp what to watch, make the epoll set say the same, arm the timerfd. */
static void user_refill(struct net_user *u)
{
	struct itimerspec its = { 0 };
	uint32_t timeout = UINT32_MAX;
	s64 now_ms = user_now_ns() / 1000000;

	u->gen++;
	u->nr_pfds = 0;
	slirp_pollfds_fill(u->slirp, &timeout, user_cb_add_poll, u);
	for (unsigned i = 0; i < u->nr_reg;) {
		int fd = u->reg[i];

		if (u->fds[fd].mark == u->gen) {
			i++;
			continue;
		}
		epoll_ctl(u->be.epfd, EPOLL_CTL_DEL, fd, NULL);
		u->fds[fd].registered = false;
		u->reg[i] = u->reg[--u->nr_reg];
	}
	for (unsigned i = 0; i < u->nr_pfds; i++) {
		int fd = u->pfds[i].fd;
		struct user_fd *f = &u->fds[fd];

		if (!f->registered) {
			if (user_grow((void **)&u->reg, &u->cap_reg, u->nr_reg + 1, sizeof(int)))
				continue;
			user_epoll_set(u, fd, EPOLL_CTL_ADD, f->want);
			f->registered = true;
			f->events = f->want;
			u->reg[u->nr_reg++] = fd;
		} else if (f->events != f->want) {
			user_epoll_set(u, fd, EPOLL_CTL_MOD, f->want);
			f->events = f->want;
		}
	}
	for (struct user_timer *t = u->timers; t; t = t->next) {
		if (t->expire_ms < 0)
			continue;
		if (t->expire_ms <= now_ms)
			timeout = 0;
		else if ((u64)(t->expire_ms - now_ms) < timeout)
			timeout = (uint32_t)(t->expire_ms - now_ms);
	}
	if (timeout != UINT32_MAX) {
		u64 ns = timeout ? (u64)timeout * 1000000 : 1;

		its.it_value.tv_sec = (time_t)(ns / 1000000000);
		its.it_value.tv_nsec = (long)(ns % 1000000000);
	}
	timerfd_settime(u->timer_fd, 0, &its, NULL);
}

static int user_cb_get_revents(int idx, void *opaque)
{
	struct net_user *u = opaque;
	const struct user_fd *f;
	int r = 0;

	if (idx < 0 || (unsigned)idx >= u->nr_pfds)
		return 0;
	f = &u->fds[u->pfds[idx].fd];
	if (f->rgen != u->poll_gen)
		return 0;
	if (f->revents & EPOLLIN)
		r |= SLIRP_POLL_IN;
	if (f->revents & EPOLLOUT)
		r |= SLIRP_POLL_OUT;
	if (f->revents & EPOLLPRI)
		r |= SLIRP_POLL_PRI;
	if (f->revents & EPOLLERR)
		r |= SLIRP_POLL_ERR;
	if (f->revents & EPOLLHUP)
		r |= SLIRP_POLL_HUP;
	return r;
}

static void user_run_timers(struct net_user *u)
{
	s64 now_ms = user_now_ns() / 1000000;
	bool again = true;

	/* A callback may free or re-arm timers: rescan after each. */
	while (again) {
		again = false;
		for (struct user_timer *t = u->timers; t; t = t->next) {
			if (t->expire_ms < 0 || t->expire_ms > now_ms)
				continue;
			t->expire_ms = -1;
			if (t->by_id)
				slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
			else if (t->cb)
				t->cb(t->cb_opaque);
			again = true;
			break;
		}
	}
}

static void user_poll(struct net_backend *be, pthread_mutex_t *lock)
{
	struct net_user *u = (struct net_user *)be;
	struct epoll_event evs[USER_POLL_MAX];
	int n = epoll_wait(be->epfd, evs, USER_POLL_MAX, 0);
	u64 v;

	(void)lock; /* held throughout: slirp calls the device from inside its socket handling */
	u->poll_gen++;
	for (int i = 0; i < n; i++) {
		u64 d = evs[i].data.u64;

		if (d == USER_TIMER) {
			(void)read(u->timer_fd, &v, sizeof(v));
		} else if (d == USER_WAKE) {
			(void)eventfd_read(u->wake_fd, &v);
			u->wake_pending = false;
		} else if (d < u->cap_fds) {
			u->fds[d].revents = evs[i].events;
			u->fds[d].rgen = u->poll_gen;
		}
	}
	u->in_poll = true;
	slirp_pollfds_poll(u->slirp, n < 0, user_cb_get_revents, u);
	user_run_timers(u);
	u->in_poll = false;
	user_rx_flush(u);
	user_refill(u);
}

static int user_send(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
		     const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct net_user *u = (struct net_user *)be;
	const u8 *frame = iov[0].iov_base;

	(void)q, (void)hdr;
	if (iovcnt > 1) {
		size_t off = 0;

		for (unsigned i = 0; i < iovcnt; i++) {
			memcpy(be->linear + off, iov[i].iov_base, iov[i].iov_len);
			off += iov[i].iov_len;
		}
		frame = be->linear;
	}
	u->in_send = true;
	slirp_input(u->slirp, frame, (int)len);
	u->in_send = false;
	user_wake(u); /* new flows or data to write: the next poll refills the epoll set */
	return 0;
}

/* The device's transmit round is over: what slirp answered meanwhile goes now. */
static void user_tx_done(struct net_backend *be)
{
	struct net_user *u = (struct net_user *)be;

	if (u->rx_count)
		user_rx_flush(u);
}

static unsigned user_set_rx_caps(struct net_backend *be, unsigned caps)
{
	struct net_user *u = (struct net_user *)be;

	u->lro_on = (caps & NET_CAP_CSUM) && (caps & NET_CAP_TSO4);
	return u->lro_on ? NET_CAP_CSUM | NET_CAP_TSO4 : 0;
}

static void user_rx_ready(struct net_backend *be, unsigned q)
{
	struct net_user *u = (struct net_user *)be;

	(void)q;
	if (u->rx_count)
		user_wake(u);
}

static void user_destroy(struct net_backend *be)
{
	struct net_user *u = (struct net_user *)be;

	if (be->stats.rx_coalesced)
		log_info("%s: %llu frames to the guest, %llu of them coalesced into larger ones",
			 be->name, (unsigned long long)be->stats.rx_frames,
			 (unsigned long long)be->stats.rx_coalesced);
	if (u->slirp)
		slirp_cleanup(u->slirp);
	while (u->timers) {
		struct user_timer *t = u->timers;

		u->timers = t->next;
		free(t);
	}
	for (unsigned i = 0; i < u->rx_count; i++)
		free(u->rxq[(u->rx_head + i) % NET_RX_QUEUE_FRAMES]);
	if (u->timer_fd >= 0)
		close(u->timer_fd);
	if (u->wake_fd >= 0)
		close(u->wake_fd);
	free(u->pfds);
	free(u->fds);
	free(u->reg);
	free(u->lro);
	net_backend_fini(be);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.kind = "user",
	.send = user_send,
	.rx_ready = user_rx_ready,
	.tx_done = user_tx_done,
	.set_rx_caps = user_set_rx_caps,
	.poll = user_poll,
	.destroy = user_destroy,
};

static struct in_addr user_in(u32 host_order)
{
	return (struct in_addr){ .s_addr = htonl(host_order) };
}

static const char *user_ip(u32 a, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
	return buf;
}

static int user_add_fwds(struct net_user *u, const struct net_user_config *cfg, u32 guest,
			 struct err *err)
{
	for (unsigned i = 0; i < cfg->nr_fwd; i++) {
		const struct net_hostfwd *f = &cfg->fwd[i];
		u32 host = f->host_addr ? f->host_addr : 0x7f000001u;
		char hb[16], gb[16];
		int e;

		errno = 0;
		if (slirp_add_hostfwd(u->slirp, f->udp, user_in(host), f->host_port,
				      user_in(f->guest_addr ? f->guest_addr : guest),
				      f->guest_port) == 0) {
			log_info("%s: host %s %s:%u forwards to guest %s:%u", cfg->name,
				 f->udp ? "udp" : "tcp", user_ip(host, hb, sizeof(hb)),
				 f->host_port,
				 user_ip(f->guest_addr ? f->guest_addr : guest, gb, sizeof(gb)),
				 f->guest_port);
			continue;
		}
		e = errno ? errno : EADDRINUSE;
		return err_set(err, -e, "%s: cannot listen on %s %s:%u: %s%s",
			       cfg->fwd_names ? cfg->fwd_names[i] : cfg->name,
			       f->udp ? "udp" : "tcp", user_ip(host, hb, sizeof(hb)), f->host_port,
			       strerror(e),
			       e == EADDRINUSE ? " (another program has that port)" : "");
	}
	return 0;
}

static int user_start(struct net_user *u, const struct net_user_config *cfg, struct err *err)
{
	u32 net = cfg->net ? cfg->net : USER_NET, mask = cfg->mask ? cfg->mask : USER_MASK;
	unsigned mtu = cfg->mtu ? cfg->mtu : 1500;
	SlirpConfig sc = {
		.version = 4,
		.restricted = cfg->restrict_out,
		.in_enabled = true,
		.vnetwork = user_in(net),
		.vnetmask = user_in(mask),
		.vhost = user_in(net | 2),
		.vhostname = cfg->hostname,
		.vdhcp_start = user_in(net | 15),
		.vnameserver = user_in(net | 3),
		.if_mtu = mtu,
		.if_mru = mtu,
		.disable_dns = !cfg->dns,
	};
	struct epoll_event tev = { .events = EPOLLIN, .data.u64 = USER_TIMER };
	struct epoll_event wev = { .events = EPOLLIN, .data.u64 = USER_WAKE };

	if (mtu < 576 || mtu > USER_MTU_MAX || (net & ~mask) || (~mask & (~mask + 1)) ||
	    (~mask) < 16)
		return err_set(err, -EINVAL, "%s: MTU %u or network %#x/%#x not usable", cfg->name,
			       mtu, net, mask);
	u->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (u->timer_fd < 0 || u->wake_fd < 0 ||
	    epoll_ctl(u->be.epfd, EPOLL_CTL_ADD, u->timer_fd, &tev) < 0 ||
	    epoll_ctl(u->be.epfd, EPOLL_CTL_ADD, u->wake_fd, &wev) < 0)
		return err_set(err, -errno, "%s: %s", cfg->name, strerror(errno));
	u->lro = malloc(USER_LRO_HDR + USER_LRO_MAX);
	if (!u->lro)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	u->be.rx_caps = NET_CAP_CSUM | NET_CAP_TSO4; /* by coalescing (user_lro_merge) */
	u->slirp = slirp_new(&sc, &user_callbacks, u);
	if (!u->slirp)
		return err_set(err, -ENOMEM, "%s: libslirp did not start", cfg->name);
	user_ip(net | 15, u->addr, sizeof(u->addr));
	return user_add_fwds(u, cfg, net | 15, err);
}

int net_user_open(const struct net_user_config *cfg, struct net_backend **out, struct err *err)
{
	struct net_user *u = calloc(1, sizeof(*u));
	char nb[16];
	int ret;

	if (!u)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	u->timer_fd = u->wake_fd = -1;
	ret = net_backend_init(&u->be, &user_ops, cfg->name, err);
	if (ret < 0) {
		free(u);
		return ret;
	}
	ret = user_start(u, cfg, err);
	if (ret < 0) {
		user_destroy(&u->be);
		return ret;
	}
	user_refill(u);
	log_info("%s: user networking (libslirp %s) on %s/%d, guest address %s by DHCP%s%s",
		 cfg->name, slirp_version_string(),
		 user_ip(cfg->net ? cfg->net : USER_NET, nb, sizeof(nb)),
		 __builtin_popcount(cfg->mask ? cfg->mask : USER_MASK), u->addr,
		 cfg->dns ? ", DNS forwarded" : ", no DNS",
		 cfg->restrict_out ? ", restricted" : "");
	*out = &u->be;
	return 0;
}
