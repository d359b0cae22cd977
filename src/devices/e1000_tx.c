// SPDX-License-Identifier: MIT
/*
 * The e1000 transmit ring (8254x SDM 3.3 legacy descriptors, 3.4 TCP/IP context and data
 * descriptors, 3.5 TCP segmentation):
 *   legacy  {le64 addr; le16 length; u8 CSO; u8 CMD; u8 STA; u8 CSS; le16 special}
 *   context {u8 IPCSS, IPCSO; le16 IPCSE; u8 TUCSS, TUCSO; le16 TUCSE;
 *            le32 PAYLEN:20 | DTYP:4 = 0 | TUCMD:8; u8 STA; u8 HDRLEN; le16 MSS}
 *   data    {le64 addr; le32 DTALEN:20 | DTYP:4 = 1 | DCMD:8; u8 STA; u8 POPTS; le16 special}
 * DEXT in the command byte tells legacy from extended. A frame is the data of descriptors up
 * to one with EOP; POPTS (IXSM, TXSM) and TSE come from its first data descriptor, VLE, IFCS
 * and the VLAN tag from its last. Checksums go where CSO / IPCSO / TUCSO say, over CSS.. /
 * IPCSS..IPCSE / TUCSS..TUCSE (0: to the end). With TSE the frame is HDRLEN bytes of headers
 * and a payload cut into MSS-byte segments, each with its lengths, sequence number, IPv4
 * identification and checksums made anew (net_tso_segment).
 *
 * TDH moves past a frame only once it is sent: a back end that is full (-EAGAIN) leaves the
 * frame's descriptors on the ring and the device waits for tx_ready; a frame whose
 * descriptors are not all there yet is read again at the next TDT write. One call handles
 * at most E1000_TX_BUDGET descriptors and leaves the rest to a timer; a frame of more
 * descriptors than that, longer than E1000_TX_MAX, or with descriptors outside RAM, is
 * dropped (counted and logged). Descriptors with RS get DD written back.
 */
#include "devices/e1000_internal.h"

#include "net/net_offload.h"
#include "vmm/base/log.h"

#include <errno.h>
#include <string.h>

struct e1000_desc {
	u64 addr;
	u32 len; /* length (legacy) or DTALEN (data) */
	u8 cmd;
	u8 sta_byte;
	u8 b10, b13; /* legacy: CSO, CSS; data: DTYP nibble, POPTS */
	u16 special;
	bool ext, ctx;
};

/* A frame being gathered from the ring. */
struct e1000_frame {
	size_t len;
	bool started, ext, tse, bad;
	u8 popts, cso, css, last_cmd;
	u16 special;
	unsigned descs;
};

static void e1000_desc_parse(const u8 *b, struct e1000_desc *x)
{
	memcpy(&x->addr, b, 8);
	x->cmd = b[11];
	x->sta_byte = b[12];
	x->b10 = b[10];
	x->b13 = b[13];
	x->special = (u16)(b[14] | b[15] << 8);
	x->ext = x->cmd & E1000_TXD_CMD_DEXT;
	x->ctx = x->ext && (b[10] >> 4) == E1000_TXD_DTYP_CTX;
	x->len = x->ext ? ((u32)b[8] | (u32)b[9] << 8 | (u32)(b[10] & 15) << 16) :
			  (u32)(b[8] | b[9] << 8);
}

static void e1000_ctx_load(struct e1000 *d, const u8 *b)
{
	struct e1000_tx_ctx *c = &d->ctx;

	c->ipcss = b[0];
	c->ipcso = b[1];
	c->ipcse = (u16)(b[2] | b[3] << 8);
	c->tucss = b[4];
	c->tucso = b[5];
	c->tucse = (u16)(b[6] | b[7] << 8);
	c->paylen = (u32)b[8] | (u32)b[9] << 8 | (u32)(b[10] & 15) << 16;
	c->tucmd = b[11];
	c->hdrlen = b[13];
	c->mss = (u16)(b[14] | b[15] << 8);
}

static void e1000_tx_stats(struct e1000 *d, const u8 *f, size_t len)
{
	static const unsigned bins[] = { 64, 127, 255, 511, 1023 };
	unsigned off = E1000_ST_PTC1522;

	for (unsigned i = 0; i < ARRAY_SIZE(bins); i++) {
		if (len + 4 <= bins[i]) {
			off = E1000_ST_PTC64 + 4 * i;
			break;
		}
	}
	e1000_stat_add(d, off, 1);
	e1000_stat_add(d, E1000_ST_GPTC, 1);
	e1000_stat_add(d, E1000_ST_TPT, 1);
	e1000_stat_add(d, E1000_ST_GOTCL, len + 4);
	e1000_stat_add(d, E1000_ST_TOTL, len + 4);
	if (f[0] & 1)
		e1000_stat_add(
			d, memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) ? E1000_ST_MPTC : E1000_ST_BPTC,
			1);
}

