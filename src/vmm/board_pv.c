// SPDX-License-Identifier: MIT
/*
 * The paravirtual devices of the PC board (board_pv.h). The backdoor's configuration comes
 * from the spec (uuid, guestinfo) and the accelerator (its TSC rate; whether it routes
 * high-bandwidth transfers); the APIC bus runs at 1 GHz under both accelerators (KVM's
 * in-kernel local APIC and the userspace one of board_irqchip.c).
 *
 * Each console port has a serial back end of its own (vmm/console.h, opened here, closed
 * with the board). Input goes to the port's receive buffers on the main loop; what they
 * cannot take waits in the back end until the guest posts buffers (the device's rx_ready,
 * which wakes the main loop through an eventfd so the input is offered again).
 */
#include "vmm/board_pv.h"

#include "devices/pci.h"
#include "devices/vmport.h"
#include "virtio/console.h"
#include "virtio/rng.h"
#include "vmm/base/log.h"
#include "vmm/board_pc.h"
#include "vmm/console.h"
#include "vmm/loop.h"
#include "vmm/spec.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define BOARD_PV_APIC_BUS_HZ 1000000000u

struct board_pv_port {
	struct board_pv *pv;
	unsigned index;
	struct console *con;
	bool attached;
};

struct board_pv {
	struct vm *vm;
	struct pci_host *pci;
	struct vmport *vmport;
	struct virtio_console *vcon;
	struct virtio_rng *vrng;
	struct board_pv_port ports[VIRTIO_CONSOLE_MAX_PORTS];
	unsigned nr_ports;
	int rx_fd; /* eventfd: a port posted receive buffers */
	struct loop *loop;
	bool rx_watched, vcon_defer_watched, vrng_defer_watched;
	unsigned next_slot; /* the first PCI slot after its functions */
};

static int board_pv_create_vmport(struct board_pv *pv, struct err *err)
{
	struct vm *vm = pv->vm;
	const struct vm_spec *spec = vm->spec;
	struct vmport_config cfg = {
		.name = "vmport",
		.ram_bytes = spec->memory_mib << 20,
		.tsc_hz = vm->accel->tsc_khz ? (u64)vm->accel->tsc_khz(vm->avm) * 1000 : 0,
		.apic_bus_hz = BOARD_PV_APIC_BUS_HZ,
		.hb = vm->accel->backdoor_hb,
		.gi_keys = (const char *const *)spec->guestinfo.keys,
		.gi_values = (const char *const *)spec->guestinfo.values,
		.nr_gi = spec->guestinfo.nr,
	};
	int ret;

	memcpy(cfg.uuid, spec->uuid, sizeof(cfg.uuid));
	ret = vmport_create(&vm->plat, &cfg, &pv->vmport, err);
	if (ret < 0)
		return ret;
	ret = platform_add_dev(&vm->plat, &vmport_device_ops, pv->vmport, cfg.name);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot register the device: %s", cfg.name,
			       strerror(-ret));
	if (!cfg.hb)
		log_info("%s: %s hands no high-bandwidth transfers to the backdoor; the guest's "
			 "RPC messages move 4 bytes per call",
			 cfg.name, vm->accel->name);
	return 0;
}

/* ---- virtio-console ---- */

/* Guest output on a port. Device lock held. */
static void board_pv_con_write(void *opaque, unsigned port, const u8 *buf, size_t len)
{
	struct board_pv *pv = opaque;

	if (port < pv->nr_ports)
		console_write(pv->ports[port].con, buf, len);
}

/* A port posted receive buffers: have the main loop offer waiting input. Device lock held. */
static void board_pv_con_rx_ready(void *opaque, unsigned port)
{
	struct board_pv *pv = opaque;

	(void)port;
	if (eventfd_write(pv->rx_fd, 1) < 0)
		log_dbg(LOG_CAT_DEV, "virtio-console0: rx eventfd: %s", strerror(errno));
}

/* Console input for a port. Main thread. */
static size_t board_pv_con_input(void *opaque, const u8 *buf, size_t len)
{
	struct board_pv_port *p = opaque;
	size_t n;

	pthread_mutex_lock(&p->pv->vm->plat.dev_lock);
	n = virtio_console_receive(p->pv->vcon, p->index, buf, len);
	pthread_mutex_unlock(&p->pv->vm->plat.dev_lock);
	return n;
}

static void board_pv_con_quit(void *opaque)
{
	struct board_pv_port *p = opaque;

	vm_request_end(p->pv->vm, VM_END_SIGNAL, SIGINT, "quit from consoles[%u] (Ctrl-A x)",
		       p->index);
}

