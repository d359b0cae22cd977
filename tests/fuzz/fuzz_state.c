// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the device-state loader (src/vmm/state.c and every device's table and
 * post_load checks): a test platform carries one of each device type (UART, RTC, i8042, ACPI PM,
 * PCI host and PIIX, PIC, PIT, IOAPIC, local APIC, HPET, test device, PC and PCI test devices,
 * pvpanic, VGA, AHCI with a disk, virtio-blk, e1000 and virtio-net on a recording back end), all
 * on the platform's device list. An input that is a record set ("VMSS") is checked and loaded as
 * a whole machine state (platform_state_check / _load); one that is a single record ("VMSR")
 * goes to the device of its type, or to a struct cpu_state. After a load succeeds, the devices
 * are saved again and then driven a little (register reads and writes, interrupt acknowledges,
 * virtual time moving so their timers fire), so a state that passes the checks but breaks a
 * device's invariants shows up; then everything is reset.
 *
 * `fuzz_state_replay --write-seeds DIR` (or the libFuzzer binary with that argument) writes a
 * seed corpus into DIR instead: a driven machine's state set and each device's record.
 */
#include "fuzz.h"

#include "devices/acpi_pm.h"
#include "devices/ahci.h"
#include "devices/e1000.h"
#include "devices/hpet.h"
#include "devices/i8042.h"
#include "devices/ioapic.h"
#include "devices/ioapic_regs.h"
#include "devices/lapic.h"
#include "devices/pc_testdev.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "devices/pic.h"
#include "devices/piix.h"
#include "devices/pit.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/testdev.h"
#include "devices/uart.h"
#include "devices/vga.h"
#include "fake_net.h"
#include "test_platform.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vmdk/blockdev.h"
#include "vmm/base/err.h"
#include "vmm/cpu_state.h"
#include "vmm/platform_state.h"
#include "vmm/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_RAM  (4u << 20)
#define FUZZ_DISK (1u << 20)

struct fuzz_machine {
	struct test_platform tp;
	struct pci_host *host;
	struct lapic *lapic;
	struct pic *pic;
	struct blockdev *disk;
	struct vga *vga;
	struct vga_frame frame;
	int disk_fd;
	struct fake_net net; /* the NICs' back end */
	bool ready;
};

static struct fuzz_machine fm;

static void fuzz_add(const struct device_ops *ops, void *dev, const char *name)
{
	if (platform_add_dev(&fm.tp.p, ops, dev, name) < 0)
		abort();
}

static void fuzz_disk_open(void)
{
	struct blockdev_spec spec = { .format = BLOCKDEV_FORMAT_RAW, .engine = "sync" };
	char path[64];

	fm.disk_fd = memfd_create("fuzz-state-disk", 0);
	if (fm.disk_fd < 0 || ftruncate(fm.disk_fd, FUZZ_DISK) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fm.disk_fd);
	spec.path = path;
	if (blockdev_open(&spec, &fm.disk, NULL) < 0)
		abort();
}

