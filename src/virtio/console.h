/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (VIRTIO 1.2 section 5.3) with multiport (VIRTIO_CONSOLE_F_MULTIPORT) on the
 * modern PCI transport: up to VIRTIO_CONSOLE_MAX_PORTS ports, each either a console (the guest
 * makes it /dev/hvcN: VIRTIO_CONSOLE_CONSOLE_PORT) or a named port (/dev/virtio-ports/NAME:
 * VIRTIO_CONSOLE_PORT_NAME). The host side of each port is the board's back end (a serial
 * target: stdio, pty, unix socket, file): output goes to backend.write, input comes in through
 * virtio_console_receive. A console port's size changes with virtio_console_resize
 * (VIRTIO_CONSOLE_RESIZE). VIRTIO_CONSOLE_F_EMERG_WRITE writes one byte to port 0.
 *
 * Locking: the device lock (bus handlers hold it; virtio_console_receive and
 * virtio_console_resize are called with it held).
 */
#ifndef VIRTIO_CONSOLE_H
#define VIRTIO_CONSOLE_H

#include "devices/pci.h"
#include "virtio/virtio_pci.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/platform.h"

/* 5.3.3 feature bits */
#define VIRTIO_CONSOLE_F_SIZE	     0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2
/* 5.3.6.2 control events */
#define VIRTIO_CONSOLE_DEVICE_READY  0
#define VIRTIO_CONSOLE_DEVICE_ADD    1
#define VIRTIO_CONSOLE_DEVICE_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY    3
#define VIRTIO_CONSOLE_CONSOLE_PORT  4
#define VIRTIO_CONSOLE_RESIZE	     5
#define VIRTIO_CONSOLE_PORT_OPEN     6
#define VIRTIO_CONSOLE_PORT_NAME     7
/* 5.3.4 configuration layout */
#define VIRTIO_CONSOLE_CFG_COLS	     0
#define VIRTIO_CONSOLE_CFG_ROWS	     2
#define VIRTIO_CONSOLE_CFG_MAX_PORTS 4
#define VIRTIO_CONSOLE_CFG_EMERG_WR  8
#define VIRTIO_CONSOLE_CFG_SIZE	     12

/* Queues: port 0's receiveq/transmitq, the control pair, then two per further port; the
 * transport has VIRTIO_MAX_QUEUES. */
#define VIRTIO_CONSOLE_MAX_PORTS (VIRTIO_MAX_QUEUES / 2 - 1)
#define VIRTIO_CONSOLE_NAME_MAX	 63
#define VIRTIO_CONSOLE_CTRL_MAX	 32 /* control messages waiting for the driver's buffers */

/* The host side of the ports. Calls are made with the device lock held. */
struct virtio_console_backend {
	void *opaque;
	/* Guest output on port. Must not block. */
	void (*write)(void *opaque, unsigned port, const u8 *buf, size_t len);
	/* The guest gave receive buffers to port: input refused before may be offered again. */
	void (*rx_ready)(void *opaque, unsigned port);
};

struct virtio_console_config {
	const char *name; /* "virtio-console0" */
	unsigned nr_ports;
	const char *port_names[VIRTIO_CONSOLE_MAX_PORTS]; /* NULL: a console port */
	struct virtio_console_backend backend;
};

struct virtio_console;
struct device_ops;

/* -EINVAL (ports, names), -ENOMEM with a message. Main thread. */
MUST_CHECK int virtio_console_create(struct platform *p, const struct virtio_console_config *cfg,
				     struct virtio_console **out, struct err *err);
struct pci_dev *virtio_console_pci(struct virtio_console *c);
struct virtio_pci *virtio_console_transport(struct virtio_console *c);
/* Input for port: the bytes the guest's receive buffers took (0: none posted yet). */
size_t virtio_console_receive(struct virtio_console *c, unsigned port, const u8 *buf, size_t len);
/* A console port's window size changed. -EINVAL: no such console port. */
MUST_CHECK int virtio_console_resize(struct virtio_console *c, unsigned port, u16 cols, u16 rows);
void virtio_console_reset(struct virtio_console *c);
/* The caller took the function off the PCI host first. */
void virtio_console_destroy(struct virtio_console *c);

extern const struct device_ops virtio_console_device_ops;

#endif
