// SPDX-License-Identifier: MIT
/*
 * virtio-net device model (VIRTIO 1.2 section 5.1). Queues: receiveq(n) = 2n, transmitq(n) =
 * 2n + 1, then the control queue (5.1.2). Every frame on a ring has the 12-byte header of
 * 5.1.6 (VERSION_1: num_buffers always present).
 *
 * Transmit (5.1.6.2): a chain is device-readable only: header, then the frame. Checksum and
 * segmentation requests are honoured only when negotiated (CSUM, HOST_TSO4/6), else the frame
 * is dropped; the back end does them natively or net_send does them in software. A chain
 * the host cannot take now (a full tap queue) is given back to the ring (vq_unpop) and the
 * queue waits for the back end's tx_ready. A chain with writable buffers or without a full
 * header is malformed: DEVICE_NEEDS_RESET.
 *
 * Receive (5.1.6.3/4): with MRG_RXBUF a frame may fill several chains, num_buffers says how
 * many; without it one chain must hold it all, or the frame is dropped. When the ring holds
 * no buffer the frame stays with the back end until the driver adds some (the queue's
 * notification). Filtering (5.1.6.5.1/2/3): promiscuous, all-multicast, all-unicast,
 * no-multicast, no-unicast, no-broadcast, the unicast and multicast MAC tables (64 entries;
 * a longer table accepts all of its kind), and with CTRL_VLAN the VLAN table for tagged
 * frames. Before the driver sets any RX mode the device is promiscuous, as a device without
 * CTRL_RX is.
 *
 * Not done: RSS and hash reports, CTRL_GUEST_OFFLOADS, UFO, SPEED_DUPLEX, the legacy
 * interface.
 */
#include "virtio/net.h"

#include "devices/device.h"
#include "net/net_offload.h"
#include "virtio/virtio.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VNET_BUF_BYTES (VIRTIO_NET_HDR_LEN + NET_MAX_FRAME)

struct virtio_net {
	struct virtio_dev vd; /* first: container_of by cast */
	char name[32];
	struct platform *p;
	struct virtio_pci *vp;
	struct net_backend *be;
	u8 spec_mac[6]; /* what a reset goes back to */
	u8 mac[6];	/* the current address (CTRL_MAC_ADDR_SET may change it) */
	u16 mtu;
	unsigned max_pairs;
	u16 active_pairs; /* CTRL_MQ_VQ_PAIRS_SET */
	bool link_up;
	bool announce; /* status ANNOUNCE, until the driver acknowledges */
	/* receive filters (5.1.6.5.1, .2, .3) */
	bool promisc, allmulti, alluni, nomulti, nouni, nobcast;
	bool uni_overflow, multi_overflow;
	u32 nr_uni, nr_multi;
	u8 macs[VIRTIO_NET_MAC_TABLE][6]; /* unicast entries, then multicast */
	u32 vlans[4096 / 32];
	/* host side */
	unsigned rx_caps;		       /* what the back end was told it may deliver */
	u64 rx_caps_for;		       /* ... for these driver features */
	bool tx_blocked[VIRTIO_NET_MAX_PAIRS]; /* waiting for the back end's tx_ready */
	struct vq_elem *e;		       /* scratch: one popped chain */
	struct iovec *frame_iov;	       /* VQ_MAX_SEG: a frame's part of a TX chain */
	u8 *buf;			       /* VNET_BUF_BYTES: a received frame made linear */
	u16 *heads;			       /* VQ_MAX_SIZE: chains one received frame fills */
	u32 *lens;
	struct virtio_net_stats stats;
};

static unsigned vnet_ctrl_queue(const struct virtio_net *n)
{
	return 2 * n->max_pairs;
}

static void vnet_put_mac(u8 dst[6], const u8 src[6])
{
	memcpy(dst, src, 6);
}

/* ---- receive filters ---- */

static bool vnet_mac_in(const struct virtio_net *n, const u8 *mac, unsigned from, unsigned nr)
{
	for (unsigned i = from; i < from + nr && i < VIRTIO_NET_MAC_TABLE; i++)
		if (!memcmp(n->macs[i], mac, 6))
			return true;
	return false;
}

static bool vnet_accept(const struct virtio_net *n, const u8 *frame, size_t len)
{
	static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (len < NET_ETH_HLEN)
		return false;
	if (virtio_has_feature(&n->vd, VIRTIO_NET_F_CTRL_VLAN) && len >= 18 && frame[12] == 0x81 &&
	    frame[13] == 0x00) {
		unsigned vid = (unsigned)(frame[14] << 8 | frame[15]) & 0xfff;

		if (!(n->vlans[vid / 32] >> (vid % 32) & 1))
			return false;
	}
	if (n->promisc)
		return true;
	if (!memcmp(frame, bcast, 6))
		return !n->nobcast;
	if (frame[0] & 1) {
		if (n->nomulti)
			return false;
		return n->allmulti || n->multi_overflow ||
		       vnet_mac_in(n, frame, n->nr_uni, n->nr_multi);
	}
	if (n->nouni)
		return false;
	return n->alluni || n->uni_overflow || !memcmp(frame, n->mac, 6) ||
	       vnet_mac_in(n, frame, 0, n->nr_uni);
}