/* One of each device, wired to nothing (lines without sinks), on the device list. */
static void fuzz_machine_init(void)
{
	struct platform *p = &fm.tp.p;
	struct uart_config uc = { .name = "uart0", .base = 0x3f8 };
	struct rtc_config rc = { .name = "rtc0", .base = 0x70 };
	struct i8042_config kc = { .name = "i8042" };
	struct acpi_pm_config pc = { .name = "acpi-pm", .tmr_32bit = true };
	struct pci_host_config hc = { .name = "pci0" };
	struct pic_config picc = {
		.name = "pic", .master_base = 0x20, .slave_base = 0xa0, .elcr_base = 0x4d0
	};
	struct pit_config tc = { .name = "pit", .base = 0x40, .port_b = 0x61 };
	struct ioapic_config ioc = { .name = "ioapic", .base = IOAPIC_DEFAULT_BASE, .id = 1 };
	struct lapic_config lc = {
		.name = "lapic0", .bsp = true, .x2apic = true, .tsc_hz = 2000000000ull
	};
	struct hpet_config hpc = { .name = "hpet", .base = HPET_DEFAULT_BASE };
	struct testdev_config tdc = { .name = "testdev",
				      .pio_base = TESTDEV_DEFAULT_PIO_BASE,
				      .mmio_gpa = TESTDEV_DEFAULT_MMIO_GPA };
	struct ahci_config ac = { .name = "ahci0", .dev = 3, .nr_ports = 2 };
	struct virtio_blk_config vc = { .name = "virtio-blk0", .num_queues = 2, .queue_size = 16 };
	struct irq_line none = { 0 };
	struct uart *u;
	struct rtc *r;
	struct i8042 *k;
	struct acpi_pm *pm;
	struct piix *x;
	struct pit *pit;
	struct ioapic *io;
	struct hpet *h;
	struct testdev *td;
	struct pc_testdev_config ptc = { .name = "pc-testdev" };
	struct irq_line pt_irqs[PC_TESTDEV_NR_IRQS] = { 0 };
	struct pc_testdev *pt;
	struct pci_testdev_config qtc = { .name = "pci-testdev", .assign_bars = true };
	struct pci_testdev *qt;
	struct pvpanic_config pvc = { .name = "pvpanic", .port = PVPANIC_DEFAULT_PORT };
	struct pvpanic *pv;
	struct ahci *a;
	struct virtio_blk *b;
	struct e1000_config ec = { .name = "net0", .mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 } };
	struct virtio_net_config nc = { .name = "net1",
					.mac = { 0x52, 0x54, 0, 0x12, 0x34, 0x57 },
					.queue_size = 16 };
	struct e1000 *e;
	struct virtio_net *vn;
	struct vga_config vgc = { .name = "vga0", .vram_mib = VGA_VRAM_MIB_MIN, .slot = 5 };

	if (test_platform_init(&fm.tp, FUZZ_RAM) < 0)
		abort();
	fake_net_init(&fm.net, 0, 1);
	ec.be = nc.be = fm.net.be;
	fuzz_disk_open();
	ac.ports[0] = (struct ata_config){ .kind = ATA_KIND_DISK, .bd = fm.disk, .trim = true };
	if (uart_create(p, &uc, none, &u, NULL) || rtc_create(p, &rc, none, &r, NULL) ||
	    i8042_create(p, &kc, none, none, &k, NULL) || acpi_pm_create(p, &pc, none, &pm, NULL) ||
	    pci_host_create(p, &hc, &fm.host, NULL) || piix_create(fm.host, &x, NULL) ||
	    pic_create(p, &picc, none, &fm.pic, NULL) || pit_create(p, &tc, none, &pit, NULL) ||
	    ioapic_create(p, &ioc, &io, NULL) || lapic_create(p, &lc, &fm.lapic, NULL) ||
	    hpet_create(p, &hpc, &h, NULL) || testdev_create(p, &tdc, none, &td, NULL) ||
	    pvpanic_create(p, &pvc, &pv, NULL) || pc_testdev_create(p, &ptc, pt_irqs, &pt, NULL))
		abort();
	ac.host = fm.host;
	if (ahci_create(p, &ac, &a, NULL) || virtio_blk_create(p, fm.disk, &vc, &b, NULL) ||
	    pci_host_add(fm.host, virtio_blk_pci(b), 4, 0, NULL) ||
	    e1000_create(p, &ec, &e, NULL) || pci_host_add(fm.host, e1000_pci(e), 6, 0, NULL) ||
	    virtio_net_create(p, &nc, &vn, NULL) ||
	    pci_host_add(fm.host, virtio_net_pci(vn), 7, 0, NULL) ||
	    vga_create(p, fm.host, &vgc, &fm.vga, NULL) || pci_testdev_create(p, &qtc, &qt, NULL) ||
	    pci_host_add(fm.host, pci_testdev_pci(qt), 2, 0, NULL))
		abort();
	pci_testdev_assign_bars(qt);
	fuzz_add(&lapic_device_ops, fm.lapic, "lapic0");
	fuzz_add(&ioapic_device_ops, io, "ioapic");
	fuzz_add(&pic_device_ops, fm.pic, "pic");
	fuzz_add(&hpet_device_ops, h, "hpet");
	fuzz_add(&pit_device_ops, pit, "pit");
	fuzz_add(&uart_device_ops, u, "uart0");
	fuzz_add(&rtc_device_ops, r, "rtc0");
	fuzz_add(&i8042_device_ops, k, "i8042");
	fuzz_add(&acpi_pm_device_ops, pm, "acpi-pm");
	fuzz_add(&pci_host_device_ops, fm.host, "pci0");
	fuzz_add(&piix_device_ops, x, "piix");
	fuzz_add(&ahci_device_ops, a, "ahci0");
	fuzz_add(&virtio_blk_device_ops, b, "virtio-blk0");
	fuzz_add(&testdev_device_ops, td, "testdev");
	fuzz_add(&pc_testdev_device_ops, pt, "pc-testdev");
	fuzz_add(&pvpanic_device_ops, pv, "pvpanic");
	fuzz_add(&e1000_device_ops, e, "net0");
	fuzz_add(&virtio_net_device_ops, vn, "net1");
	fuzz_add(&vga_device_ops, fm.vga, "vga0");
	fuzz_add(&pci_testdev_device_ops, qt, "pci-testdev");
	fm.ready = true;
}

