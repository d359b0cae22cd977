// SPDX-License-Identifier: MIT
/*
 * The network back ends (src/net) without any device:
 *  - offloads: RFC 1071 checksums and their insertion, the IEEE 802.3 CRC-32 check value,
 *    header parsing refusals, TCP segmentation (lengths, sequence numbers, flags, checksums);
 *  - user (libslirp): a DHCP DISCOVER from a fake device gets an OFFER of 10.0.2.15 from
 *    10.0.2.2 on the next polls; an ARP request for the gateway gets a reply; a hostfwd rule
 *    listens on a host port and a host connection to it becomes a TCP SYN to the guest's port;
 *    a port already taken is refused at start, naming the rule; frames the device cannot take
 *    wait in a queue of at most NET_RX_QUEUE_FRAMES and come once it calls rx_ready;
 *  - tap (needs root, /dev/net/tun and a private network namespace; counted skips otherwise):
 *    a missing interface, a TUN, a single-queue TAP for two queues are refused with the fix in
 *    the message; frames go both ways through a real TAP (an AF_PACKET socket on the host side),
 *    with a vnet header when asked, and receiving stops while the device has no buffer.
 */
#include "net/net.h"
#include "net/net_offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* ---- a device double ---- */

struct peer {
	int answer; /* what receive returns */
	unsigned frames, tx_ready;
	u8 last[NET_MAX_FRAME];
	size_t last_len;
	struct net_hdr last_hdr;
	bool saw_offer, saw_arp_reply, saw_syn;
	unsigned experimental; /* frames of ethertype 0x88b5 (IEEE 802 local experimental) */
	u16 syn_port;
	bool polling;	   /* inside poll_until's net_backend_poll, with dev_lock held */
	unsigned unlocked; /* frames received while polling without dev_lock held */
};

/* The device lock as the main loop holds it around net_backend_poll. */
static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;

static int peer_receive(void *opaque, unsigned q, const struct net_hdr *hdr,
			const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct peer *p = opaque;
	size_t off = 0;

	(void)q;
	if (p->polling && pthread_mutex_trylock(&dev_lock) == 0) {
		p->unlocked++; /* a back end forgot to take the lock back */
		pthread_mutex_unlock(&dev_lock);
	}
	if (p->answer)
		return p->answer;
	for (unsigned i = 0; i < iovcnt; i++, off += iov[i - 1].iov_len)
		memcpy(p->last + off, iov[i].iov_base, iov[i].iov_len);
	p->last_len = len;
	p->last_hdr = hdr ? *hdr : (struct net_hdr){ 0 };
	p->frames++;
	if (len > 14 + 20 + 8 + 240 && p->last[23] == NET_IPPROTO_UDP && p->last[37] == 68)
		p->saw_offer = true; /* UDP to port 68: the DHCP answer */
	if (len >= 14 && p->last[12] == 0x88 && p->last[13] == 0xb5)
		p->experimental++;
	if (len >= 42 && p->last[12] == 0x08 && p->last[13] == 0x06 && p->last[21] == 2)
		p->saw_arp_reply = true;
	if (len >= 54 && p->last[23] == NET_IPPROTO_TCP && (p->last[47] & 0x12) == 0x02) {
		p->saw_syn = true;
		p->syn_port = (u16)(p->last[36] << 8 | p->last[37]);
	}
	return 0;
}

static void peer_tx_ready(void *opaque, unsigned q)
{
	(void)q;
	((struct peer *)opaque)->tx_ready++;
}

static void attach(struct net_backend *be, struct peer *p)
{
	struct net_peer np = { .receive = peer_receive, .tx_ready = peer_tx_ready, .opaque = p };

	net_backend_set_peer(be, &np);
}

