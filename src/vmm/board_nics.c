// SPDX-License-Identifier: MIT
/*
 * NICs on the PC board (board_nics.h): back end (net/net.h) -> virtio-net or e1000. The
 * device lock serialises everything: the device's transmit calls the back end from bus
 * handlers (or the ioeventfd watch on the main loop), the back end's poll runs on the main
 * loop under the same lock and hands received frames to the device.
 */
#include "vmm/board_nics.h"

#include "devices/device.h"
#include "devices/e1000.h"
#include "devices/pci.h"
#include "net/net.h"
#include "virtio/net.h"
#include "vmm/base/log.h"
#include "vmm/board_pci.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BOARD_NICS_LAST_SLOT 31

struct board_nic {
	struct board_nics *owner;
	char name[16]; /* "net0" */
	struct net_backend *be;
	struct virtio_net *vnet; /* one of the two */
	struct e1000 *e1000;
	struct pci_dev *pci;
	bool on_host, registered;
	bool be_watched;
	struct board_virtio_watch vw;
	struct board_intx intx;
};

struct board_nics {
	struct vm *vm;
	struct pci_host *pci;
	struct board_pci_lines lines;
	struct loop *loop;
	unsigned next_slot;
	unsigned nr, cap;
	struct board_nic **nics;
};

/* ---- back ends ---- */

static int board_nic_user(struct board_nic *nic, const struct nic_spec *ns, struct err *err)
{
	struct net_hostfwd *fwd = calloc(ns->nr_hostfwd + 1, sizeof(*fwd));
	char **names = calloc(ns->nr_hostfwd + 1, sizeof(*names));
	struct net_user_config uc = { .name = nic->name,
				      .dns = ns->dns,
				      .restrict_out = ns->restrict_out,
				      .mtu = ns->mtu,
				      .net = ns->net,
				      .mask = ns->net_prefix ?
						      0xffffffffu << (32 - ns->net_prefix) :
						      0,
				      .hostname = nic->owner->vm->spec->name,
				      .fwd = fwd,
				      .nr_fwd = ns->nr_hostfwd,
				      .fwd_names = (const char *const *)names };
	int ret = 0;

	if (!fwd || !names) {
		ret = err_set(err, -ENOMEM, "%s: out of memory", nic->name);
		goto out;
	}
	for (unsigned i = 0; i < ns->nr_hostfwd; i++) {
		const struct nic_hostfwd *h = &ns->hostfwd[i];

		fwd[i] = (struct net_hostfwd){ .udp = h->udp,
					       .host_addr = h->host_addr,
					       .host_port = h->host_port,
					       .guest_addr = h->guest_addr,
					       .guest_port = h->guest_port };
		if (asprintf(&names[i], "hostfwd[%u] \"%s\"", i, h->rule) < 0) {
			names[i] = NULL;
			ret = err_set(err, -ENOMEM, "%s: out of memory", nic->name);
			goto out;
		}
	}
	ret = net_user_open(&uc, &nic->be, err);
out:
	for (unsigned i = 0; names && i < ns->nr_hostfwd; i++)
		free(names[i]);
	free(names);
	free(fwd);
	return ret;
}

static int board_nic_backend(struct board_nic *nic, const struct nic_spec *ns, int tap_fd,
			     struct err *err)
{
	struct net_tap_config tc = { .name = nic->name,
				     .ifname = ns->tap,
				     .fds = tap_fd >= 0 ? &tap_fd : NULL,
				     .nr_queues = tap_fd >= 0 ? 1 : (ns->queues ? ns->queues : 1),
				     .vnet_hdr = true };

	if (ns->backend == NIC_BACKEND_USER)
		return board_nic_user(nic, ns, err);
	return net_tap_open(&tc, &nic->be, err);
}

/* ---- devices ---- */

static int board_nic_device(struct board_nic *nic, const struct nic_spec *ns, unsigned slot,
			    struct err *err)
{
	struct board_nics *n = nic->owner;
	struct platform *p = &n->vm->plat;
	const struct device_ops *ops;
	void *dev;
	int ret;