/* Touch every device the way a guest would after the load. */
static void fuzz_drive(void)
{
	struct platform *p = &fm.tp.p;
	static const u16 ports[] = { 0x20,
				     0x21,
				     0xa0,
				     0xa1,
				     0x40,
				     0x42,
				     0x61,
				     0x3f8,
				     0x3f9,
				     0x3fa,
				     0x3fd,
				     0x3fe,
				     0x60,
				     0x64,
				     0x71,
				     0x600,
				     0x604,
				     0x608,
				     0x620,
				     0x4d0,
				     0xcfc,
				     0xe0,
				     PCI_TESTDEV_BAR1_PORT + PCI_TESTDEV_HDR_WIDTH };
	static const u64 mmio[] = {
		IOAPIC_DEFAULT_BASE + 0x10, HPET_DEFAULT_BASE + 0xf0,
		HPET_DEFAULT_BASE + 0x100,  TESTDEV_DEFAULT_MMIO_GPA,
		PC_TESTDEV_IOMEM_GPA,	    PCI_TESTDEV_BAR0_GPA + PCI_TESTDEV_HDR_COUNT
	};

	for (size_t i = 0; i < ARRAY_SIZE(ports); i++)
		(void)bus_read(&p->pio, ports[i], 1);
	for (size_t i = 0; i < ARRAY_SIZE(mmio); i++)
		(void)bus_read(&p->mmio, mmio[i], 4);
	/* Config space of every function, and whatever the BARs map (AHCI, virtio). */
	for (unsigned dev = 0; dev < 8; dev++) {
		for (unsigned reg = 0; reg < 0x100; reg += 0x10) {
			bus_write(&p->pio, 0xcf8, 4, 0x80000000u | dev << 11 | reg);
			(void)bus_read(&p->pio, 0xcfc, 4);
		}
	}
	for (unsigned i = 0; i < p->mmio.nr; i++) /* 4 registers of every window */
		for (u64 off = 0; off < 16 && off < p->mmio.ranges[i].len; off += 4)
			(void)bus_read(&p->mmio, p->mmio.ranges[i].base + off, 4);
	bus_write(&p->pio, 0x3f8, 1, 'x');
	bus_write(&p->pio, 0x20, 1, 0x20);
	(void)pic_ack(fm.pic);
	(void)lapic_ack(fm.lapic);
	(void)lapic_read(fm.lapic, 0x390);
	test_platform_advance(&fm.tp, 20000000);
	/* The picture and the text of whatever registers the record left. */
	if (vga_update(fm.vga, &fm.frame, true) == 0 && fm.frame.text) {
		struct vga_text t;

		if (vga_text(fm.vga, &t) == 0)
			free(t.cells);
	}
}

static void fuzz_machine_load(const u8 *data, size_t size)
{
	struct state_set set;
	struct state_buf again;
	u32 count = 0;

	if (state_set_parse(data, size, &set, NULL) < 0)
		return;
	if (platform_state_check(&fm.tp.p, &set, NULL, NULL) == 0 &&
	    platform_state_load(&fm.tp.p, &set, NULL, NULL) == 0) {
		state_buf_init(&again);
		if (platform_state_save(&fm.tp.p, &again, &count, NULL) < 0)
			abort(); /* what loaded must save */
		state_buf_free(&again);
		fuzz_drive();
	}
	state_set_free(&set);
}