/* Put a virtio function on the PCI host, INTA on the board's line, and register it. */
static int board_pv_add_pci(struct board_pv *pv, struct pci_dev *dev, unsigned slot,
			    const struct device_ops *ops, void *obj, const char *name,
			    struct err *err)
{
	int ret;

	pci_set_intx(dev, 1, board_pc_gsi_line(pv->vm, BOARD_PC_PCI_INTA_GSI(slot)));
	ret = pci_host_add(pv->pci, dev, slot, 0, err);
	if (ret < 0)
		return ret;
	ret = platform_add_dev(&pv->vm->plat, ops, obj, name);
	if (ret < 0) {
		pci_host_remove(pv->pci, dev);
		return err_set(err, ret, "%s: cannot register the device: %s", name,
			       strerror(-ret));
	}
	return 0;
}

static int board_pv_create_console(struct board_pv *pv, unsigned slot, struct err *err)
{
	const struct vm_spec *spec = pv->vm->spec;
	struct virtio_console_config cfg = {
		.name = "virtio-console0",
		.nr_ports = spec->nr_consoles,
		.backend = { .opaque = pv,
			     .write = board_pv_con_write,
			     .rx_ready = board_pv_con_rx_ready },
	};
	int ret;

	pv->rx_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pv->rx_fd < 0)
		return err_set(err, -errno, "%s: eventfd: %s", cfg.name, strerror(errno));
	for (unsigned i = 0; i < spec->nr_consoles; i++) {
		struct board_pv_port *p = &pv->ports[pv->nr_ports];

		cfg.port_names[i] = spec->consoles[i].name;
		p->pv = pv;
		p->index = i;
		ret = console_open(&spec->consoles[i].target, spec->name, &p->con, err);
		if (ret < 0)
			return err_prefix(err, "consoles[%u]", i), ret;
		pv->nr_ports++;
		if (console_pty_path(p->con))
			log_info("consoles[%u] (%s): %s", i, spec->consoles[i].name ?: "console",
				 console_pty_path(p->con));
	}
	ret = virtio_console_create(&pv->vm->plat, &cfg, &pv->vcon, err);
	if (ret < 0)
		return ret;
	ret = board_pv_add_pci(pv, virtio_console_pci(pv->vcon), slot, &virtio_console_device_ops,
			       pv->vcon, cfg.name, err);
	if (ret < 0) {
		virtio_console_destroy(pv->vcon);
		pv->vcon = NULL;
	}
	return ret;
}

static int board_pv_create_rng(struct board_pv *pv, unsigned slot, struct err *err)
{
	struct virtio_rng_config cfg = { .name = "virtio-rng0",
					 .bytes_per_second = pv->vm->spec->rng.bytes_per_second };
	int ret = virtio_rng_create(&pv->vm->plat, &cfg, &pv->vrng, err);

	if (ret < 0)
		return ret;
	ret = board_pv_add_pci(pv, virtio_rng_pci(pv->vrng), slot, &virtio_rng_device_ops, pv->vrng,
			       cfg.name, err);
	if (ret < 0) {
		virtio_rng_destroy(pv->vrng);
		pv->vrng = NULL;
	}
	return ret;
}

int board_pv_create(struct vm *vm, struct pci_host *pci, unsigned slot, struct board_pv **out,
		    struct err *err)
{
	struct board_pv *pv = calloc(1, sizeof(*pv));
	int ret;

	if (!pv)
		return err_set(err, -ENOMEM, "board: out of memory");
	pv->vm = vm;
	pv->pci = pci;
	pv->rx_fd = -1;
	if (vm->spec->hypercall.vmware_backdoor) {
		ret = board_pv_create_vmport(pv, err);
		if (ret < 0)
			goto err_destroy;
	}
	if (vm->spec->nr_consoles) {
		ret = board_pv_create_console(pv, slot++, err);
		if (ret < 0)
			goto err_destroy;
	}
	if (vm->spec->rng.present) {
		ret = board_pv_create_rng(pv, slot++, err);
		if (ret < 0)
			goto err_destroy;
	}
	pv->next_slot = slot;
	*out = pv;
	return 0;

err_destroy:
	board_pv_destroy(pv);
	return ret;
}

/* ---- the main loop ---- */

/* Ports posted receive buffers: offer the input that waited. Main thread. */
static void board_pv_on_rx(void *opaque, int fd, u32 events)
{
	struct board_pv *pv = opaque;
	eventfd_t n;

	(void)events;
	if (eventfd_read(fd, &n) < 0)
		return;
	for (unsigned i = 0; i < pv->nr_ports; i++) {
		if (pv->ports[i].attached && console_input_pending(pv->ports[i].con))
			console_retry(pv->ports[i].con);
	}
}