struct e1000_emit {
	struct e1000 *d;
	const struct e1000_frame *fr;
	unsigned index; /* segments built so far */
};

/* Send one finished frame (tagged if asked), skipping what a blocked attempt already sent. */
static int e1000_emit(void *opaque, const u8 *frame, size_t len)
{
	struct e1000_emit *em = opaque;
	struct e1000 *d = em->d;
	u8 *buf = (u8 *)frame;
	struct iovec iov;
	int ret;

	if (em->index++ < d->tx_sent)
		return 0;
	if ((em->fr->last_cmd & E1000_TXD_CMD_VLE) && (d->ctrl & E1000_CTRL_VME)) {
		if (frame != d->tx_buf && frame != d->seg_buf)
			return -EINVAL;
		memmove(buf + 16, buf + 12, len - 12); /* both buffers have room for the tag */
		buf[12] = (u8)(d->vet >> 8);
		buf[13] = (u8)d->vet;
		buf[14] = (u8)(em->fr->special >> 8);
		buf[15] = (u8)em->fr->special;
		len += 4;
	}
	iov = (struct iovec){ .iov_base = buf, .iov_len = len };
	ret = net_send(d->be, 0, NULL, &iov, 1, len);
	if (ret == -EAGAIN)
		return ret;
	d->tx_sent++;
	d->hstats.tx_frames++;
	d->hstats.tx_bytes += len;
	e1000_tx_stats(d, buf, len);
	return 0;
}

/* Checksums a frame without TSE asks for. false: they do not fit the frame. */
static bool e1000_tx_csums(struct e1000 *d, const struct e1000_frame *fr)
{
	const struct e1000_tx_ctx *c = &d->ctx;
	size_t len = fr->len;
	u8 *f = d->tx_buf;

	if (!fr->ext) {
		if (!(fr->last_cmd & E1000_TXD_CMD_IC))
			return true;
		return fr->cso >= fr->css &&
		       net_csum_fill(f, len, fr->css, fr->cso - fr->css, 0) == 0;
	}
	if (fr->popts & E1000_TXD_POPTS_IXSM) {
		if (c->ipcso < c->ipcss || c->ipcso + 2u > len)
			return false;
		f[c->ipcso] = f[c->ipcso + 1] = 0; /* the header checksum covers its own field */
		if (net_csum_fill(f, len, c->ipcss, c->ipcso - c->ipcss,
				  c->ipcse ? c->ipcse + 1u : 0) < 0)
			return false;
	}
	if (fr->popts & E1000_TXD_POPTS_TXSM) /* the field holds the pseudo-header sum */
		return c->tucso >= c->tucss && net_csum_fill(f, len, c->tucss, c->tucso - c->tucss,
							     c->tucse ? c->tucse + 1u : 0) == 0;
	return true;
}

/* 3.5: the context says where the headers are; net_tso_segment makes every segment. */
static int e1000_tx_tso(struct e1000 *d, struct e1000_emit *em)
{
	const struct e1000_tx_ctx *c = &d->ctx;
	size_t len = em->fr->len;
	struct net_layers l = {
		.l3_off = c->ipcss,
		.l4_off = c->tucss,
		.l4_len = len > c->tucss ? len - c->tucss : 0,
		.hdr_len = c->hdrlen,
		.ipv6 = !(c->tucmd & E1000_TUCMD_IP),
		.proto = NET_IPPROTO_TCP,
	};
	int ret;

	if (!(c->tucmd & E1000_TUCMD_TCP) || c->tucss < c->ipcss + (l.ipv6 ? 40u : 20u) ||
	    c->hdrlen < c->tucss + 20u || c->hdrlen >= len || c->mss < NET_TSO_MIN_MSS ||
	    c->hdrlen + (size_t)c->mss > E1000_TX_MAX)
		return -EINVAL;
	e1000_stat_add(d, E1000_ST_TSCTC, 1);
	ret = net_tso_segment(d->tx_buf, len, &l, c->mss, d->seg_buf, e1000_emit, em);
	if (ret > 0)
		d->hstats.tx_segments += (unsigned)ret;
	return ret < 0 ? ret : 0;
}

/* The frame is whole: send it. 0 done (sent or dropped), -EAGAIN the back end is full. */
static int e1000_tx_frame(struct e1000 *d, const struct e1000_frame *fr)
{
	struct e1000_emit em = { .d = d, .fr = fr };
	int ret;

	if (fr->bad || !fr->len || !d->link_up) {
		d->hstats.tx_dropped++;
		return 0;
	}
	if (fr->tse && (d->ctx.tucmd & E1000_TUCMD_TSE))
		ret = e1000_tx_tso(d, &em);
	else if (!e1000_tx_csums(d, fr))
		ret = -EINVAL;
	else
		ret = e1000_emit(&em, d->tx_buf, fr->len);
	if (ret == -EAGAIN)
		return ret;
	if (ret < 0) {
		log_guest("%s: transmit of %zu bytes with offloads the context does not fit; "
			  "dropped",
			  d->name, fr->len);
		d->hstats.tx_dropped++;
	}
	return 0;
}