/* ---- receive ---- */

/* What the back end may deliver, from the negotiated guest offloads (once per negotiation). */
static void vnet_sync_rx_caps(struct virtio_net *n)
{
	const struct virtio_dev *vd = &n->vd;
	unsigned caps = 0;

	if (n->rx_caps_for == vd->driver_features)
		return;
	n->rx_caps_for = vd->driver_features;
	if (virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM)) {
		caps |= NET_CAP_CSUM;
		if (virtio_has_feature(vd, VIRTIO_NET_F_GUEST_TSO4))
			caps |= NET_CAP_TSO4;
		if (virtio_has_feature(vd, VIRTIO_NET_F_GUEST_TSO6))
			caps |= NET_CAP_TSO6;
		if (virtio_has_feature(vd, VIRTIO_NET_F_GUEST_ECN))
			caps |= NET_CAP_ECN;
	}
	n->rx_caps = net_backend_set_rx_caps(n->be, caps);
}

/* Whether vnet_rx_header completes the frame's checksum itself (and so writes the frame). */
static bool vnet_rx_fills_csum(const struct virtio_net *n, const struct net_hdr *in)
{
	return in && (in->flags & NET_HDR_F_NEEDS_CSUM) &&
	       (in->gso_type & ~NET_HDR_GSO_ECN) == NET_HDR_GSO_NONE &&
	       !virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_CSUM);
}

/*
 * The header the guest gets, from the back end's metadata and what was negotiated. false:
 * the frame asks for something the guest cannot take (GSO it did not accept); a checksum it
 * did not accept is completed here (in n->buf).
 */
static bool vnet_rx_header(struct virtio_net *n, const struct net_hdr *in, u8 *frame, size_t len,
			   u8 out[VIRTIO_NET_HDR_LEN])
{
	const struct virtio_dev *vd = &n->vd;
	bool gcsum = virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM);
	u8 gso = in ? in->gso_type & ~NET_HDR_GSO_ECN : NET_HDR_GSO_NONE;
	struct net_hdr h = { 0 };

	memset(out, 0, VIRTIO_NET_HDR_LEN);
	if (gso != NET_HDR_GSO_NONE) {
		unsigned bit = gso == NET_HDR_GSO_TCPV4 ? VIRTIO_NET_F_GUEST_TSO4 :
			       gso == NET_HDR_GSO_TCPV6 ? VIRTIO_NET_F_GUEST_TSO6 :
							  VIRTIO_NET_F_GUEST_UFO;

		if (!virtio_has_feature(vd, bit) ||
		    ((in->gso_type & NET_HDR_GSO_ECN) &&
		     !virtio_has_feature(vd, VIRTIO_NET_F_GUEST_ECN)))
			return false;
		h = *in;
	} else if (vnet_rx_fills_csum(n, in)) {
		if (net_csum_fill(frame, len, in->csum_start, in->csum_offset, 0) < 0)
			return false;
	} else if (in && (in->flags & NET_HDR_F_NEEDS_CSUM)) {
		h = *in; /* the guest completes it (GUEST_CSUM) */
	} else if (in && (in->flags & NET_HDR_F_DATA_VALID) && gcsum) {
		h.flags = NET_HDR_F_DATA_VALID;
	}
	out[0] = h.flags;
	out[1] = h.gso_type;
	memcpy(out + 2, &(u16){ htole16(h.hdr_len) }, 2);
	memcpy(out + 4, &(u16){ htole16(h.gso_size) }, 2);
	memcpy(out + 6, &(u16){ htole16(h.csum_start) }, 2);
	memcpy(out + 8, &(u16){ htole16(h.csum_offset) }, 2);
	out[10] = 1; /* num_buffers, rewritten with MRG_RXBUF */
	return true;
}

/* Copy bytes [off, off + len) of header ‖ frame into the chain's writable buffers. */
static size_t vnet_fill(struct virtio_net *n, const u8 *hdr, const u8 *frame, size_t off,
			size_t len)
{
	const struct iovec *in = n->e->iov + n->e->out_num;
	size_t done = 0;

	if (off < VIRTIO_NET_HDR_LEN) {
		size_t h = MIN(len, VIRTIO_NET_HDR_LEN - off);

		done = vq_iov_from_buf(in, n->e->in_num, 0, hdr + off, h);
	}
	if (done < len)
		done += vq_iov_from_buf(in, n->e->in_num, done,
					frame + (off + done - VIRTIO_NET_HDR_LEN), len - done);
	/* DMA: code the BT engine translated from these bytes is stale. */
	for (size_t i = 0, left = done; i < n->e->in_num && left; i++) {
		size_t w = MIN(in[i].iov_len, left);

		gmem_written(&n->p->mem, in[i].iov_base, w);
		left -= w;
	}
	return done;
}

