/* SPDX-License-Identifier: MIT */
/*
 * KVM accelerator, interrupt injection into the in-kernel irqchip:
 * KVM_IRQ_LINE (api.rst 4.25) drives a GSI of the default routing (PIC pins
 * 0-15 and IOAPIC pins 0-23), KVM_SIGNAL_MSI (api.rst 4.71) delivers an MSI
 * as written by a device (address/data per Intel SDM vol. 3A 11.11).
 *
 * The eventfd fast paths (accel.h ioeventfd / msi_irqfd): KVM_IOEVENTFD (api.rst 4.59)
 * turns a guest write at an address into an eventfd signal without a userspace exit;
 * KVM_IRQFD (4.75) turns an eventfd signal into an interrupt on a GSI, and for an MSI that
 * GSI gets a KVM_IRQ_ROUTING_MSI entry through KVM_SET_GSI_ROUTING (4.52). That ioctl
 * replaces the whole table, so ours starts with the routes KVM_CREATE_IRQCHIP installs by
 * default -- GSI 0-15 to IOAPIC pin = GSI and to PIC pin GSI % 8 (master below 8, slave
 * from 8), GSI 16-23 to the IOAPIC only -- and MSI routes take GSIs from 24 up.
 *
 * A level-triggered line through an irqfd uses KVM_IRQFD_FLAG_RESAMPLE (4.75): the write
 * asserts the GSI under the irqfd's own source, the guest's EOI lowers it and signals the
 * resample eventfd (the caller re-asserts if its device still holds the line high).
 */
#include "vmm/kvm/kvm_internal.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define KVM_IRQ_DEFAULT_GSIS 24 /* IOAPIC pins; GSIs from here up are free for MSI routes */

/* Any thread. 0 or a negative errno. */
int kvm_irq_line(struct accel_vm *avm, unsigned gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };

	if (ioctl(avm->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		int e = errno;

		log_dbg(LOG_CAT_IRQ, "%s: KVM_IRQ_LINE gsi %u level %d: %s", avm->name, gsi, level,
			strerror(e));
		return -e;
	}
	return 0;
}

/* Any thread. 0 when delivered or blocked by the guest's masking, else a negative errno. */
int kvm_irq_msi(struct accel_vm *avm, u64 addr, u32 data)
{
	struct kvm_msi msi = {
		.address_lo = (u32)addr,
		.address_hi = (u32)(addr >> 32),
		.data = data,
	};
	int ret = ioctl(avm->vm_fd, KVM_SIGNAL_MSI, &msi);

	if (ret < 0) {
		int e = errno;

		log_dbg(LOG_CAT_IRQ, "%s: KVM_SIGNAL_MSI addr %#llx data %#x: %s", avm->name,
			(unsigned long long)addr, data, strerror(e));
		return -e;
	}
	return 0;
}

void kvm_irq_init(struct accel_vm *avm)
{
	pthread_mutex_init(&avm->irq_lock, NULL);
}

void kvm_irq_fini(struct accel_vm *avm)
{
	free(avm->routes);
	free(avm->irqfds);
	avm->routes = NULL;
	avm->irqfds = NULL;
	pthread_mutex_destroy(&avm->irq_lock);
}