static void e1000_tx_writeback(struct e1000 *d, u64 base, unsigned from, unsigned to, unsigned n)
{
	for (unsigned i = from; i != to; i = (i + 1) % n) {
		u8 b[2];

		if (gmem_read(&d->p->mem, base + 16ull * i + 11, b, 2) ||
		    !(b[0] & E1000_TXD_CMD_RS))
			continue;
		b[1] |= E1000_TXD_STAT_DD;
		(void)!gmem_write(&d->p->mem, base + 16ull * i + 12, &b[1], 1); /* read above */
	}
}

/* Add one data or legacy descriptor to the frame. */
static void e1000_tx_gather(struct e1000 *d, struct e1000_frame *fr, const struct e1000_desc *x)
{
	if (!fr->started) {
		fr->started = true;
		fr->ext = x->ext;
		fr->tse = x->ext && (x->cmd & E1000_TXD_CMD_TSE);
		fr->popts = x->ext ? x->b13 : 0;
	}
	fr->descs++;
	fr->last_cmd = x->cmd;
	fr->special = x->special;
	fr->cso = x->b10;
	fr->css = x->b13;
	if (fr->bad)
		return;
	if (fr->len + x->len > E1000_TX_MAX ||
	    gmem_read(&d->p->mem, x->addr, d->tx_buf + fr->len, x->len)) {
		log_guest("%s: transmit buffer of %u bytes at %#llx outside RAM or past %u bytes",
			  d->name, x->len, (unsigned long long)x->addr, E1000_TX_MAX);
		fr->bad = true;
		return;
	}
	fr->len += x->len;
}

void e1000_tx_run(struct e1000 *d)
{
	unsigned n = d->tdlen / 16, budget = E1000_TX_BUDGET, pos, done = 0;
	u64 base = (u64)d->tdbah << 32 | d->tdbal;
	struct e1000_frame fr = { 0 };

	if (!(d->tctl & E1000_TCTL_EN) || !n || d->tx_blocked)
		return;
	if (d->tdh >= n || d->tdt >= n) {
		log_guest("%s: TDH %u or TDT %u beyond a ring of %u", d->name, d->tdh, d->tdt, n);
		return;
	}
	timer_cancel(&d->tx_timer);
	for (pos = d->tdh; pos != d->tdt; pos = (pos + 1) % n) {
		struct e1000_desc x;
		u8 b[16];

		if (!budget--) {
			if (fr.started) { /* a frame of too many descriptors: drop all of it */
				log_guest("%s: transmit frame of more than %u descriptors dropped",
					  d->name, E1000_TX_BUDGET);
				d->hstats.tx_dropped++;
				e1000_tx_writeback(d, base, d->tdh, pos, n);
				d->tdh = pos;
				d->tx_discard = true;
			}
			timer_arm(&d->tx_timer, vclock_now_ns(&d->p->clock));
			break;
		}
		if (gmem_read(&d->p->mem, base + 16ull * pos, b, sizeof(b))) {
			log_guest("%s: transmit descriptor %u outside RAM", d->name, pos);
			fr.bad = true;
			memset(b, 0, sizeof(b));
			b[11] = E1000_TXD_CMD_EOP;
		}
		e1000_desc_parse(b, &x);
		if (x.ctx) {
			e1000_ctx_load(d, b);
			if (!fr.started) { /* between frames: done with it now */
				e1000_tx_writeback(d, base, pos, (pos + 1) % n, n);
				d->tdh = (pos + 1) % n;
				done++;
			}
			continue;
		}
		if (d->tx_discard) {
			if (x.cmd & E1000_TXD_CMD_EOP)
				d->tx_discard = false;
			e1000_tx_writeback(d, base, pos, (pos + 1) % n, n);
			d->tdh = (pos + 1) % n;
			done++;
			continue;
		}
		e1000_tx_gather(d, &fr, &x);
		if (!(x.cmd & E1000_TXD_CMD_EOP))
			continue;
		if (e1000_tx_frame(d, &fr) == -EAGAIN) {
			d->tx_blocked = true; /* TDH stays at the frame: tx_ready comes back */
			break;
		}
		d->tx_sent = 0;
		e1000_tx_writeback(d, base, d->tdh, (pos + 1) % n, n);
		d->tdh = (pos + 1) % n;
		memset(&fr, 0, sizeof(fr));
		done++;
	}
	if (done)
		e1000_raise(d, E1000_ICR_TXDW | (d->tdh == d->tdt ? E1000_ICR_TXQE : 0));
	net_backend_tx_done(d->be); /* the answers to what went out, now */
}

void e1000_tx_timer(void *opaque)
{
	e1000_tx_run(opaque);
}

void e1000_tx_ready(void *opaque, unsigned q)
{
	struct e1000 *d = opaque;

	(void)q;
	if (!d->tx_blocked)
		return;
	d->tx_blocked = false;
	e1000_tx_run(d);
}