/* Put one frame on receive queue q. 0, -EAGAIN (no buffer yet), other errno: dropped. */
static int vnet_rx_put(struct virtio_net *n, unsigned q, const u8 *hdr, const u8 *frame, size_t len)
{
	struct virtqueue *vq = &n->vd.vqs[q];
	bool mrg = virtio_has_feature(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	size_t total = VIRTIO_NET_HDR_LEN + len, off = 0;
	struct iovec first[VIRTIO_NET_HDR_LEN];
	unsigned nb = 0;
	int nfirst = 0, ret;

	vq_batch_start(vq);
	while (off < total) {
		size_t chunk;

		ret = vq_pop(vq, n->e);
		if (ret < 0) {
			virtio_set_needs_reset(&n->vd);
			return -EIO;
		}
		/*
		 * The ring is empty: ask for a notification (2.7.10), then look again. Buffers
		 * the driver added meanwhile are taken at once, the frame going on where it
		 * was (within the round's budget), rather than through the back end's retry:
		 * a wake-up of the main loop and a second delivery per frame at full speed.
		 */
		if (ret == 0 && !vq_batch_yielded(vq) && vq_set_notification(vq, true)) {
			vq_set_notification(vq, false);
			continue;
		}
		if (ret == 0 || (!mrg && n->e->in_len < total) || n->e->out_num) {
			bool bad = ret > 0 && n->e->out_num;

			if (ret > 0)
				vq_unpop(vq, n->e->head);
			while (nb)
				vq_unpop(vq, n->heads[--nb]);
			if (bad) {
				log_guest("%s: receive buffer with device-readable parts", n->name);
				virtio_set_needs_reset(&n->vd);
				return -EIO;
			}
			if (ret > 0 || vq_batch_yielded(vq)) {
				log_guest("%s: a %zu-byte frame fits no receive buffer; dropped",
					  n->name, len);
				return -EMSGSIZE;
			}
			/* The ring is empty: wait for the driver's notification (asked above). */
			return -EAGAIN;
		}
		chunk = MIN((size_t)n->e->in_len, total - off);
		if (nb == 0)
			nfirst = vq_iov_slice(n->e->iov + n->e->out_num, n->e->in_num, 0,
					      VIRTIO_NET_HDR_LEN, first, VIRTIO_NET_HDR_LEN);
		if (nb == 0 && nfirst < 0) { /* a first buffer smaller than the header */
			vq_unpop(vq, n->e->head);
			log_guest("%s: receive buffer of %llu bytes cannot hold the header",
				  n->name, (unsigned long long)n->e->in_len);
			return -EMSGSIZE;
		}
		vnet_fill(n, hdr, frame, off, chunk);
		n->heads[nb] = n->e->head;
		n->lens[nb++] = (u32)chunk;
		off += chunk;
	}
	if (mrg) /* num_buffers: how many chains the frame took */
		vq_iov_from_buf(first, (unsigned)nfirst, 10, &(u16){ htole16((u16)nb) }, 2);
	for (unsigned i = 0; i < nb; i++) {
		if (vq_push(vq, n->heads[i], n->lens[i])) {
			virtio_set_needs_reset(&n->vd);
			return -EIO;
		}
	}
	virtio_queue_done(&n->vd, q);
	return 0;
}

/* The back end's frame for the guest (net_peer.receive). Device lock held. */
static int vnet_receive(void *opaque, unsigned q, const struct net_hdr *hdr,
			const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct virtio_net *n = opaque;
	struct virtio_dev *vd = &n->vd;
	u8 vh[VIRTIO_NET_HDR_LEN];
	unsigned rxq;
	u8 *frame;
	int ret;

	if (!n->link_up || !(vd->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vd->status & VIRTIO_STATUS_NEEDS_RESET) || len > NET_MAX_FRAME) {
		n->stats.rx_dropped++;
		return -ENETDOWN;
	}
	rxq = 2 * (q < n->active_pairs ? q : 0);
	if (!vd->vqs[rxq].ready || vd->vqs[rxq].broken) {
		n->stats.rx_dropped++;
		return -ENETDOWN;
	}
	/*
	 * The frame is read in place when it comes in one piece, unless its checksum must be
	 * completed here (the guest did not accept partial checksums): then in n->buf.
	 */
	frame = iov[0].iov_base;
	if (iovcnt != 1 || vnet_rx_fills_csum(n, hdr)) {
		vq_iov_to_buf(iov, iovcnt, 0, n->buf, len); /* linear, and writable */
		frame = n->buf;
	}
	if (!vnet_accept(n, frame, len)) {
		n->stats.rx_filtered++;
		return -EPERM;
	}
	vnet_sync_rx_caps(n);
	if (!vnet_rx_header(n, hdr, frame, len, vh)) {
		n->stats.rx_dropped++;
		return -EPROTO;
	}
	ret = vnet_rx_put(n, rxq, vh, frame, len);
	if (ret == 0) {
		n->stats.rx_frames++;
		n->stats.rx_bytes += len;
	} else if (ret != -EAGAIN) {
		n->stats.rx_dropped++;
	}
	return ret;
}

/* ---- transmit ---- */

/* The header of a transmitted frame, checked against what was negotiated. */
static bool vnet_tx_header(struct virtio_net *n, const u8 *b, struct net_hdr *h)
{
	const struct virtio_dev *vd = &n->vd;
	u8 gso = b[1] & ~NET_HDR_GSO_ECN;

	h->flags = b[0];
	h->gso_type = b[1];
	h->hdr_len = le16toh(*(const u16 *)(const void *)(b + 2));
	h->gso_size = le16toh(*(const u16 *)(const void *)(b + 4));
	h->csum_start = le16toh(*(const u16 *)(const void *)(b + 6));
	h->csum_offset = le16toh(*(const u16 *)(const void *)(b + 8));
	if ((h->flags & NET_HDR_F_NEEDS_CSUM) && !virtio_has_feature(vd, VIRTIO_NET_F_CSUM))
		return false;
	if (gso == NET_HDR_GSO_NONE)
		return true;
	if ((b[1] & NET_HDR_GSO_ECN) && !virtio_has_feature(vd, VIRTIO_NET_F_HOST_ECN))
		return false;
	if (gso == NET_HDR_GSO_TCPV4)
		return virtio_has_feature(vd, VIRTIO_NET_F_HOST_TSO4);
	if (gso == NET_HDR_GSO_TCPV6)
		return virtio_has_feature(vd, VIRTIO_NET_F_HOST_TSO6);
	return false;
}

/*
 * Send what transmit queue pair p holds, within the round's budget: 0 the ring is empty, 1
 * the budget ran out (come back from the main loop), 2 the back end is full (wait for
 * tx_ready), -EIO malformed.
 */
static int vnet_tx_drain(struct virtio_net *n, unsigned p)
{
	unsigned q = 2 * p + 1;
	struct virtqueue *vq = &n->vd.vqs[q];
	struct vq_elem *e = n->e;
	u8 hb[VIRTIO_NET_HDR_LEN];
	struct net_hdr h;
	int ret = 0, nr;

	for (;;) {
		size_t len;

		ret = vq_pop(vq, e);
		if (ret <= 0) {
			ret = ret < 0 ? ret : vq_batch_yielded(vq);
			break;
		}
		if (e->in_num || e->out_len < VIRTIO_NET_HDR_LEN) {
			log_guest("%s: transmit chain without a header or with writable parts",
				  n->name);
			(void)!vq_push(vq, e->head, 0); /* the queue is failed either way */
			ret = -EIO;
			break;
		}
		len = e->out_len - VIRTIO_NET_HDR_LEN;
		vq_iov_to_buf(e->iov, e->out_num, 0, hb, sizeof(hb));
		nr = vq_iov_slice(e->iov, e->out_num, VIRTIO_NET_HDR_LEN, len, n->frame_iov,
				  VQ_MAX_SEG);
		if (!n->link_up || nr <= 0 || len > NET_MAX_FRAME || !vnet_tx_header(n, hb, &h)) {
			if (n->link_up && nr > 0)
				log_guest("%s: transmit of %zu bytes with offloads %#x/%#x not "
					  "negotiated or too long; dropped",
					  n->name, len, hb[0], hb[1]);
			n->stats.tx_dropped++;
		} else {
			ret = net_send(n->be, p, &h, n->frame_iov, (unsigned)nr, len);
			if (ret == -EAGAIN) {
				vq_unpop(vq, e->head);
				n->tx_blocked[p] = true;
				ret = 2;
				break;
			}
			n->stats.tx_frames++;
			n->stats.tx_bytes += len;
		}
		if (vq_push(vq, e->head, 0)) {
			ret = -EIO;
			break;
		}
	}
	virtio_queue_done(&n->vd, q);
	return ret;
}

static void vnet_tx_round(struct virtio_net *n, unsigned p)
{
	struct virtqueue *vq = &n->vd.vqs[2 * p + 1];
	int ret;

	n->tx_blocked[p] = false;
	vq_batch_start(vq);
	do {
		vq_set_notification(vq, false);
		ret = vnet_tx_drain(n, p);
		if (ret < 0) {
			virtio_set_needs_reset(&n->vd);
			return;
		}
		if (ret == 1) {
			virtio_queue_defer(&n->vd, 2 * p + 1);
			return;
		}
		if (ret == 2) /* the back end's tx_ready brings us back */
			return;
	} while (vq_set_notification(vq, true));
}

static void vnet_tx(struct virtio_net *n, unsigned p)
{
	vnet_tx_round(n, p);
	net_backend_tx_done(n->be); /* the answers to what went out, now */
}

/* The back end takes frames again on its queue bq (net_peer.tx_ready). Device lock held. */
static void vnet_tx_ready(void *opaque, unsigned bq)
{
	struct virtio_net *n = opaque;
	unsigned nbq = net_backend_queues(n->be);

	for (unsigned p = 0; p < n->max_pairs; p++)
		if (n->tx_blocked[p] && p % nbq == bq && (n->vd.status & VIRTIO_STATUS_DRIVER_OK))
			vnet_tx(n, p);
}

/* ---- control queue ---- */

static u8 vnet_ctrl_rx(struct virtio_net *n, u8 cmd, const u8 *d, size_t len)
{
	bool *flags[] = {
		&n->promisc, &n->allmulti, &n->alluni, &n->nomulti, &n->nouni, &n->nobcast
	};

	if (len != 1 || cmd >= ARRAY_SIZE(flags))
		return VIRTIO_NET_ERR;
	if (cmd > VIRTIO_NET_CTRL_RX_ALLMULTI &&
	    !virtio_has_feature(&n->vd, VIRTIO_NET_F_CTRL_RX_EXTRA))
		return VIRTIO_NET_ERR;
	*flags[cmd] = d[0] != 0;
	return VIRTIO_NET_OK;
}

/* 5.1.6.5.2: {le32 entries; u8 macs[entries][6]} for unicast, then the same for multicast. */
static u8 vnet_ctrl_mac_table(struct virtio_net *n, const u8 *d, size_t len)
{
	u32 cnt[2];
	size_t off = 0;
	unsigned kept = 0;

	for (int t = 0; t < 2; t++) {
		if (len - off < 4)
			return VIRTIO_NET_ERR;
		memcpy(&cnt[t], d + off, 4);
		cnt[t] = le32toh(cnt[t]);
		off += 4;
		if (cnt[t] > (len - off) / 6)
			return VIRTIO_NET_ERR;
		off += (size_t)cnt[t] * 6;
	}
	if (off != len)
		return VIRTIO_NET_ERR;
	n->uni_overflow = cnt[0] > VIRTIO_NET_MAC_TABLE;
	n->multi_overflow = (n->uni_overflow ? 0 : cnt[0]) + (u64)cnt[1] > VIRTIO_NET_MAC_TABLE;
	n->nr_uni = n->uni_overflow ? 0 : cnt[0];
	n->nr_multi = n->multi_overflow ? 0 : cnt[1];
	off = 4;
	for (u32 i = 0; i < cnt[0]; i++, off += 6)
		if (!n->uni_overflow)
			memcpy(n->macs[kept++], d + off, 6);
	off += 4;
	for (u32 i = 0; i < cnt[1]; i++, off += 6)
		if (!n->multi_overflow)
			memcpy(n->macs[kept++], d + off, 6);
	return VIRTIO_NET_OK;
}

static u8 vnet_ctrl(struct virtio_net *n, u8 cls, u8 cmd, const u8 *d, size_t len)
{
	const struct virtio_dev *vd = &n->vd;
	u16 v;

	switch (cls) {
	case VIRTIO_NET_CTRL_RX:
		return virtio_has_feature(vd, VIRTIO_NET_F_CTRL_RX) ? vnet_ctrl_rx(n, cmd, d, len) :
								      VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_MAC:
		if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET &&
		    virtio_has_feature(vd, VIRTIO_NET_F_CTRL_RX))
			return vnet_ctrl_mac_table(n, d, len);
		if (cmd == VIRTIO_NET_CTRL_MAC_ADDR_SET && len == 6 &&
		    virtio_has_feature(vd, VIRTIO_NET_F_CTRL_MAC_ADDR)) {
			vnet_put_mac(n->mac, d);
			return VIRTIO_NET_OK;
		}
		return VIRTIO_NET_ERR;
	case VIRTIO_NET_CTRL_VLAN:
		if (len != 2 || cmd > VIRTIO_NET_CTRL_VLAN_DEL ||
		    !virtio_has_feature(vd, VIRTIO_NET_F_CTRL_VLAN))
			return VIRTIO_NET_ERR;
		memcpy(&v, d, 2);
		v = le16toh(v);
		if (v >= 4096)
			return VIRTIO_NET_ERR;
		if (cmd == VIRTIO_NET_CTRL_VLAN_ADD)
			n->vlans[v / 32] |= 1u << (v % 32);
		else
			n->vlans[v / 32] &= ~(1u << (v % 32));
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_ANNOUNCE:
		if (cmd != VIRTIO_NET_CTRL_ANNOUNCE_ACK ||
		    !virtio_has_feature(vd, VIRTIO_NET_F_GUEST_ANNOUNCE))
			return VIRTIO_NET_ERR;
		n->announce = false;
		return VIRTIO_NET_OK;
	case VIRTIO_NET_CTRL_MQ:
		if (cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || len != 2 ||
		    !virtio_has_feature(vd, VIRTIO_NET_F_MQ))
			return VIRTIO_NET_ERR;
		memcpy(&v, d, 2);
		v = le16toh(v);
		if (v < 1 || v > n->max_pairs)
			return VIRTIO_NET_ERR;
		n->active_pairs = v;
		return VIRTIO_NET_OK;
	default:
		return VIRTIO_NET_ERR;
	}
}

