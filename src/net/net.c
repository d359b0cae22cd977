// SPDX-License-Identifier: MIT
/*
 * The back-end core (net.h): the offloads a back end lacks done in software before its send
 * (a NEEDS_CSUM checksum, TCP segmentation of GSO frames), counters, and the poll fd every
 * back end hangs its sources on. UDP fragmentation offload (GSO_UDP) is not emulated: such a
 * frame is dropped (no device here offers it).
 */
#include "net/net_internal.h"

#include "net/net_offload.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

int net_backend_init(struct net_backend *be, const struct net_backend_ops *ops, const char *name,
		     struct err *err)
{
	be->ops = ops;
	snprintf(be->name, sizeof(be->name), "%s", name ? name : "net");
	be->nr_queues = 1;
	be->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (be->epfd < 0)
		return err_set(err, -errno, "%s: epoll: %s", be->name, strerror(errno));
	be->linear = malloc(NET_MAX_FRAME);
	be->segment = malloc(NET_MAX_FRAME);
	if (!be->linear || !be->segment) {
		net_backend_fini(be);
		return err_set(err, -ENOMEM, "%s: out of memory", be->name);
	}
	return 0;
}

void net_backend_fini(struct net_backend *be)
{
	if (be->epfd >= 0)
		close(be->epfd);
	be->epfd = -1;
	free(be->linear);
	free(be->segment);
	be->linear = be->segment = NULL;
}

void net_backend_set_peer(struct net_backend *be, const struct net_peer *peer)
{
	be->peer = *peer;
	be->has_peer = true;
}

unsigned net_backend_queues(const struct net_backend *be)
{
	return be->nr_queues;
}

unsigned net_backend_caps(const struct net_backend *be)
{
	return be->caps;
}

unsigned net_backend_rx_caps(const struct net_backend *be)
{
	return be->rx_caps;
}

unsigned net_backend_set_rx_caps(struct net_backend *be, unsigned caps)
{
	return be->ops->set_rx_caps ? be->ops->set_rx_caps(be, caps) : 0;
}

unsigned net_backend_vnet_hdr_len(const struct net_backend *be)
{
	return be->vnet_hdr_len;
}

int net_backend_fd(const struct net_backend *be)
{
	return be->epfd;
}

const char *net_backend_kind(const struct net_backend *be)
{
	return be->ops->kind;
}

void net_backend_stats(const struct net_backend *be, struct net_stats *out)
{
	*out = be->stats;
}

void net_backend_poll(struct net_backend *be, pthread_mutex_t *lock)
{
	be->ops->poll(be, lock);
}

void net_backend_tx_done(struct net_backend *be)
{
	if (be->ops->tx_done)
		be->ops->tx_done(be);
}

void net_backend_rx_ready(struct net_backend *be, unsigned q)
{
	if (be->ops->rx_ready)
		be->ops->rx_ready(be, q % be->nr_queues);
}

int net_backend_deliver(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
			const struct iovec *iov, unsigned iovcnt, size_t len)
{
	int ret = -ENOTCONN;

	if (be->has_peer)
		ret = be->peer.receive(be->peer.opaque, q, hdr, iov, iovcnt, len);
	if (ret == 0) {
		be->stats.rx_frames++;
		be->stats.rx_bytes += len;
	} else if (ret == -EAGAIN) {
		be->stats.rx_waits++;
	} else {
		be->stats.rx_dropped++;
	}
	return ret;
}

/* The back end's send, counted. */
static int net_send_native(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
			   const struct iovec *iov, unsigned iovcnt, size_t len)
{
	int ret = be->ops->send(be, q, hdr, iov, iovcnt, len);

	if (ret == 0) {
		be->stats.tx_frames++;
		be->stats.tx_bytes += len;
	} else if (ret == -EAGAIN) {
		be->stats.tx_blocked++;
	} else {
		be->stats.tx_dropped++;
		ret = 0; /* consumed: the host refused it */
	}
	return ret;
}

struct net_seg_ctx {
	struct net_backend *be;
	unsigned q;
	unsigned sent;
};

