// SPDX-License-Identifier: MIT
/* A recording network back end for unit tests (fake_net.h), on net.c's core. */
#include "fake_net.h"

#include "net/net_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fake_be {
	struct net_backend be;
	struct fake_net *owner;
};

static int fake_send(struct net_backend *be, unsigned q, const struct net_hdr *hdr,
		     const struct iovec *iov, unsigned iovcnt, size_t len)
{
	struct fake_net *f = ((struct fake_be *)be)->owner;
	struct fake_net_frame *fr;

	if (f->send_ret)
		return f->send_ret;
	if (f->nr_sent < FAKE_NET_FRAMES) {
		fr = &f->sent[f->nr_sent];
		fr->q = q;
		fr->hdr = *hdr;
		fr->len = len;
		fr->data = malloc(len ? len : 1);
		for (size_t i = 0, off = 0; fr->data && i < iovcnt; off += iov[i++].iov_len)
			memcpy(fr->data + off, iov[i].iov_base, iov[i].iov_len);
	}
	f->nr_sent++;
	return 0;
}

static void fake_rx_ready(struct net_backend *be, unsigned q)
{
	((struct fake_be *)be)->owner->rx_ready[q]++;
}

static unsigned fake_set_rx_caps(struct net_backend *be, unsigned caps)
{
	((struct fake_be *)be)->owner->rx_caps = caps;
	return caps;
}

static void fake_poll(struct net_backend *be, pthread_mutex_t *lock)
{
	(void)be;
	(void)lock;
}

static void fake_destroy(struct net_backend *be)
{
	net_backend_fini(be);
	free(be);
}

static const struct net_backend_ops fake_ops = {
	.kind = "fake",
	.send = fake_send,
	.rx_ready = fake_rx_ready,
	.set_rx_caps = fake_set_rx_caps,
	.poll = fake_poll,
	.destroy = fake_destroy,
};

void fake_net_set_vnet_hdr(struct fake_net *f)
{
	f->be->vnet_hdr_len = sizeof(struct net_hdr);
}

void fake_net_init(struct fake_net *f, unsigned caps, unsigned nq)
{
	struct fake_be *b = calloc(1, sizeof(*b));

	memset(f, 0, sizeof(*f));
	if (!b || net_backend_init(&b->be, &fake_ops, "fake", NULL) < 0) {
		free(b);
		return;
	}
	b->owner = f;
	b->be.caps = b->be.rx_caps = caps;
	b->be.nr_queues = nq ? nq : 1;
	f->be = &b->be;
}

void fake_net_clear(struct fake_net *f)
{
	for (unsigned i = 0; i < f->nr_sent && i < FAKE_NET_FRAMES; i++)
		free(f->sent[i].data);
	memset(f->sent, 0, sizeof(f->sent));
	f->nr_sent = 0;
}

void fake_net_fini(struct fake_net *f)
{
	fake_net_clear(f);
	net_backend_destroy(f->be);
	f->be = NULL;
}

int fake_net_deliver(struct fake_net *f, unsigned q, const struct net_hdr *hdr, const void *frame,
		     size_t len)
{
	struct iovec iov = { .iov_base = (void *)frame, .iov_len = len };

	return net_backend_deliver(f->be, q, hdr, &iov, 1, len);
}

void fake_net_tx_ready(struct fake_net *f, unsigned q)
{
	if (f->be->has_peer && f->be->peer.tx_ready)
		f->be->peer.tx_ready(f->be->peer.opaque, q);
}