static void fuzz_record_load(const u8 *data, size_t size)
{
	struct state_record hdr;
	struct cpu_state st;

	if (state_record_parse(data, size, &hdr, NULL) < 0)
		return;
	if (!strcmp(hdr.type, "cpu")) {
		memset(&st, 0, sizeof(st));
		(void)!state_load(&cpu_state_desc, hdr.instance, &st, data, size, NULL);
		return;
	}
	for (unsigned i = 0; i < fm.tp.p.nr_devs; i++) {
		const struct platform_dev *d = &fm.tp.p.devs[i];

		if (strcmp(d->ops->type, hdr.type))
			continue;
		if (state_load(d->ops->state, d->name, d->dev, data, size, NULL) == 0)
			fuzz_drive();
		return;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	fuzz_quiet_logs(); /* hostile states warn on every access */
	if (!fm.ready)
		fuzz_machine_init();
	if (size >= 4 && !memcmp(data, "VMSS", 4))
		fuzz_machine_load(data, size);
	else
		fuzz_record_load(data, size);
	platform_state_reset(&fm.tp.p);
	return 0;
}

static int fuzz_write(const char *dir, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		if (f)
			fclose(f);
		return -1;
	}
	return fclose(f);
}

/* A machine driven into a varied state, saved as a set and record by record. */
static int fuzz_write_seeds(const char *dir)
{
	struct platform *p = &fm.tp.p;
	struct state_buf b;
	struct cpu_state st = { .rip = 0xfff0, .nr_msrs = 1, .xcr0 = 1 };
	char name[96];
	size_t at;
	u32 count = 0;

	fuzz_machine_init();
	bus_write(&p->pio, 0x3fb, 1, 0x80);
	bus_write(&p->pio, 0x3f8, 1, 1);
	bus_write(&p->pio, 0x3fb, 1, 3);
	bus_write(&p->pio, 0x3fa, 1, 0xc7);
	bus_write(&p->pio, 0x43, 1, 0x34);
	bus_write(&p->pio, 0x40, 1, 0x9c);
	bus_write(&p->pio, 0x40, 1, 0x2e);
	bus_write(&p->pio, 0x70, 1, 0x0b);
	bus_write(&p->pio, 0x71, 1, 0x42);
	bus_write(&p->pio, 0x20, 1, 0x11);
	bus_write(&p->pio, 0x21, 1, 0x20);
	bus_write(&p->pio, 0x21, 1, 0x04);
	bus_write(&p->pio, 0x21, 1, 0x01);
	bus_write(&p->mmio, HPET_DEFAULT_BASE + 0x10, 4, 1);
	lapic_write(fm.lapic, 0xf0, 0x1ff);
	lapic_write(fm.lapic, 0x320, 0x20040);
	lapic_write(fm.lapic, 0x380, 5000);
	test_platform_advance(&fm.tp, 3000000);
	state_buf_init(&b);
	if (state_set_begin(&b, &at) < 0 || platform_state_save(p, &b, &count, NULL) < 0)
		return 1;
	state_set_end(&b, at, count);
	if (fuzz_write(dir, "machine.bin", b.data, b.len) < 0)
		return 1;
	for (unsigned i = 0; i < p->nr_devs; i++) {
		b.len = 0;
		if (state_save(p->devs[i].ops->state, p->devs[i].name, p->devs[i].dev, &b, NULL) <
		    0)
			return 1;
		snprintf(name, sizeof(name), "record-%s.bin", p->devs[i].name);
		if (fuzz_write(dir, name, b.data, b.len) < 0)
			return 1;
	}
	b.len = 0;
	st.msrs[0] = (struct cpu_msr){ 0x174, 8 };
	if (state_save(&cpu_state_desc, "vcpu0", &st, &b, NULL) < 0 ||
	    fuzz_write(dir, "record-vcpu0.bin", b.data, b.len) < 0)
		return 1;
	state_buf_free(&b);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (*argc == 3 && !strcmp((*argv)[1], "--write-seeds"))
		exit(fuzz_write_seeds((*argv)[2]));
	return 0;
}