/*
 * 5.1.6.5: {u8 class; u8 command; data} readable, then {u8 ack} writable. 0 the ring is empty,
 * 1 the round's budget is spent, -EIO malformed.
 */
static int vnet_ctrl_drain(struct virtio_net *n, unsigned q)
{
	struct virtqueue *vq = &n->vd.vqs[q];
	struct vq_elem *e = n->e;
	int ret;

	while ((ret = vq_pop(vq, e)) > 0) {
		size_t len = e->out_len;
		u8 ack = VIRTIO_NET_ERR;

		if (len < 2 || len > 2 + 4 + 4 + 6ull * 2 * 1024 || e->in_len < 1) {
			log_guest("%s: control command of %zu bytes refused", n->name, len);
			(void)!vq_push(vq, e->head, 0); /* the queue is failed either way */
			return -EIO;
		}
		vq_iov_to_buf(e->iov, e->out_num, 0, n->buf, len);
		ack = vnet_ctrl(n, n->buf[0], n->buf[1], n->buf + 2, len - 2);
		n->stats.ctrl_commands++;
		vq_iov_from_buf(e->iov + e->out_num, e->in_num, 0, &ack, 1);
		gmem_written(vq->mem, e->iov[e->out_num].iov_base, 1);
		if (vq_push(vq, e->head, 1))
			return -EIO;
		virtio_queue_done(&n->vd, q);
	}
	return ret < 0 ? ret : vq_batch_yielded(vq);
}