	if (ns->model == NIC_MODEL_VIRTIO) {
		struct virtio_net_config vc = {
			.name = nic->name, .queue_pairs = ns->queues, .mtu = ns->mtu, .be = nic->be
		};

		memcpy(vc.mac, ns->mac, 6);
		ret = virtio_net_create(p, &vc, &nic->vnet, err);
		if (ret < 0)
			return ret;
		nic->pci = virtio_net_pci(nic->vnet);
		ops = &virtio_net_device_ops;
		dev = nic->vnet;
		ret = board_virtio_accel(n->vm, virtio_net_transport(nic->vnet), err);
		if (ret < 0)
			return ret;
	} else {
		struct e1000_config ec = { .name = nic->name, .be = nic->be };

		memcpy(ec.mac, ns->mac, 6);
		ret = e1000_create(p, &ec, &nic->e1000, err);
		if (ret < 0)
			return ret;
		nic->pci = e1000_pci(nic->e1000);
		ops = &e1000_device_ops;
		dev = nic->e1000;
	}
	/* PCI_INTERRUPT_PIN 1: INTA, routed as the DSDT's _PRT says. */
	pci_set_intx(nic->pci, 1, board_intx_line(n->vm, &n->lines, &nic->intx, nic->name, slot));
	ret = pci_host_add(n->pci, nic->pci, slot, 0, err);
	if (ret < 0)
		return ret;
	nic->on_host = true;
	ret = platform_add_dev(p, ops, dev, nic->name);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot register the device: %s", nic->name,
			       strerror(-ret));
	nic->registered = true;
	return 0;
}

static void board_nic_free(struct board_nics *n, struct board_nic *nic)
{
	struct platform *p = &n->vm->plat;

	if (nic->registered)
		platform_del_dev(p, nic->vnet ? (void *)nic->vnet : (void *)nic->e1000);
	if (nic->on_host)
		pci_host_remove(n->pci, nic->pci);
	if (nic->vnet)
		virtio_net_destroy(nic->vnet);
	if (nic->e1000)
		e1000_destroy(nic->e1000);
	board_intx_close(&nic->intx);
	net_backend_destroy(nic->be);
	free(nic);
}

/* The back end has something to do: frames, slirp's sockets or timers. Main thread. */
static void board_nics_on_backend(void *opaque, int fd, u32 events)
{
	struct board_nic *nic = opaque;
	struct platform *p = &nic->owner->vm->plat;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&p->dev_lock);
	net_backend_poll(nic->be, &p->dev_lock);
	pthread_mutex_unlock(&p->dev_lock);
}

static int board_nic_watch(struct board_nic *nic, struct loop *l)
{
	int ret = loop_add(l, net_backend_fd(nic->be), EPOLLIN, board_nics_on_backend, nic);

	if (ret < 0)
		return ret;
	nic->be_watched = true;
	if (nic->vnet) {
		ret = board_virtio_watch(&nic->vw, virtio_net_transport(nic->vnet), l);
		if (ret < 0)
			return ret;
	}
	return board_intx_watch(&nic->intx, l);
}

static void board_nic_unwatch(struct board_nic *nic, struct loop *l)
{
	if (nic->be_watched)
		loop_del(l, net_backend_fd(nic->be));
	nic->be_watched = false;
	board_virtio_unwatch(&nic->vw, l);
	board_intx_unwatch(&nic->intx, l);
}

int board_nics_add(struct board_nics *n, const struct nic_spec *ns, unsigned index, int tap_fd,
		   struct err *err)
{
	struct board_nic *nic, **grown;
	int ret;