static void board_pv_on_defer(void *opaque, int fd, u32 events)
{
	(void)fd, (void)events;
	virtio_pci_defer_event(opaque); /* takes the device lock */
}

int board_pv_attach(struct board_pv *pv, struct loop *l)
{
	int ret = 0;

	pv->loop = l;
	for (unsigned i = 0; i < pv->nr_ports && !ret; i++) {
		ret = console_attach(pv->ports[i].con, l, board_pv_con_input, board_pv_con_quit,
				     &pv->ports[i]);
		pv->ports[i].attached = ret == 0;
	}
	if (!ret && pv->vcon) {
		ret = loop_add(l, pv->rx_fd, EPOLLIN, board_pv_on_rx, pv);
		pv->rx_watched = ret == 0;
	}
	if (!ret && pv->vcon) {
		struct virtio_pci *vp = virtio_console_transport(pv->vcon);

		ret = loop_add(l, virtio_pci_defer_fd(vp), EPOLLIN, board_pv_on_defer, vp);
		pv->vcon_defer_watched = ret == 0;
	}
	if (!ret && pv->vrng) {
		struct virtio_pci *vp = virtio_rng_transport(pv->vrng);

		ret = loop_add(l, virtio_pci_defer_fd(vp), EPOLLIN, board_pv_on_defer, vp);
		pv->vrng_defer_watched = ret == 0;
	}
	return ret;
}

void board_pv_detach(struct board_pv *pv)
{
	if (!pv || !pv->loop)
		return;
	for (unsigned i = 0; i < pv->nr_ports; i++) {
		if (pv->ports[i].attached)
			console_detach(pv->ports[i].con);
		pv->ports[i].attached = false;
	}
	if (pv->rx_watched)
		loop_del(pv->loop, pv->rx_fd);
	if (pv->vcon_defer_watched)
		loop_del(pv->loop, virtio_pci_defer_fd(virtio_console_transport(pv->vcon)));
	if (pv->vrng_defer_watched)
		loop_del(pv->loop, virtio_pci_defer_fd(virtio_rng_transport(pv->vrng)));
	pv->rx_watched = pv->vcon_defer_watched = pv->vrng_defer_watched = false;
	pv->loop = NULL;
}

unsigned board_pv_next_slot(const struct board_pv *pv)
{
	return pv->next_slot;
}

void board_pv_destroy(struct board_pv *pv)
{
	if (!pv)
		return;
	board_pv_detach(pv);
	if (pv->vrng) {
		platform_del_dev(&pv->vm->plat, pv->vrng);
		pci_host_remove(pv->pci, virtio_rng_pci(pv->vrng));
		virtio_rng_destroy(pv->vrng);
	}
	if (pv->vcon) {
		platform_del_dev(&pv->vm->plat, pv->vcon);
		pci_host_remove(pv->pci, virtio_console_pci(pv->vcon));
		virtio_console_destroy(pv->vcon);
	}
	for (unsigned i = 0; i < pv->nr_ports; i++)
		console_close(pv->ports[i].con);
	if (pv->rx_fd >= 0)
		close(pv->rx_fd);
	if (pv->vmport) {
		platform_del_dev(&pv->vm->plat, pv->vmport);
		vmport_destroy(pv->vmport);
	}
	free(pv);
}

struct vmport *board_pv_vmport(struct board_pv *pv)
{
	return pv ? pv->vmport : NULL;
}

struct virtio_console *board_pv_console(struct board_pv *pv)
{
	return pv ? pv->vcon : NULL;
}

void board_pv_backdoor(struct board_pv *pv, struct accel_backdoor *r)
{
	struct vmport_regs vr = { .rax = r->rax,
				  .rbx = r->rbx,
				  .rcx = r->rcx,
				  .rdx = r->rdx,
				  .rsi = r->rsi,
				  .rdi = r->rdi,
				  .rbp = r->rbp,
				  .hb = r->hb,
				  .hb_out = r->hb_out,
				  .hb_buf = r->hb_buf,
				  .hb_len = r->hb_len };

	if (!pv->vmport) {
		r->rax = ~0ull;
		return;
	}
	pthread_mutex_lock(&pv->vm->plat.dev_lock);
	vmport_call(pv->vmport, &vr);
	pthread_mutex_unlock(&pv->vm->plat.dev_lock);
	r->rax = vr.rax;
	r->rbx = vr.rbx;
	r->rcx = vr.rcx;
	r->rdx = vr.rdx;
	r->rsi = vr.rsi;
	r->rdi = vr.rdi;
	r->rbp = vr.rbp;
	r->hb_len = vr.hb_len;
}