static void vnet_ctrl_queue_notify(struct virtio_net *n)
{
	unsigned q = vnet_ctrl_queue(n);
	struct virtqueue *vq = &n->vd.vqs[q];
	int ret;

	/* As every queue: drain with kicks off, then ask for them again (2.7.10). */
	vq_batch_start(vq);
	do {
		vq_set_notification(vq, false);
		ret = vnet_ctrl_drain(n, q);
		if (ret < 0) {
			virtio_set_needs_reset(&n->vd);
			return;
		}
		if (ret > 0) {
			virtio_queue_defer(&n->vd, q);
			return;
		}
	} while (vq_set_notification(vq, true));
}

/* ---- virtio device ops ---- */

static void vnet_queue_notify(struct virtio_dev *vd, unsigned q)
{
	struct virtio_net *n = (struct virtio_net *)vd;

	if (q == vnet_ctrl_queue(n))
		vnet_ctrl_queue_notify(n);
	else if (q % 2)
		vnet_tx(n, q / 2);
	else
		net_backend_rx_ready(n->be, q / 2); /* buffers for frames waiting */
}

static void vnet_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct virtio_net *n = (struct virtio_net *)vd;
	u8 c[VIRTIO_NET_CFG_SIZE] = { 0 };
	u16 status =
		(n->link_up ? VIRTIO_NET_S_LINK_UP : 0) | (n->announce ? VIRTIO_NET_S_ANNOUNCE : 0);

	memcpy(c + VIRTIO_NET_CFG_MAC, n->mac, 6);
	memcpy(c + VIRTIO_NET_CFG_STATUS, &(u16){ htole16(status) }, 2);
	memcpy(c + VIRTIO_NET_CFG_MAX_PAIRS, &(u16){ htole16((u16)n->max_pairs) }, 2);
	memcpy(c + VIRTIO_NET_CFG_MTU, &(u16){ htole16(n->mtu) }, 2);
	memcpy(buf, c + off, len);
}