	/* a NIC added before boot (vm.add-net) goes after whatever took slots since */
	while (n->next_slot <= BOARD_NICS_LAST_SLOT && pci_host_find(n->pci, n->next_slot, 0))
		n->next_slot++;
	if (n->next_slot > BOARD_NICS_LAST_SLOT)
		return err_set(err, -ENOSPC,
			       "nics[%u]: no PCI slot left (slots 2..%d hold the disks, the "
			       "paravirtual devices, the NICs and the display)",
			       index, BOARD_NICS_LAST_SLOT);
	if (n->nr == n->cap) {
		grown = realloc(n->nics, (n->cap + 4) * sizeof(*grown));
		if (!grown)
			return err_set(err, -ENOMEM, "nics[%u]: out of memory", index);
		n->nics = grown;
		n->cap += 4;
	}
	nic = calloc(1, sizeof(*nic));
	if (!nic)
		return err_set(err, -ENOMEM, "nics[%u]: out of memory", index);
	nic->owner = n;
	snprintf(nic->name, sizeof(nic->name), "net%u", index);
	ret = board_nic_backend(nic, ns, tap_fd, err);
	if (ret == 0)
		ret = board_nic_device(nic, ns, n->next_slot, err);
	if (ret == 0 && n->loop)
		ret = board_nic_watch(nic, n->loop);
	if (ret < 0) {
		err_prefix(err, "nics[%u]", index);
		if (n->loop)
			board_nic_unwatch(nic, n->loop);
		if (tap_fd >= 0 && !nic->be)
			close(tap_fd); /* taken over either way */
		board_nic_free(n, nic);
		return ret;
	}
	log_info("%s: %s on %s, MAC %02x:%02x:%02x:%02x:%02x:%02x, PCI 00:%02x.0", nic->name,
		 nic_model_name(ns->model), net_backend_kind(nic->be), ns->mac[0], ns->mac[1],
		 ns->mac[2], ns->mac[3], ns->mac[4], ns->mac[5], n->next_slot);
	n->next_slot++;
	n->nics[n->nr++] = nic;
	return 0;
}

int board_nics_create(struct vm *vm, struct pci_host *pci, const struct board_pci_lines *lines,
		      unsigned first_slot, struct board_nics **out, struct err *err)
{
	const struct vm_spec *spec = vm->spec;
	struct board_nics *n = calloc(1, sizeof(*n));
	int ret;

	if (!n)
		return err_set(err, -ENOMEM, "nics: out of memory");
	n->vm = vm;
	n->pci = pci;
	n->lines = *lines;
	n->next_slot = first_slot;
	for (unsigned i = 0; i < spec->nr_nics; i++) {
		ret = board_nics_add(n, &spec->nics[i], i, -1, err);
		if (ret < 0) {
			board_nics_destroy(n);
			return ret;
		}
	}
	*out = n;
	return 0;
}

int board_nics_attach(struct board_nics *n, struct loop *l)
{
	n->loop = l;
	for (unsigned i = 0; i < n->nr; i++) {
		int ret = board_nic_watch(n->nics[i], l);

		if (ret < 0)
			return ret;
	}
	return 0;
}

void board_nics_detach(struct board_nics *n)
{
	if (!n || !n->loop)
		return;
	for (unsigned i = 0; i < n->nr; i++)
		board_nic_unwatch(n->nics[i], n->loop);
	n->loop = NULL;
}

int board_nics_set_link(struct board_nics *n, const char *id, bool up, struct err *err)
{
	for (unsigned i = 0; i < n->nr; i++) {
		struct board_nic *nic = n->nics[i];

		if (strcmp(nic->name, id))
			continue;
		if (nic->vnet)
			virtio_net_set_link(nic->vnet, up);
		else
			e1000_set_link(nic->e1000, up);
		return 0;
	}
	return err_set(err, -ENOENT, "no NIC with id '%s' (NICs are net0, net1, ... in spec order)",
		       id);
}

void board_nics_destroy(struct board_nics *n)
{
	if (!n)
		return;
	board_nics_detach(n);
	for (unsigned i = n->nr; i-- > 0;)
		board_nic_free(n, n->nics[i]);
	free(n->nics);
	free(n);
}