static int net_emit_segment(void *opaque, const u8 *frame, size_t len)
{
	struct net_seg_ctx *c = opaque;
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };
	struct net_hdr none = { 0 };
	int ret = net_send_native(c->be, c->q, &none, &iov, 1, len);

	if (ret == -EAGAIN && c->sent) {
		c->be->stats.tx_dropped++; /* the rest of a half-sent burst cannot wait */
		return -ENOBUFS;
	}
	if (ret == 0) {
		c->sent++;
		c->be->stats.tx_segments++;
	}
	return ret;
}

/* The offloads a frame asks for that the back end lacks, done here. */
static int net_send_emulated(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
			     const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct net_seg_ctx c = { .be = be, .q = q };
	struct net_hdr none = { 0 };
	struct net_layers l;
	size_t off = 0;
	int ret;

	for (unsigned i = 0; i < iovcnt; i++) {
		memcpy(be->linear + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	if ((hdr->gso_type & ~NET_HDR_GSO_ECN) == NET_HDR_GSO_NONE) {
		if (net_csum_fill(be->linear, len, hdr->csum_start, hdr->csum_offset, 0) < 0) {
			log_guest("%s: checksum offload at %u+%u outside a %zu-byte frame; dropped",
				  be->name, hdr->csum_start, hdr->csum_offset, len);
			be->stats.tx_dropped++;
			return 0;
		}
		return net_send_native(be, q, &none,
				       &(struct iovec){ .iov_base = be->linear, .iov_len = len }, 1,
				       len);
	}
	if (net_parse(be->linear, len, &l) < 0 || l.proto != NET_IPPROTO_TCP ||
	    l.ipv6 != ((hdr->gso_type & ~NET_HDR_GSO_ECN) == NET_HDR_GSO_TCPV6)) {
		log_guest("%s: segmentation asked for a frame that is not TCP of that IP version; "
			  "dropped",
			  be->name);
		be->stats.tx_dropped++;
		return 0;
	}
	ret = net_tso_segment(be->linear, len, &l, hdr->gso_size, be->segment, net_emit_segment,
			      &c);
	if (ret == -EAGAIN)
		return -EAGAIN; /* nothing sent: the device keeps the frame */
	if (ret < 0 && ret != -ENOBUFS) {
		log_guest("%s: segmentation of a %zu-byte frame by %u failed; dropped", be->name,
			  len, hdr->gso_size);
		be->stats.tx_dropped++;
	}
	return 0;
}

static unsigned net_hdr_needs(const struct net_hdr *hdr)
{
	unsigned need = 0;

	switch (hdr->gso_type & ~NET_HDR_GSO_ECN) {
	case NET_HDR_GSO_NONE:
		break;
	case NET_HDR_GSO_TCPV4:
		need |= NET_CAP_TSO4;
		break;
	case NET_HDR_GSO_TCPV6:
		need |= NET_CAP_TSO6;
		break;
	default:
		return ~0u; /* UDP fragmentation: nobody takes it */
	}
	if (hdr->gso_type & NET_HDR_GSO_ECN)
		need |= NET_CAP_ECN;
	if (hdr->flags & NET_HDR_F_NEEDS_CSUM)
		need |= NET_CAP_CSUM;
	return need;
}

int net_send(struct net_backend *be, unsigned q, const struct net_hdr *hdr, const struct iovec *iov,
	     unsigned iovcnt, size_t len)
{
	struct net_hdr none = { 0 };
	unsigned need;

	if (!hdr)
		hdr = &none;
	q %= be->nr_queues;
	if (len < NET_ETH_HLEN || len > NET_MAX_FRAME) {
		log_guest("%s: a %zu-byte frame cannot be sent; dropped", be->name, len);
		be->stats.tx_dropped++;
		return 0;
	}
	need = net_hdr_needs(hdr);
	if (need == ~0u) {
		log_guest("%s: GSO type %#x not offered; frame dropped", be->name, hdr->gso_type);
		be->stats.tx_dropped++;
		return 0;
	}
	if (!(need & ~be->caps))
		return net_send_native(be, q, hdr, iov, iovcnt, len);
	return net_send_emulated(be, q, hdr, iov, iovcnt, len);
}

void net_backend_destroy(struct net_backend *be)
{
	if (be)
		be->ops->destroy(be);
}