/* The driver reset the device: filters and the address as at power-on. */
static void vnet_reset(struct virtio_dev *vd)
{
	struct virtio_net *n = (struct virtio_net *)vd;

	vnet_put_mac(n->mac, n->spec_mac);
	n->active_pairs = 1;
	n->announce = false;
	n->promisc = true;
	n->allmulti = n->alluni = n->nomulti = n->nouni = n->nobcast = false;
	n->uni_overflow = n->multi_overflow = false;
	n->nr_uni = n->nr_multi = 0;
	memset(n->vlans, 0, sizeof(n->vlans));
	memset(n->tx_blocked, 0, sizeof(n->tx_blocked));
	n->rx_caps_for = 0;
	if (n->rx_caps)
		n->rx_caps = net_backend_set_rx_caps(n->be, 0);
}

static const struct virtio_dev_ops vnet_ops = {
	.config_read = vnet_config_read,
	.queue_notify = vnet_queue_notify,
	.reset = vnet_reset,
};

static u64 vnet_features(const struct virtio_net_config *cfg, unsigned caps)
{
	u64 f = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
		1ull << VIRTIO_F_EVENT_IDX | 1ull << VIRTIO_NET_F_MAC |
		1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_CSUM |
		1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |
		1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_HOST_ECN |
		1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CTRL_VQ |
		1ull << VIRTIO_NET_F_CTRL_RX | 1ull << VIRTIO_NET_F_CTRL_RX_EXTRA |
		1ull << VIRTIO_NET_F_CTRL_VLAN | 1ull << VIRTIO_NET_F_CTRL_MAC_ADDR |
		1ull << VIRTIO_NET_F_GUEST_ANNOUNCE;

	/* Segmented frames reach the guest only from a back end that makes them. */
	if (caps & NET_CAP_TSO4)
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
	if (caps & NET_CAP_TSO6)
		f |= 1ull << VIRTIO_NET_F_GUEST_TSO6;
	if ((caps & NET_CAP_ECN) && (caps & (NET_CAP_TSO4 | NET_CAP_TSO6)))
		f |= 1ull << VIRTIO_NET_F_GUEST_ECN;
	if (cfg->queue_pairs > 1)
		f |= 1ull << VIRTIO_NET_F_MQ;
	if (cfg->mtu)
		f |= 1ull << VIRTIO_NET_F_MTU;
	return f;
}