static s64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (s64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Poll the back end (as the main loop would) until cond holds or ms pass. */
static bool poll_until(struct net_backend *be, bool (*cond)(const struct peer *), struct peer *p,
		       int ms)
{
	struct pollfd pfd = { .fd = net_backend_fd(be), .events = POLLIN };

	for (s64 end = now_ms() + ms; now_ms() < end;) {
		if (poll(&pfd, 1, 10) > 0) {
			pthread_mutex_lock(&dev_lock);
			p->polling = true;
			net_backend_poll(be, &dev_lock);
			p->polling = false;
			/* held again on return (trylock fails: a default mutex is not recursive) */
			assert_int_equal(pthread_mutex_trylock(&dev_lock), EBUSY);
			pthread_mutex_unlock(&dev_lock);
		}
		if (cond(p))
			return true;
	}
	return cond(p);
}

/* ---- offloads ---- */

static void test_checksums_and_crc(void **state)
{
	/* RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d */
	static const u8 rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	u8 b[10] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0, 0 };

	(void)state;
	assert_int_equal(net_csum_fold(net_csum_add(0, rfc, sizeof(rfc))), 0x220d);
	assert_int_equal(net_csum_fill(b, sizeof(b), 0, 8, 0), 0);
	assert_int_equal(b[8] << 8 | b[9], 0x220d);
	assert_int_equal(net_csum_fold(net_csum_add(0, b, sizeof(b))), 0); /* it verifies */
	assert_int_equal(net_csum_fill(b, sizeof(b), 0, 9, 0), -EINVAL);   /* field past the end */
	assert_int_equal(net_csum_fill(b, sizeof(b), 12, 0, 0), -EINVAL);
	/* the CRC-32 check value of "123456789" (IEEE 802.3) */
	assert_int_equal(net_crc32("123456789", 9), 0xcbf43926u);
}

/* The sums and the CRC over every alignment and length up to 300 bytes and a 64 KiB frame,
 * against the definitions computed a byte at a time (the word-at-a-time checksum and zlib's
 * CRC must agree with them, including odd tails and carries out of every position). */
static u32 ref_csum(u32 sum, const u8 *p, size_t len)
{
	u64 s = sum;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (u32)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (u32)p[len - 1] << 8;
	while (s >> 32)
		s = (s & 0xffffffffu) + (s >> 32);
	return (u32)s;
}

static u32 ref_crc(const u8 *p, size_t len)
{
	u32 crc = 0xffffffffu;

	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
	}
	return ~crc;
}

static void test_checksums_match_definition(void **state)
{
	static u8 buf[65536 + 8];
	u32 seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (u8)(seed >> 16);
	}
	memset(buf + 1000, 0xff, 4000); /* long runs of all-ones words: carries on every add */
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++) {
			u32 start = len * 2654435761u;

			assert_int_equal(net_csum_fold(net_csum_add(start, buf + off, len)),
					 net_csum_fold(ref_csum(start, buf + off, len)));
			assert_int_equal(net_crc32(buf + off, len), ref_crc(buf + off, len));
		}
	assert_int_equal(net_csum_fold(net_csum_add(0xffffffffu, buf + 1000, 4000)),
			 net_csum_fold(ref_csum(0xffffffffu, buf + 1000, 4000)));
	assert_int_equal(net_csum_fold(net_csum_add(0, buf + 3, 65536)),
			 net_csum_fold(ref_csum(0, buf + 3, 65536)));
	assert_int_equal(net_crc32(buf + 1, 65536), ref_crc(buf + 1, 65536));
}