/* KVM_IOEVENTFD, with datamatch when match. Any thread. */
static int kvm_ioeventfd_set(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, bool match,
			     u64 data, int fd, bool assign)
{
	struct kvm_ioeventfd io = {
		.datamatch = match ? data : 0,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (is_pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (!len && kvm_ioctl_check(avm->vm_fd, KVM_CAP_IOEVENTFD_ANY_LENGTH) <= 0)
		return -EOPNOTSUPP;
	if (ioctl(avm->vm_fd, KVM_IOEVENTFD, &io) < 0) {
		int e = errno;

		log_dbg(LOG_CAT_KVM, "%s: KVM_IOEVENTFD %s %s %#llx len %u: %s", avm->name,
			assign ? "assign" : "deassign", is_pio ? "port" : "gpa",
			(unsigned long long)addr, len, strerror(e));
		return -e;
	}
	log_dbg(LOG_CAT_KVM, "%s: ioeventfd %d %s at %s %#llx%s", avm->name, fd,
		assign ? "assigned" : "removed", is_pio ? "port" : "gpa", (unsigned long long)addr,
		match ? " (datamatch)" : "");
	return 0;
}

/* Any thread. 0 or a negative errno (-EOPNOTSUPP: KVM cannot match writes of any length). */
int kvm_ioeventfd(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, int fd, bool assign)
{
	return kvm_ioeventfd_set(avm, addr, len, is_pio, false, 0, fd, assign);
}

/* Any thread. 0 or a negative errno. */
int kvm_ioeventfd_match(struct accel_vm *avm, u64 addr, unsigned len, bool is_pio, u64 data, int fd,
			bool assign)
{
	return kvm_ioeventfd_set(avm, addr, len, is_pio, true, data, fd, assign);
}

/* The default routing table KVM_CREATE_IRQCHIP installs (see the header comment). */
static int kvm_routes_init(struct accel_vm *avm)
{
	unsigned n = 0;

	avm->max_routes = 16 * 2 + (KVM_IRQ_DEFAULT_GSIS - 16) + 8;
	avm->routes = calloc(avm->max_routes, sizeof(*avm->routes));
	if (!avm->routes)
		return -ENOMEM;
	for (u32 gsi = 0; gsi < KVM_IRQ_DEFAULT_GSIS; gsi++) {
		avm->routes[n].gsi = gsi;
		avm->routes[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		avm->routes[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		avm->routes[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		avm->routes[n].gsi = gsi;
		avm->routes[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		avm->routes[n].u.irqchip.irqchip =
			gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		avm->routes[n++].u.irqchip.pin = gsi % 8;
	}
	avm->nr_routes = n;
	return 0;
}

/* Install avm->routes. irq_lock held. */
static int kvm_routes_apply(struct accel_vm *avm)
{
	struct kvm_irq_routing *r;
	int ret = 0;

	r = calloc(1, sizeof(*r) + avm->nr_routes * sizeof(r->entries[0]));
	if (!r)
		return -ENOMEM;
	r->nr = avm->nr_routes;
	memcpy(r->entries, avm->routes, avm->nr_routes * sizeof(r->entries[0]));
	if (ioctl(avm->vm_fd, KVM_SET_GSI_ROUTING, r) < 0) {
		ret = -errno;
		log_dbg(LOG_CAT_KVM, "%s: KVM_SET_GSI_ROUTING (%u routes): %s", avm->name,
			avm->nr_routes, strerror(-ret));
	}
	free(r);
	return ret;
}

static struct kvm_irq_routing_entry *kvm_route_of(struct accel_vm *avm, u32 gsi)
{
	for (unsigned i = 0; i < avm->nr_routes; i++)
		if (avm->routes[i].gsi == gsi && avm->routes[i].type == KVM_IRQ_ROUTING_MSI)
			return &avm->routes[i];
	return NULL;
}

/* A GSI no route uses, from KVM_IRQ_DEFAULT_GSIS up. */
static u32 kvm_free_gsi(struct accel_vm *avm)
{
	u32 gsi = KVM_IRQ_DEFAULT_GSIS;

	for (unsigned i = 0; i < avm->nr_routes; i++)
		if (avm->routes[i].gsi >= gsi) {
			gsi = avm->routes[i].gsi + 1;
			i = (unsigned)-1; /* restart: gsi may collide with an earlier entry */
		}
	return gsi;
}

static int kvm_irqfd_add(struct accel_vm *avm, int fd, u64 addr, u32 data)
{
	struct kvm_irq_routing_entry *e, *grown;
	struct kvm_irqfd_route *fds;
	struct kvm_irqfd irqfd = { .fd = (u32)fd };
	int ret;

	if (avm->nr_routes == avm->max_routes) {
		grown = realloc(avm->routes, 2 * avm->max_routes * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		avm->routes = grown;
		avm->max_routes *= 2;
	}
	fds = realloc(avm->irqfds, (avm->nr_irqfds + 1) * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	avm->irqfds = fds;
	e = &avm->routes[avm->nr_routes];
	memset(e, 0, sizeof(*e));
	e->gsi = kvm_free_gsi(avm);
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (u32)addr;
	e->u.msi.address_hi = (u32)(addr >> 32);
	e->u.msi.data = data;
	avm->nr_routes++;
	ret = kvm_routes_apply(avm);
	if (ret < 0)
		goto err_drop_route;
	irqfd.gsi = e->gsi;
	if (ioctl(avm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		ret = -errno;
		log_dbg(LOG_CAT_KVM, "%s: KVM_IRQFD fd %d gsi %u: %s", avm->name, fd, irqfd.gsi,
			strerror(-ret));
		goto err_drop_route;
	}
	fds[avm->nr_irqfds].fd = fd;
	fds[avm->nr_irqfds++].gsi = irqfd.gsi;
	log_dbg(LOG_CAT_KVM, "%s: irqfd %d on gsi %u: MSI addr %#llx data %#x", avm->name, fd,
		irqfd.gsi, (unsigned long long)addr, data);
	return 0;

err_drop_route:
	avm->nr_routes--;
	kvm_routes_apply(avm);
	return ret;
}

static int kvm_irqfd_remove(struct accel_vm *avm, unsigned i)
{
	struct kvm_irqfd irqfd = {
		.fd = (u32)avm->irqfds[i].fd,
		.gsi = avm->irqfds[i].gsi,
		.flags = KVM_IRQFD_FLAG_DEASSIGN,
	};
	struct kvm_irq_routing_entry *e = kvm_route_of(avm, irqfd.gsi);
	int ret = ioctl(avm->vm_fd, KVM_IRQFD, &irqfd) < 0 ? -errno : 0;

	avm->irqfds[i] = avm->irqfds[--avm->nr_irqfds];
	if (e) {
		*e = avm->routes[--avm->nr_routes];
		if (!ret)
			ret = kvm_routes_apply(avm);
	}
	return ret;
}

/* Any thread. 0 or a negative errno. */
int kvm_msi_irqfd(struct accel_vm *avm, int fd, u64 addr, u32 data, bool assign)
{
	struct kvm_irq_routing_entry *e;
	unsigned i;
	int ret = 0;

	pthread_mutex_lock(&avm->irq_lock);
	if (!avm->routes && assign)
		ret = kvm_routes_init(avm);
	for (i = 0; i < avm->nr_irqfds && avm->irqfds[i].fd != fd; i++)
		;
	if (ret < 0) {
		/* no table, nothing assigned */
	} else if (!assign) {
		ret = i < avm->nr_irqfds ? kvm_irqfd_remove(avm, i) : -ENOENT;
	} else if (i == avm->nr_irqfds) {
		ret = kvm_irqfd_add(avm, fd, addr, data);
	} else {
		/* Re-route: the irqfd follows its GSI's new route. */
		e = kvm_route_of(avm, avm->irqfds[i].gsi);
		if (e) {
			e->u.msi.address_lo = (u32)addr;
			e->u.msi.address_hi = (u32)(addr >> 32);
			e->u.msi.data = data;
			ret = kvm_routes_apply(avm);
		} else {
			ret = -EIO;
		}
	}
	pthread_mutex_unlock(&avm->irq_lock);
	return ret;
}

/* Any thread. 0 or a negative errno (-EOPNOTSUPP without KVM_CAP_IRQFD_RESAMPLE). */
int kvm_line_irqfd(struct accel_vm *avm, unsigned gsi, int fd, int resamplefd, bool assign)
{
	struct kvm_irqfd irqfd = {
		.fd = (u32)fd,
		.gsi = gsi,
		.flags = assign ? KVM_IRQFD_FLAG_RESAMPLE : KVM_IRQFD_FLAG_DEASSIGN,
		.resamplefd = assign ? (u32)resamplefd : 0,
	};

	if (assign && kvm_ioctl_check(avm->vm_fd, KVM_CAP_IRQFD_RESAMPLE) <= 0)
		return -EOPNOTSUPP;
	if (ioctl(avm->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		int e = errno;

		log_dbg(LOG_CAT_KVM, "%s: KVM_IRQFD %s fd %d gsi %u (resample %d): %s", avm->name,
			assign ? "assign" : "deassign", fd, gsi, resamplefd, strerror(e));
		return -e;
	}
	log_dbg(LOG_CAT_KVM, "%s: irqfd %d %s on gsi %u, resample fd %d", avm->name, fd,
		assign ? "assigned" : "removed", gsi, resamplefd);
	return 0;
}