static int vnet_alloc(struct virtio_net *n)
{
	n->e = malloc(sizeof(*n->e));
	n->frame_iov = calloc(VQ_MAX_SEG, sizeof(*n->frame_iov));
	n->buf = malloc(VNET_BUF_BYTES);
	n->heads = calloc(VQ_MAX_SIZE, sizeof(*n->heads));
	n->lens = calloc(VQ_MAX_SIZE, sizeof(*n->lens));
	return n->e && n->frame_iov && n->buf && n->heads && n->lens ? 0 : -ENOMEM;
}

static void vnet_free(struct virtio_net *n)
{
	free(n->e);
	free(n->frame_iov);
	free(n->buf);
	free(n->heads);
	free(n->lens);
	free(n);
}

int virtio_net_create(struct platform *p, const struct virtio_net_config *cfg,
		      struct virtio_net **out, struct err *err)
{
	const char *name = cfg->name ? cfg->name : "virtio-net";
	unsigned pairs = cfg->queue_pairs ? cfg->queue_pairs : 1;
	unsigned qs = cfg->queue_size ? cfg->queue_size : 256;
	struct net_peer peer;
	struct virtio_net *n;
	int ret;

	if (pairs > VIRTIO_NET_MAX_PAIRS || qs > VQ_MAX_SIZE || qs < 4 || qs & (qs - 1) ||
	    (cfg->mtu && (cfg->mtu < 68 || cfg->mtu > 65535)) || !cfg->be)
		return err_set(err, -EINVAL,
			       "%s: %u queue pairs of %u entries, MTU %u not supported", name,
			       pairs, qs, cfg->mtu);
	n = calloc(1, sizeof(*n));
	if (!n)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	if (vnet_alloc(n) < 0) {
		vnet_free(n);
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->p = p;
	n->be = cfg->be;
	vnet_put_mac(n->spec_mac, cfg->mac);
	n->mtu = (u16)cfg->mtu;
	n->max_pairs = pairs;
	n->link_up = true;
	n->vd.ops = &vnet_ops;
	n->vd.device_id = 1;
	n->vd.pci_class = 0x020000; /* network, Ethernet */
	n->vd.config_len = VIRTIO_NET_CFG_SIZE;
	n->vd.nr_queues = 2 * pairs + 1;
	n->vd.queue_max_size = (u16)qs;
	n->vd.features = vnet_features(cfg, net_backend_rx_caps(cfg->be));
	vnet_reset(&n->vd);
	ret = virtio_pci_create(p, &n->vd, name, &n->vp, err);
	if (ret) {
		vnet_free(n);
		return ret;
	}
	peer = (struct net_peer){ .receive = vnet_receive, .tx_ready = vnet_tx_ready, .opaque = n };
	net_backend_set_peer(cfg->be, &peer);
	*out = n;
	return 0;
}

struct pci_dev *virtio_net_pci(struct virtio_net *n)
{
	return virtio_pci_dev(n->vp);
}

struct virtio_pci *virtio_net_transport(struct virtio_net *n)
{
	return n->vp;
}

void virtio_net_set_link(struct virtio_net *n, bool up)
{
	pthread_mutex_lock(&n->p->dev_lock);
	if (n->link_up != up) {
		n->link_up = up;
		log_info("%s: link %s", n->name, up ? "up" : "down");
		/* Back up: the guest announces itself again where it can (5.1.6.5.4). */
		if (up && virtio_has_feature(&n->vd, VIRTIO_NET_F_GUEST_ANNOUNCE) &&
		    virtio_has_feature(&n->vd, VIRTIO_NET_F_CTRL_VQ))
			n->announce = true;
		virtio_config_changed(&n->vd);
		if (up)
			for (unsigned p = 0; p < n->max_pairs; p++)
				net_backend_rx_ready(n->be, p);
	}
	pthread_mutex_unlock(&n->p->dev_lock);
}

bool virtio_net_link(const struct virtio_net *n)
{
	return n->link_up;
}

void virtio_net_get_stats(const struct virtio_net *n, struct virtio_net_stats *out)
{
	*out = n->stats;
}

void virtio_net_reset(struct virtio_net *n)
{
	virtio_pci_reset(n->vp);
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_pci_destroy(n->vp);
	vnet_free(n);
}

static void virtio_net_ops_reset(void *dev)
{
	virtio_net_reset(dev);
}

static void virtio_net_ops_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

static void virtio_net_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct virtio_net *n = dev;
	struct net_stats b;

	net_backend_stats(n->be, &b);
	fn(opaque, "link_up", n->link_up);
	fn(opaque, "rx_frames", n->stats.rx_frames);
	fn(opaque, "rx_bytes", n->stats.rx_bytes);
	fn(opaque, "rx_filtered", n->stats.rx_filtered);
	fn(opaque, "rx_dropped", n->stats.rx_dropped);
	fn(opaque, "tx_frames", n->stats.tx_frames);
	fn(opaque, "tx_bytes", n->stats.tx_bytes);
	fn(opaque, "tx_dropped", n->stats.tx_dropped);
	fn(opaque, "ctrl_commands", n->stats.ctrl_commands);
	fn(opaque, "backend_tx_blocked", b.tx_blocked);
	fn(opaque, "backend_tx_dropped", b.tx_dropped);
	fn(opaque, "backend_tx_segments", b.tx_segments);
	fn(opaque, "backend_rx_waits", b.rx_waits);
	fn(opaque, "backend_rx_dropped", b.rx_dropped);
	fn(opaque, "backend_rx_coalesced", b.rx_coalesced);
}