/* A TCP/IPv4 frame of payload bytes with valid checksums; returns its length. */
static size_t tcp4(u8 *b, size_t payload, u8 flags)
{
	size_t len = 54 + payload;
	struct net_layers l;

	memset(b, 0, len);
	memcpy(b, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
	b[14] = 0x45, b[16] = (u8)((len - 14) >> 8), b[17] = (u8)(len - 14);
	b[18] = 0x12, b[19] = 0x34, b[22] = 64, b[23] = NET_IPPROTO_TCP;
	memcpy(b + 26, "\x0a\x00\x02\x0f\x0a\x00\x02\x02", 8);
	b[34] = 0x04, b[35] = 0xd2, b[37] = 80;
	b[38] = 0xff, b[39] = 0xff, b[40] = 0xff, b[41] = 0xf0; /* a sequence that wraps */
	b[46] = 0x50, b[47] = flags, b[48] = 0xff;
	for (size_t i = 0; i < payload; i++)
		b[54 + i] = (u8)(i * 7);
	assert_int_equal(net_parse(b, len, &l), 0);
	net_fill_csums(b, &l);
	return len;
}

struct segs {
	unsigned n;
	u8 frames[8][1600];
	size_t len[8];
};

static int collect(void *opaque, const u8 *frame, size_t len)
{
	struct segs *s = opaque;

	if (s->n == 8)
		return -ENOSPC;
	memcpy(s->frames[s->n], frame, len);
	s->len[s->n++] = len;
	return 0;
}

static void test_parse_and_segment(void **state)
{
	static u8 b[54 + 3000], scratch[2048];
	static struct segs s;
	size_t len = tcp4(b, 3000, 0x19); /* FIN PSH ACK */
	struct net_layers l;
	u32 seq = 0xfffffff0u;

	(void)state;
	assert_int_equal(net_parse(b, len, &l), 0);
	assert_int_equal(l.l3_off, 14);
	assert_int_equal(l.l4_off, 34);
	assert_int_equal(l.hdr_len, 54);
	assert_true(net_ip_csum_ok(b, &l));
	assert_true(net_l4_csum_ok(b, &l));
	assert_int_equal(net_tso_segment(b, len, &l, 1400, scratch, collect, &s), 3);
	for (unsigned i = 0; i < 3; i++) {
		struct net_layers sl;
		u32 sseq;

		assert_int_equal(net_parse(s.frames[i], s.len[i], &sl), 0);
		assert_true(net_ip_csum_ok(s.frames[i], &sl));
		assert_true(net_l4_csum_ok(s.frames[i], &sl));
		assert_int_equal(s.frames[i][16] << 8 | s.frames[i][17], s.len[i] - 14);
		assert_int_equal(s.frames[i][18] << 8 | s.frames[i][19], 0x1234 + i); /* IP ID */
		sseq = (u32)s.frames[i][38] << 24 | s.frames[i][39] << 16 | s.frames[i][40] << 8 |
		       s.frames[i][41];
		assert_int_equal(sseq, seq);
		seq += (u32)(s.len[i] - 54);
		assert_int_equal(s.frames[i][47], i == 2 ? 0x19 : 0x10); /* FIN, PSH on the last */
	}
	assert_int_equal(s.len[2], 54 + 200);
	/* refusals */
	assert_int_equal(net_tso_segment(b, len, &l, 10, scratch, collect, &s), -EINVAL);
	assert_int_equal(net_parse(b, 20, &l), -EINVAL); /* truncated */
	b[17] = 0xff;					 /* IP length past the frame */
	assert_int_equal(net_parse(b, len, &l), -EINVAL);
	b[12] = 0x88, b[13] = 0xcc; /* not IP */
	assert_int_equal(net_parse(b, len, &l), -EINVAL);
	b[12] = 0x81, b[13] = 0x00; /* a VLAN tag, then nothing */
	assert_int_equal(net_parse(b, 16, &l), -EINVAL);
}

/* ---- user (libslirp) ---- */

static bool got_offer(const struct peer *p)
{
	return p->saw_offer;
}

static bool got_arp(const struct peer *p)
{
	return p->saw_arp_reply;
}

static bool got_syn(const struct peer *p)
{
	return p->saw_syn;
}

static bool got_frames(const struct peer *p)
{
	return p->frames >= 3;
}

static const u8 GUEST_MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

/* A DHCP DISCOVER (RFC 2131) from GUEST_MAC, broadcast. */
static size_t dhcp_discover(u8 *b)
{
	size_t len = 14 + 20 + 8 + 240 + 4;
	u8 *ip = b + 14, *udp = ip + 20, *bootp = udp + 8;
	struct net_layers l;

	memset(b, 0, len);
	memset(b, 0xff, 6);
	memcpy(b + 6, GUEST_MAC, 6);
	b[12] = 0x08;
	ip[0] = 0x45, ip[2] = (u8)((len - 14) >> 8), ip[3] = (u8)(len - 14), ip[8] = 64;
	ip[9] = NET_IPPROTO_UDP;
	memset(ip + 16, 0xff, 4);
	udp[1] = 68, udp[3] = 67, udp[4] = (u8)((len - 34) >> 8), udp[5] = (u8)(len - 34);
	bootp[0] = 1, bootp[1] = 1, bootp[2] = 6, bootp[4] = 0x39;
	memcpy(bootp + 28, GUEST_MAC, 6);
	memcpy(bootp + 236, "\x63\x82\x53\x63", 4); /* the magic cookie */
	memcpy(bootp + 240, "\x35\x01\x01\xff", 4); /* DHCPDISCOVER, end */
	assert_int_equal(net_parse(b, len, &l), 0);
	net_fill_csums(b, &l);
	return len;
}

static size_t arp_request(u8 *b, u32 target)
{
	memset(b, 0, 42);
	memset(b, 0xff, 6);
	memcpy(b + 6, GUEST_MAC, 6);
	b[12] = 0x08, b[13] = 0x06;
	b[15] = 1, b[16] = 0x08, b[18] = 6, b[19] = 4, b[21] = 1;
	memcpy(b + 22, GUEST_MAC, 6);
	memcpy(b + 28, "\x0a\x00\x02\x0f", 4);
	b[38] = (u8)(target >> 24), b[39] = (u8)(target >> 16), b[40] = (u8)(target >> 8);
	b[41] = (u8)target;
	return 42;
}

static int send_frame(struct net_backend *be, const u8 *b, size_t len)
{
	struct iovec iov = { .iov_base = (void *)b, .iov_len = len };

	return net_send(be, 0, NULL, &iov, 1, len);
}

static u16 free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	close(s);
	return ntohs(a.sin_port);
}

static void test_user_dhcp_arp_hostfwd(void **state)
{
	static struct peer p;
	static u8 b[600];
	u16 port = free_port();
	struct net_hostfwd fwd = { .host_port = port, .guest_port = 22 };
	struct net_user_config cfg = { .name = "net0", .dns = true, .fwd = &fwd, .nr_fwd = 1 };
	struct net_backend *be;
	struct err err = { 0 };
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct net_stats st;
	int s;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(net_user_open(&cfg, &be, &err), 0);
	assert_string_equal(net_backend_kind(be), "user");
	assert_int_equal(net_backend_caps(be), 0); /* every offload is done in software */
	attach(be, &p);
	assert_int_equal(send_frame(be, b, dhcp_discover(b)), 0);
	assert_true(poll_until(be, got_offer, &p, 2000));
	assert_int_equal(
		memcmp(p.last, GUEST_MAC, 6) && memcmp(p.last, "\xff\xff\xff\xff\xff\xff", 6), 0);
	assert_memory_equal(p.last + 14 + 12, "\x0a\x00\x02\x02", 4);	       /* from 10.0.2.2 */
	assert_memory_equal(p.last + 14 + 20 + 8 + 16, "\x0a\x00\x02\x0f", 4); /* yiaddr .15 */
	assert_true(p.last_hdr.flags & NET_HDR_F_DATA_VALID);
	assert_int_equal(send_frame(be, b, arp_request(b, 0x0a000202)), 0);
	assert_true(poll_until(be, got_arp, &p, 2000));
	/* a host client of the forwarded port: slirp opens the connection to the guest */
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	(void)connect(s, (struct sockaddr *)&a, sizeof(a));
	assert_true(poll_until(be, got_syn, &p, 3000));
	assert_int_equal(p.syn_port, 22);
	close(s);
	net_backend_stats(be, &st);
	assert_true(st.tx_frames >= 2);
	assert_true(st.rx_frames >= 3);
	net_backend_destroy(be);
}

static void test_user_port_in_use(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct net_hostfwd fwd = { .guest_port = 22 };
	const char *names[] = { "hostfwd[0] \"tcp:127.0.0.1:N-:22\"" };
	struct net_user_config cfg = {
		.name = "net0", .fwd = &fwd, .nr_fwd = 1, .fwd_names = names
	};
	struct net_backend *be = NULL;
	struct err err = { 0 };

	(void)state;
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s, 1), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
	fwd.host_port = ntohs(a.sin_port);
	assert_true(net_user_open(&cfg, &be, &err) < 0);
	assert_null(be);
	assert_non_null(strstr(err.msg, "hostfwd[0]"));
	assert_non_null(strstr(err.msg, "cannot listen on tcp 127.0.0.1:"));
	close(s);
}

static void test_user_rx_waits_bounded(void **state)
{
	static struct peer p;
	static u8 b[600];
	struct net_user_config cfg = { .name = "net0", .dns = true };
	struct net_backend *be;
	struct net_stats st;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(net_user_open(&cfg, &be, NULL), 0);
	attach(be, &p);
	p.answer = -EAGAIN; /* no guest buffers */
	for (unsigned i = 0; i < NET_RX_QUEUE_FRAMES + 20; i++) {
		assert_int_equal(send_frame(be, b, arp_request(b, 0x0a000202)), 0);
		net_backend_poll(be, NULL);
	}
	net_backend_stats(be, &st);
	assert_int_equal(st.rx_frames, 0);
	assert_true(st.rx_dropped >= 20); /* beyond the queue: dropped, not buffered */
	p.answer = 0;
	net_backend_rx_ready(be, 0);
	assert_true(poll_until(be, got_frames, &p, 2000));
	net_backend_stats(be, &st);
	assert_true(st.rx_frames >= 3);
	assert_true(st.rx_frames <= NET_RX_QUEUE_FRAMES);
	net_backend_destroy(be);
}

/* ---- tap ---- */

static bool tap_env(void)
{
	static int ok = -1;

	if (ok < 0) {
		ok = access("/dev/net/tun", R_OK | W_OK) == 0 && unshare(CLONE_NEWNET) == 0;
		if (!ok)
			printf("# tap tests skipped: they need root, /dev/net/tun and a network "
			       "namespace (%s)\n",
			       strerror(errno));
	}
	if (!ok)
		skip();
	return ok;
}