/* Notifications still in ioeventfds reach the device first; no chain stays popped. */
static int virtio_net_pre_save(void *obj, struct err *err)
{
	struct virtio_net *n = obj;

	(void)err;
	virtio_pci_flush_notify(n->vp);
	return 0;
}

/*
 * Host-side flows do not survive a restore (the guest's TCP recovers as after a host restart).
 * A transmit queue that waited for its back end (tx_blocked, host state) and still holds
 * chains runs again from the main loop; frames waiting for buffers are retried.
 */
static int virtio_net_post_load(void *obj, u32 version, struct err *err)
{
	struct virtio_net *n = obj;

	(void)version;
	if (n->active_pairs < 1 || n->active_pairs > n->max_pairs)
		return err_set(err, -EINVAL, "%s: %u active queue pairs of %u", n->name,
			       n->active_pairs, n->max_pairs);
	if (n->nr_uni + (u64)n->nr_multi > VIRTIO_NET_MAC_TABLE)
		return err_set(err, -EINVAL, "%s: MAC table of %u + %u entries", n->name, n->nr_uni,
			       n->nr_multi);
	memset(n->tx_blocked, 0, sizeof(n->tx_blocked));
	n->rx_caps_for = 0;
	if (!(n->vd.status & VIRTIO_STATUS_DRIVER_OK))
		return 0;
	for (unsigned p = 0; p < n->max_pairs; p++) {
		if (vq_has_avail(&n->vd.vqs[2 * p + 1]))
			virtio_queue_defer(&n->vd, 2 * p + 1);
		net_backend_rx_ready(n->be, p);
	}
	return 0;
}

static const struct state_field virtio_net_fields[] = {
	STATE_STRUCT(struct virtio_net, vd, virtio_dev_state),
	STATE_HOST(struct virtio_net, name, "instance name from the board"),
	STATE_HOST(struct virtio_net, p, "the platform"),
	STATE_POINTEE(struct virtio_net, vp, virtio_pci_state),
	STATE_HOST(struct virtio_net, be, "the back end (host sockets and fds)"),
	STATE_ARRAY(struct virtio_net, spec_mac, U8, STATE_CHECKED),
	STATE_ARRAY(struct virtio_net, mac, U8),
	STATE_U16(struct virtio_net, mtu, STATE_CHECKED),
	STATE_U32(struct virtio_net, max_pairs, STATE_CHECKED),
	STATE_U16(struct virtio_net, active_pairs),
	STATE_BOOL(struct virtio_net, link_up),
	STATE_BOOL(struct virtio_net, announce),
	STATE_BOOL(struct virtio_net, promisc),
	STATE_BOOL(struct virtio_net, allmulti),
	STATE_BOOL(struct virtio_net, alluni),
	STATE_BOOL(struct virtio_net, nomulti),
	STATE_BOOL(struct virtio_net, nouni),
	STATE_BOOL(struct virtio_net, nobcast),
	STATE_BOOL(struct virtio_net, uni_overflow),
	STATE_BOOL(struct virtio_net, multi_overflow),
	STATE_U32(struct virtio_net, nr_uni, STATE_MAX(VIRTIO_NET_MAC_TABLE)),
	STATE_U32(struct virtio_net, nr_multi, STATE_MAX(VIRTIO_NET_MAC_TABLE)),
	STATE_ARRAY2(struct virtio_net, macs, U8),
	STATE_ARRAY(struct virtio_net, vlans, U32),
	STATE_HOST(struct virtio_net, rx_caps, "back-end offload setting: re-derived"),
	STATE_HOST(struct virtio_net, rx_caps_for, "back-end offload setting: re-derived"),
	STATE_HOST(struct virtio_net, tx_blocked, "back-pressure: post_load re-runs the queues"),
	STATE_HOST(struct virtio_net, e, "scratch buffer"),
	STATE_HOST(struct virtio_net, frame_iov, "scratch buffer"),
	STATE_HOST(struct virtio_net, buf, "scratch buffer"),
	STATE_HOST(struct virtio_net, heads, "scratch buffer"),
	STATE_HOST(struct virtio_net, lens, "scratch buffer"),
	STATE_HOST(struct virtio_net, stats, "host counters"),
	STATE_END,
};

static const struct state_desc virtio_net_state = {
	.name = "virtio-net",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct virtio_net),
	.fields = virtio_net_fields,
	.pre_save = virtio_net_pre_save,
	.post_load = virtio_net_post_load,
};

const struct device_ops virtio_net_device_ops = {
	.type = "virtio-net",
	.reset = virtio_net_ops_reset,
	.state = &virtio_net_state,
	.destroy = virtio_net_ops_destroy,
	.counters = virtio_net_counters,
};