/* A persistent TAP (or TUN) named name, up. */
static void make_tap(const char *name, int flags)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR), s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0 && s >= 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = (short)(flags | IFF_NO_PI);
	assert_int_equal(ioctl(fd, TUNSETIFF, &ifr), 0);
	assert_int_equal(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

/*
 * Wait until the kernel has the interface running: its carrier comes up when the back end
 * attaches, but the kernel's link watcher gives it a queue discipline only later (before
 * that, frames sent to it are dropped), and sets IFF_RUNNING in the same step.
 */
static void wait_running(const char *name)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(s >= 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	for (s64 end = now_ms() + 10000; now_ms() < end; usleep(1000)) {
		assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
		if (ifr.ifr_flags & IFF_RUNNING)
			break;
	}
	close(s);
	assert_true(ifr.ifr_flags & IFF_RUNNING);
}

static int packet_socket(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	int s = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));

	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static bool got_experimental(const struct peer *p)
{
	return p->experimental >= 1;
}

static void test_tap_refusals(void **state)
{
	struct net_tap_config cfg = { .name = "net0", .ifname = "nosuchtap0", .nr_queues = 1 };
	struct net_backend *be = NULL;
	struct err err = { 0 };

	(void)state;
	if (!tap_env())
		return;
	assert_int_equal(net_tap_open(&cfg, &be, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "no network interface 'nosuchtap0'"));
	assert_non_null(strstr(err.msg, "ip tuntap add"));
	make_tap("vmmtun0", IFF_TUN);
	cfg.ifname = "vmmtun0";
	assert_int_equal(net_tap_open(&cfg, &be, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "a TUN is layer 3"));
	make_tap("vmmtap1", IFF_TAP);
	cfg.ifname = "vmmtap1";
	cfg.nr_queues = 2;
	assert_int_equal(net_tap_open(&cfg, &be, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "multi_queue"));
	assert_null(be);
}

static void test_tap_frames_both_ways(void **state)
{
	static struct peer p;
	static u8 b[2048];
	struct net_tap_config cfg = {
		.name = "net0", .ifname = "vmmtap0", .nr_queues = 1, .vnet_hdr = true
	};
	struct net_backend *be;
	struct err err = { 0 };
	struct pollfd pfd;
	int ps;
	ssize_t n = -1;

	(void)state;
	if (!tap_env())
		return;
	memset(&p, 0, sizeof(p));
	make_tap("vmmtap0", IFF_TAP | IFF_VNET_HDR);
	assert_int_equal(net_tap_open(&cfg, &be, &err), 0);
	assert_int_equal(net_backend_vnet_hdr_len(be), 10);
	assert_true(net_backend_caps(be) & NET_CAP_TSO4);
	attach(be, &p);
	wait_running("vmmtap0");
	ps = packet_socket("vmmtap0");
	/* guest -> host: what the device sends appears on the interface */
	arp_request(b, 0x0a000202);
	assert_int_equal(send_frame(be, b, 42), 0);
	pfd = (struct pollfd){ .fd = ps, .events = POLLIN };
	for (int i = 0; i < 100 && n != 42; i++) {
		u8 got[2048];

		if (poll(&pfd, 1, 20) > 0)
			n = recv(ps, got, sizeof(got), 0);
		if (n == 42)
			assert_memory_equal(got, b, 42);
	}
	assert_int_equal(n, 42);
	/* host -> guest: no buffer first (the frame waits, reading stops), then one */
	p.answer = -EAGAIN;
	memcpy(b, GUEST_MAC, 6);
	b[12] = 0x88, b[13] = 0xb5;
	assert_int_equal(send(ps, b, 60, 0), 60);
	assert_false(poll_until(be, got_experimental, &p, 200));
	p.answer = 0;
	net_backend_rx_ready(be, 0);
	assert_true(poll_until(be, got_experimental, &p, 2000));
	assert_int_equal(p.unlocked, 0); /* every delivery with the device lock held */
	close(ps);
	net_backend_destroy(be);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksums_and_crc),
		cmocka_unit_test(test_checksums_match_definition),
		cmocka_unit_test(test_parse_and_segment),
		cmocka_unit_test(test_user_dhcp_arp_hostfwd),
		cmocka_unit_test(test_user_port_in_use),
		cmocka_unit_test(test_user_rx_waits_bounded),
		cmocka_unit_test(test_tap_refusals),
		cmocka_unit_test(test_tap_frames_both_ways),
	};

	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
