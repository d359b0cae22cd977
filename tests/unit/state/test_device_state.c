// SPDX-License-Identifier: MIT
/*
 * Every device type's state table (docs/device-state.md):
 *   - each table passes state_desc_verify (nested tables included), and its entries name
 *     every member of the struct as the compiler laid it out (read from the debug
 *     information with gdb's "ptype/o"; skipped, with the reason, without gdb or -g), so a
 *     member added to a device struct without a table entry fails here;
 *   - for each device: create it on a test platform, drive it through its registers into a
 *     realistic state (FIFOs holding bytes, timers armed, lines high, block requests in
 *     flight for AHCI and virtio-blk), save, destroy, create a fresh one, load, save again:
 *     the two records must be byte-identical, and the loaded device must answer its
 *     registers as the original did;
 *   - a real device record is refused by name when it is newer, truncated, has a field of
 *     the wrong size or an unknown section.
 */
#include "devices/acpi_pm.h"
#include "devices/ahci.h"
#include "devices/ahci_regs.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/e1000.h"
#include "devices/e1000_regs.h"
#include "devices/fw_cfg.h"
#include "devices/hpet.h"
#include "devices/hpet_regs.h"
#include "devices/i8042.h"
#include "devices/ich9_lpc.h"
#include "devices/ioapic.h"
#include "devices/ioapic_regs.h"
#include "devices/lapic.h"
#include "devices/lapic_regs.h"
#include "devices/mch.h"
#include "devices/pc_testdev.h"
#include "devices/pci.h"
#include "devices/pci_testdev.h"
#include "devices/pic.h"
#include "devices/piix.h"
#include "devices/piix4_pm.h"
#include "devices/pit.h"
#include "devices/pvpanic.h"
#include "devices/rtc.h"
#include "devices/testdev.h"
#include "devices/uart.h"
#include "devices/vga.h"
#include "devices/vga_regs.h"
#include "devices/vmport.h"
#include "fake_irq.h"
#include "fake_net.h"
#include "test_platform.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/virtio.h"
#include "virtio/virtio_pci.h"
#include "vmdk/blockdev.h"
#include "vmm/base/err.h"
#include "vmm/cpu_state.h"
#include "vmm/state.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define RAM_BYTES  (8u << 20)
#define DISK_BYTES (1u << 20)
#define PCI_SLOT   3
#define ABAR	   0xfebf0000ull
#define BAR4	   0xe0000000ull
#define BAR1	   0xe0100000ull
#define NR_LINES   8

/* ------------------------------------------------------------- environment */

struct env {
	struct test_platform tp;
	struct pci_host *host;
	struct blockdev *bd;
	char path[64];
	int fd;
	struct fake_irq lines[NR_LINES];
	struct fake_net fn; /* the NICs' back end */
};

static void env_init(struct env *e)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(test_platform_init(&e->tp, RAM_BYTES), 0);
	e->fd = -1;
}

/* A raw image whose sector n holds the byte n + 1. */
static void env_open_disk(struct env *e)
{
	struct blockdev_spec spec = { .format = BLOCKDEV_FORMAT_RAW };
	u8 sector[512];

	strcpy(e->path, "/tmp/test-device-state-XXXXXX");
	e->fd = mkstemp(e->path);
	assert_true(e->fd >= 0);
	assert_int_equal(ftruncate(e->fd, DISK_BYTES), 0);
	for (unsigned n = 0; n < 64; n++) {
		memset(sector, (int)(n + 1), sizeof(sector));
		assert_int_equal(pwrite(e->fd, sector, sizeof(sector), n * 512), 512);
	}
	spec.path = e->path;
	assert_int_equal(blockdev_open(&spec, &e->bd, NULL), 0);
}

static void env_fini(struct env *e)
{
	if (e->fn.be)
		fake_net_fini(&e->fn);
	if (e->bd)
		assert_int_equal(blockdev_close(e->bd), 0);
	if (e->fd >= 0) {
		close(e->fd);
		unlink(e->path);
	}
	test_platform_destroy(&e->tp);
}

static void pio_w(struct env *e, u16 port, unsigned size, u64 val)
{
	bus_write(&e->tp.p.pio, port, size, val);
}

static u64 pio_r(struct env *e, u16 port, unsigned size)
{
	return bus_read(&e->tp.p.pio, port, size);
}

static void mmio_w(struct env *e, u64 gpa, unsigned size, u64 val)
{
	bus_write(&e->tp.p.mmio, gpa, size, val);
}

static u64 mmio_r(struct env *e, u64 gpa, unsigned size)
{
	return bus_read(&e->tp.p.mmio, gpa, size);
}

static u8 *ram(struct env *e, u64 gpa)
{
	return (u8 *)e->tp.ram + gpa;
}

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static u32 cfg_addr(unsigned slot, unsigned reg)
{
	return PCI_CONFIG_ENABLE | slot << 11 | (reg & 0xfc);
}

static void cfg_w(struct env *e, unsigned slot, unsigned reg, unsigned size, u32 val)
{
	pio_w(e, 0xcf8, 4, cfg_addr(slot, reg));
	pio_w(e, (u16)(0xcfc + (reg & 3)), size, val);
}

static u32 cfg_r(struct env *e, unsigned slot, unsigned reg, unsigned size)
{
	pio_w(e, 0xcf8, 4, cfg_addr(slot, reg));
	return (u32)pio_r(e, (u16)(0xcfc + (reg & 3)), size);
}

/* -------------------------------------------------------------- the cases */

/*
 * One device type: create (on e, registering PCI functions on e->host), drive into a
 * realistic state, probe (registers read back after a load, to compare), destroy.
 */
struct dev_case {
	const char *instance;
	const char *struct_name;
	const struct device_ops *ops;
	void *(*create)(struct env *e);
	void (*drive)(struct env *e, void *dev);
	void (*probe)(struct env *e, u64 *out, unsigned max);
	void (*destroy)(struct env *e, void *dev);
};

/* uart */
static void *uart_case_create(struct env *e)
{
	struct uart_config cfg = { .name = "uart0", .base = 0x3f8 };
	struct uart *u;

	assert_int_equal(uart_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 4), &u, NULL), 0);
	return u;
}

static void uart_case_drive(struct env *e, void *dev)
{
	pio_w(e, 0x3fb, 1, 0x80); /* DLAB */
	pio_w(e, 0x3f8, 1, 0x01);
	pio_w(e, 0x3f9, 1, 0x00);
	pio_w(e, 0x3fb, 1, 0x1b); /* 8 bits, even parity */
	pio_w(e, 0x3fa, 1, 0xc7); /* FIFO on, reset, trigger 14 */
	pio_w(e, 0x3fc, 1, 0x0b); /* DTR, RTS, OUT2 */
	pio_w(e, 0x3f9, 1, 0x0d); /* RX data, line status, modem status */
	pio_w(e, 0x3ff, 1, 0x5a);
	assert_int_equal(uart_receive(dev, (const u8 *)"hello", 5), 5);
	(void)pio_r(e, 0x3f8, 1); /* one byte read: the timeout timer restarts */
	test_platform_advance(&e->tp, 1000);
	pio_w(e, 0x3f8, 1, 'x');
}

static void uart_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u16 regs[] = { 0x3f9, 0x3fb, 0x3fc, 0x3fe, 0x3ff, 0x3fa, 0x3fd, 0x3f8 };

	for (unsigned i = 0; i < ARRAY_SIZE(regs) && i < max; i++)
		out[i] = pio_r(e, regs[i], 1);
}

static void uart_case_destroy(struct env *e, void *dev)
{
	(void)e;
	uart_destroy(dev);
}

/* rtc */
static void *rtc_case_create(struct env *e)
{
	struct rtc_config cfg = { .name = "rtc0", .base = 0x70 };
	struct rtc *r;

	assert_int_equal(rtc_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 8), &r, NULL), 0);
	rtc_set_pc_memory(r, 512u << 20, 0, 2);
	return r;
}

static void rtc_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, 0x70, 1, 0x0a);
	pio_w(e, 0x71, 1, 0x26); /* 1024 Hz */
	pio_w(e, 0x70, 1, 0x0b);
	pio_w(e, 0x71, 1, 0x52); /* PIE, UIE, 24-hour */
	pio_w(e, 0x70, 1, 0x40);
	pio_w(e, 0x71, 1, 0x99);
	test_platform_advance(&e->tp, 1500000000ull);
	pio_w(e, 0x70, 1, 0x04);
}

static void rtc_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u8 idx[] = { 0x00, 0x02, 0x04, 0x0a, 0x0b, 0x40, 0x34, 0x0c };

	for (unsigned i = 0; i < ARRAY_SIZE(idx) && i < max; i++) {
		pio_w(e, 0x70, 1, idx[i]);
		out[i] = pio_r(e, 0x71, 1);
	}
}

static void rtc_case_destroy(struct env *e, void *dev)
{
	(void)e;
	rtc_destroy(dev);
}

/* i8042 */
static void *i8042_case_create(struct env *e)
{
	struct i8042_config cfg = { .name = "i8042" };
	struct i8042 *k;

	assert_int_equal(i8042_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 1),
				      fake_irq_line(&e->lines[1], 12), &k, NULL),
			 0);
	return k;
}

static void i8042_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, 0x64, 1, 0x60);
	pio_w(e, 0x60, 1, 0x47); /* both interrupts, translation */
	pio_w(e, 0x60, 1, 0xff); /* keyboard reset: ACK, BAT */
	pio_w(e, 0x64, 1, 0xd3);
	pio_w(e, 0x60, 1, 0x55); /* a byte looped back on the aux port */
	pio_w(e, 0x60, 1, 0xed); /* LED command waiting for its argument */
}

static void i8042_case_probe(struct env *e, u64 *out, unsigned max)
{
	for (unsigned i = 0; i < max; i++)
		out[i] = i & 1 ? pio_r(e, 0x60, 1) : pio_r(e, 0x64, 1);
}

static void i8042_case_destroy(struct env *e, void *dev)
{
	(void)e;
	i8042_destroy(dev);
}

/* acpi-pm */
static void *acpi_pm_case_create(struct env *e)
{
	struct acpi_pm_config cfg = { .name = "acpi-pm", .tmr_32bit = true };
	struct acpi_pm *pm;

	assert_int_equal(acpi_pm_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 9), &pm, NULL),
			 0);
	return pm;
}

static void acpi_pm_case_drive(struct env *e, void *dev)
{
	pio_w(e, ACPI_PM_PM1A_EVT + 2, 1, ACPI_PM1_TMR_EN);
	pio_w(e, ACPI_PM_PM1A_EVT + 3, 1, ACPI_PM1_PWRBTN_EN >> 8);
	pio_w(e, ACPI_PM_GPE0 + 4, 1, 0x03);
	acpi_pm_power_button(dev);
	acpi_pm_gpe_set(dev, 1);
	test_platform_advance(&e->tp, 3000000);
}

static void acpi_pm_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u16 ports[] = { ACPI_PM_PM1A_EVT,	   ACPI_PM_PM1A_EVT + 1,
				     ACPI_PM_PM1A_EVT + 2, ACPI_PM_PM1A_EVT + 3,
				     ACPI_PM_PM1A_CNT,	   ACPI_PM_GPE0,
				     ACPI_PM_GPE0 + 4 };

	for (unsigned i = 0; i < ARRAY_SIZE(ports) && i < max; i++)
		out[i] = pio_r(e, ports[i], 1);
}

static void acpi_pm_case_destroy(struct env *e, void *dev)
{
	(void)e;
	acpi_pm_destroy(dev);
}

/* debug-exit: no state; the record checks the port */
static void *debug_exit_case_create(struct env *e)
{
	struct debug_exit_config cfg = { .name = "debug-exit", .port = 0xf4 };
	struct debug_exit *d;

	assert_int_equal(debug_exit_create(&e->tp.p, &cfg, (struct irq_line){ 0 }, &d, NULL), 0);
	return d;
}

static void nothing_drive(struct env *e, void *dev)
{
	(void)e, (void)dev;
}

static void nothing_probe(struct env *e, u64 *out, unsigned max)
{
	(void)e, (void)out, (void)max;
}

static void debug_exit_case_destroy(struct env *e, void *dev)
{
	(void)e;
	debug_exit_destroy(dev);
}

/* pvpanic: the last events the guest reported */
static void *pvpanic_case_create(struct env *e)
{
	struct pvpanic_config cfg = { .name = "pvpanic", .port = PVPANIC_DEFAULT_PORT };
	struct pvpanic *pv;

	assert_int_equal(pvpanic_create(&e->tp.p, &cfg, &pv, NULL), 0);
	return pv;
}

static void pvpanic_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, PVPANIC_DEFAULT_PORT, 1, PVPANIC_PANICKED);
}

static void pvpanic_case_destroy(struct env *e, void *dev)
{
	(void)e;
	pvpanic_destroy(dev);
}

/* debugcon: configuration only; the bytes go to the board's sink */
static void debugcon_sink(void *opaque, u8 byte)
{
	(void)opaque, (void)byte;
}

static void *debugcon_case_create(struct env *e)
{
	struct debugcon_config cfg = { .name = "debugcon",
				       .port = DEBUGCON_DEFAULT_PORT,
				       .write = debugcon_sink };
	struct debugcon *d;

	assert_int_equal(debugcon_create(&e->tp.p, &cfg, &d, NULL), 0);
	return d;
}

static void debugcon_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, DEBUGCON_DEFAULT_PORT, 1, 'x');
}

static void debugcon_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 1)
		out[0] = pio_r(e, DEBUGCON_DEFAULT_PORT, 1);
}

static void debugcon_case_destroy(struct env *e, void *dev)
{
	(void)e;
	debugcon_destroy(dev);
}

/* fw_cfg: a file selected and half read */
static void *fw_cfg_case_create(struct env *e)
{
	struct fw_cfg_config cfg = { .name = "fw-cfg", .port = FW_CFG_DEFAULT_PORT };
	struct fw_cfg *c;

	assert_int_equal(fw_cfg_create(&e->tp.p, &cfg, &c, NULL), 0);
	assert_int_equal(fw_cfg_add_file(c, "etc/test", "abcdef", 6, NULL), 0);
	return c;
}

static void fw_cfg_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, FW_CFG_DEFAULT_PORT, 2, FW_CFG_FILE_FIRST);
	pio_r(e, FW_CFG_DEFAULT_PORT + 1, 1);
	pio_r(e, FW_CFG_DEFAULT_PORT + 1, 1);
	pio_w(e, FW_CFG_DEFAULT_PORT + FW_CFG_DMA_OFFSET, 4, 0x01000000); /* high half: 1 */
}

static void fw_cfg_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 2) {
		out[0] = pio_r(e, FW_CFG_DEFAULT_PORT + 1, 1); /* 'c' */
		out[1] = pio_r(e, FW_CFG_DEFAULT_PORT + 1, 1);
	}
}

static void fw_cfg_case_destroy(struct env *e, void *dev)
{
	(void)e;
	fw_cfg_destroy(dev);
}

/* testdev */
static void *testdev_case_create(struct env *e)
{
	struct testdev_config cfg = { .name = "testdev",
				      .pio_base = TESTDEV_DEFAULT_PIO_BASE,
				      .mmio_gpa = TESTDEV_DEFAULT_MMIO_GPA };
	struct testdev *t;

	assert_int_equal(testdev_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 5), &t, NULL),
			 0);
	return t;
}

static void testdev_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, TESTDEV_DEFAULT_PIO_BASE, 4, 0xdeadbeef);
	mmio_w(e, TESTDEV_DEFAULT_MMIO_GPA, 8, 0x0123456789abcdefull);
	mmio_w(e, TESTDEV_DEFAULT_MMIO_GPA + TESTDEV_IRQ, 1, 1);
	(void)mmio_r(e, TESTDEV_DEFAULT_MMIO_GPA, 8);
}

static void testdev_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 4) {
		out[0] = pio_r(e, TESTDEV_DEFAULT_PIO_BASE, 4);
		out[1] = mmio_r(e, TESTDEV_DEFAULT_MMIO_GPA, 8);
		out[2] = mmio_r(e, TESTDEV_DEFAULT_MMIO_GPA + TESTDEV_IRQ, 4);
		out[3] = mmio_r(e, TESTDEV_DEFAULT_MMIO_GPA + TESTDEV_COUNT, 8);
	}
}

static void testdev_case_destroy(struct env *e, void *dev)
{
	(void)e;
	testdev_destroy(dev);
}

/* pc-testdev: ISA lines 0..NR_LINES-1 on the fake lines, the others unwired */
static void *pc_testdev_case_create(struct env *e)
{
	struct pc_testdev_config cfg = { .name = "pc-testdev" };
	struct irq_line irqs[PC_TESTDEV_NR_IRQS] = { 0 };
	struct pc_testdev *t;

	for (unsigned n = 0; n < NR_LINES; n++)
		irqs[n] = fake_irq_line(&e->lines[n], n);
	assert_int_equal(pc_testdev_create(&e->tp.p, &cfg, irqs, &t, NULL), 0);
	return t;
}

static void pc_testdev_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, PC_TESTDEV_PORT_DATA, 4, 0xdeadbeef);
	pio_w(e, PC_TESTDEV_PORT_BYTE + 1, 1, 0x5a);
	pio_w(e, PC_TESTDEV_PORT_IRQ + 3, 1, 1);
	pio_w(e, PC_TESTDEV_PORT_IRQ + 20, 1, 1);
	mmio_w(e, PC_TESTDEV_IOMEM_GPA, 8, 0x0123456789abcdefull);
	mmio_w(e, PC_TESTDEV_IOMEM_GPA + PC_TESTDEV_IOMEM_BYTES - 4, 4, 0xcafef00d);
}

static void pc_testdev_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 4) {
		out[0] = pio_r(e, PC_TESTDEV_PORT_DATA, 4);
		out[1] = mmio_r(e, PC_TESTDEV_IOMEM_GPA, 8);
		out[2] = mmio_r(e, PC_TESTDEV_IOMEM_GPA + PC_TESTDEV_IOMEM_BYTES - 4, 4);
		out[3] = (u64)fake_irq_level(&e->lines[3]);
	}
}

static void pc_testdev_case_destroy(struct env *e, void *dev)
{
	(void)e;
	pc_testdev_destroy(dev);
}

/* pci-host */
static void *pci_host_case_create(struct env *e)
{
	struct pci_host_config cfg = { .name = "pci0" };

	assert_int_equal(pci_host_create(&e->tp.p, &cfg, &e->host, NULL), 0);
	return e->host;
}

static void pci_host_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, 0xcf9, 1, 0x02); /* SRST without RCPU: stored */
	pio_w(e, 0xcf8, 4, 0x80001810);
}

static void pci_host_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 2) {
		out[0] = pio_r(e, 0xcf8, 4);
		out[1] = pio_r(e, 0xcf9, 1);
	}
}

static void pci_host_case_destroy(struct env *e, void *dev)
{
	(void)dev;
	pci_host_destroy(e->host);
	e->host = NULL;
}

/* piix, on its own host */
static void *piix_case_create(struct env *e)
{
	struct piix *x;

	pci_host_case_create(e);
	assert_int_equal(piix_create(e->host, &x, NULL), 0);
	return x;
}

static void piix_case_drive(struct env *e, void *dev)
{
	(void)dev;
	cfg_w(e, 1, PIIX_PIIX3_PIRQRC, 1, 0x0b);
	cfg_w(e, 1, PIIX_PIIX3_PIRQRC + 2, 1, 0x0a);
	cfg_w(e, 0, PIIX_I440FX_PAM0, 1, 0x30);
	cfg_w(e, 0, PCI_LATENCY_TIMER, 1, 0x20);
}

static void piix_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 4) {
		out[0] = cfg_r(e, 1, PIIX_PIIX3_PIRQRC, 4);
		out[1] = cfg_r(e, 0, PIIX_I440FX_PAM0 & ~3u, 4);
		out[2] = cfg_r(e, 0, PCI_CACHE_LINE_SIZE, 4);
		out[3] = cfg_r(e, 1, PCI_COMMAND, 4);
	}
}

static void piix_case_destroy(struct env *e, void *dev)
{
	piix_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* piix4-pm at 00:01.3: the command register and the interrupt line firmware writes */
static void piix4_pm_cfg_w(struct env *e, unsigned reg, unsigned size, u32 val)
{
	pio_w(e, 0xcf8, 4, cfg_addr(PIIX4_PM_DEV, reg) | PIIX4_PM_FN << 8);
	pio_w(e, (u16)(0xcfc + (reg & 3)), size, val);
}

static u32 piix4_pm_cfg_r(struct env *e, unsigned reg, unsigned size)
{
	pio_w(e, 0xcf8, 4, cfg_addr(PIIX4_PM_DEV, reg) | PIIX4_PM_FN << 8);
	return (u32)pio_r(e, (u16)(0xcfc + (reg & 3)), size);
}

static void *piix4_pm_case_create(struct env *e)
{
	struct piix4_pm_config cfg = { .name = "piix4-pm", .pm_base = 0x600 };
	struct piix4_pm *pm;

	pci_host_case_create(e);
	cfg.host = e->host;
	assert_int_equal(piix4_pm_create(&cfg, &pm, NULL), 0);
	return pm;
}

static void piix4_pm_case_drive(struct env *e, void *dev)
{
	(void)dev;
	piix4_pm_cfg_w(e, PCI_COMMAND, 2, PCI_COMMAND_IO);
	piix4_pm_cfg_w(e, PCI_INTERRUPT_LINE, 1, 9);
}

static void piix4_pm_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 3) {
		out[0] = piix4_pm_cfg_r(e, PCI_COMMAND, 4);
		out[1] = piix4_pm_cfg_r(e, PCI_INTERRUPT_LINE, 4);
		out[2] = piix4_pm_cfg_r(e, PIIX4_PM_PMBA, 4);
	}
}

static void piix4_pm_case_destroy(struct env *e, void *dev)
{
	piix4_pm_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* mch: ECAM enabled, SMRAM locked */
static void *mch_case_create(struct env *e)
{
	struct mch *m;

	pci_host_case_create(e);
	assert_int_equal(mch_create(&e->tp.p, e->host, &m, NULL), 0);
	return m;
}

static void mch_case_drive(struct env *e, void *dev)
{
	(void)dev;
	cfg_w(e, 0, MCH_PCIEXBAR, 4, (u32)MCH_ECAM_DEFAULT_BASE | 1);
	cfg_w(e, 0, MCH_PAM0 + 1, 1, 0x33);
	cfg_w(e, 0, MCH_SMRAM, 1, MCH_SMRAM_D_LCK);
}

static void mch_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 3) {
		out[0] = mmio_r(e, MCH_ECAM_DEFAULT_BASE, 4); /* through the window */
		out[1] = cfg_r(e, 0, MCH_PAM0, 4);
		out[2] = cfg_r(e, 0, MCH_SMRAM & ~3u, 4);
	}
}

static void mch_case_destroy(struct env *e, void *dev)
{
	mch_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* ich9-lpc: PIRQ routing, RCBA on, an APM status byte */
static void *ich9_lpc_case_create(struct env *e)
{
	struct ich9_lpc_config cfg = { .name = "ich9-lpc", .pm_base = 0x600 };
	struct ich9_lpc *l;

	pci_host_case_create(e);
	cfg.host = e->host;
	assert_int_equal(ich9_lpc_create(&e->tp.p, &cfg, &l, NULL), 0);
	return l;
}

static void ich9_lpc_case_drive(struct env *e, void *dev)
{
	(void)dev;
	cfg_w(e, ICH9_LPC_DEV, ICH9_LPC_PIRQA_ROUT, 4, 0x0b0a0b0a);
	cfg_w(e, ICH9_LPC_DEV, ICH9_LPC_RCBA, 4, 0xfed1c001u);
	pio_w(e, ICH9_APM_STS, 1, 0x42);
}

static void ich9_lpc_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 4) {
		out[0] = cfg_r(e, ICH9_LPC_DEV, ICH9_LPC_PIRQA_ROUT, 4);
		out[1] = cfg_r(e, ICH9_LPC_DEV, ICH9_LPC_RCBA, 4);
		out[2] = mmio_r(e, 0xfed1c000u, 4); /* 0 while mapped, all ones when not */
		out[3] = pio_r(e, ICH9_APM_STS, 1);
	}
}

static void ich9_lpc_case_destroy(struct env *e, void *dev)
{
	ich9_lpc_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* pic */
static void *pic_case_create(struct env *e)
{
	struct pic_config cfg = {
		.name = "pic", .master_base = 0x20, .slave_base = 0xa0, .elcr_base = 0x4d0
	};
	struct pic *pic;

	assert_int_equal(pic_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 0), &pic, NULL), 0);
	return pic;
}

static void pic_case_drive(struct env *e, void *dev)
{
	struct irq_line in1 = pic_input(dev, 1), in3 = pic_input(dev, 3), in10 = pic_input(dev, 10);

	pio_w(e, 0x20, 1, 0x11);
	pio_w(e, 0x21, 1, 0x20);
	pio_w(e, 0x21, 1, 0x04);
	pio_w(e, 0x21, 1, 0x01);
	pio_w(e, 0xa0, 1, 0x11);
	pio_w(e, 0xa1, 1, 0x28);
	pio_w(e, 0xa1, 1, 0x02);
	pio_w(e, 0xa1, 1, 0x01);
	pio_w(e, 0x21, 1, 0xb0);
	pio_w(e, 0x4d1, 1, 0x04); /* IRQ 10 level-triggered */
	irq_line_set(&in1, 1);
	assert_int_equal(pic_ack(dev), 0x21);
	irq_line_set(&in3, 1);
	irq_line_set(&in10, 1);
	pio_w(e, 0x20, 1, 0x0b); /* read ISR */
}

static void pic_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u16 ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };

	for (unsigned i = 0; i < ARRAY_SIZE(ports) && i < max; i++)
		out[i] = pio_r(e, ports[i], 1);
}

static void pic_case_destroy(struct env *e, void *dev)
{
	(void)e;
	pic_destroy(dev);
}

/* pit */
static void *pit_case_create(struct env *e)
{
	struct pit_config cfg = { .name = "pit", .base = 0x40, .port_b = 0x61 };
	struct pit *pit;

	assert_int_equal(pit_create(&e->tp.p, &cfg, fake_irq_line(&e->lines[0], 0), &pit, NULL), 0);
	return pit;
}

static void pit_case_drive(struct env *e, void *dev)
{
	(void)dev;
	pio_w(e, 0x43, 1, 0x34); /* counter 0, mode 2, LSB then MSB */
	pio_w(e, 0x40, 1, 0x9c);
	pio_w(e, 0x40, 1, 0x2e);
	pio_w(e, 0x61, 1, 0x01); /* gate 2 high */
	pio_w(e, 0x43, 1, 0xb6); /* counter 2, mode 3 */
	pio_w(e, 0x42, 1, 0x00);
	pio_w(e, 0x42, 1, 0x10);
	pio_w(e, 0x43, 1, 0x74); /* counter 1, mode 2, count 0: 65536 pulses */
	pio_w(e, 0x41, 1, 0x00);
	pio_w(e, 0x41, 1, 0x00);
	test_platform_advance(&e->tp, 2500000);
	pio_w(e, 0x43, 1, 0x00); /* latch counter 0 */
	(void)pio_r(e, 0x40, 1); /* half of it read */
	pio_w(e, 0x43, 1, 0xe8); /* read-back: status of counter 2 */
}

static void pit_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 5) {
		out[0] = pio_r(e, 0x40, 1);
		out[1] = pio_r(e, 0x42, 1);
		out[2] = pio_r(e, 0x61, 1) & ~0x10ull; /* bit 4 is the refresh toggle */
		out[3] = pio_r(e, 0x40, 1);
		out[4] = pio_r(e, 0x40, 1);
	}
}

static void pit_case_destroy(struct env *e, void *dev)
{
	(void)e;
	pit_destroy(dev);
}

/* ioapic */
static void *ioapic_case_create(struct env *e)
{
	struct ioapic_config cfg = { .name = "ioapic", .base = IOAPIC_DEFAULT_BASE, .id = 2 };
	struct ioapic *io;

	assert_int_equal(ioapic_create(&e->tp.p, &cfg, &io, NULL), 0);
	return io;
}

static void ioapic_case_drive(struct env *e, void *dev)
{
	struct irq_line pin4 = ioapic_input(dev, 4);

	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 8);
	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, 0x8031); /* level, vector 0x31 */
	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, IOAPIC_REG_REDTBL + 9);
	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, 0x01000000);
	irq_line_set(&pin4, 1); /* sent: Remote IRR set */
	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, 0);
	mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4, 0x05000000);
}

static void ioapic_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u32 regs[] = { 0, 1, IOAPIC_REG_REDTBL + 8, IOAPIC_REG_REDTBL + 9 };

	for (unsigned i = 0; i < ARRAY_SIZE(regs) && i < max; i++) {
		mmio_w(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, 4, regs[i]);
		out[i] = mmio_r(e, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4);
	}
}

static void ioapic_case_destroy(struct env *e, void *dev)
{
	(void)e;
	ioapic_destroy(dev);
}

/* lapic */
static void *lapic_case_create(struct env *e)
{
	struct lapic_config cfg = {
		.name = "lapic0", .apic_id = 0, .bsp = true, .x2apic = true, .tsc_hz = 2000000000ull
	};
	struct lapic *l;

	assert_int_equal(lapic_create(&e->tp.p, &cfg, &l, NULL), 0);
	return l;
}

static void lapic_case_drive(struct env *e, void *dev)
{
	struct apic_msg m = {
		.dest = 0, .delivery = APIC_DM_FIXED, .vector = 0x51, .assert = true
	};

	lapic_write(dev, LAPIC_SVR, 0x1ff);
	lapic_write(dev, LAPIC_TDCR, 0x3);
	lapic_write(dev, LAPIC_LVT_TIMER, (1u << 17) | 0x40); /* periodic */
	lapic_write(dev, LAPIC_TMICT, 100000);
	lapic_write(dev, LAPIC_TPR, 0x20);
	lapic_accept(dev, &m);
	assert_int_equal(lapic_ack(dev), 0x51);
	m.vector = 0x61;
	lapic_accept(dev, &m);
	test_platform_advance(&e->tp, 700000);
}

static struct lapic *lapic_probe_target; /* the device being probed (no bus window) */

static void lapic_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u32 regs[] = { LAPIC_TPR,	 LAPIC_SVR,	    LAPIC_LVT_TIMER,
				    LAPIC_TMICT, 0x390 /* TMCCT */, 0x100 + 0x50 /* ISR 2 */,
				    0x200 + 0x60 };

	(void)e;
	for (unsigned i = 0; i < ARRAY_SIZE(regs) && i < max && lapic_probe_target; i++)
		out[i] = lapic_read(lapic_probe_target, regs[i]);
}

static void lapic_case_destroy(struct env *e, void *dev)
{
	(void)e;
	lapic_destroy(dev);
}

/* hpet */
static void *hpet_case_create(struct env *e)
{
	struct hpet_config cfg = { .name = "hpet", .base = HPET_DEFAULT_BASE };
	struct hpet *h;

	for (unsigned i = 20; i < 24; i++)
		cfg.gsi[i] = fake_irq_line(&e->lines[i - 20], i);
	cfg.legacy_irq0 = fake_irq_line(&e->lines[4], 0);
	cfg.legacy_irq8 = fake_irq_line(&e->lines[5], 8);
	assert_int_equal(hpet_create(&e->tp.p, &cfg, &h, NULL), 0);
	return h;
}

static void hpet_case_drive(struct env *e, void *dev)
{
	u64 t0 = HPET_DEFAULT_BASE + HPET_TIMER_BASE, t1 = t0 + HPET_TIMER_SIZE;

	(void)dev;
	mmio_w(e, t0 + HPET_TN_CONF, 8,
	       HPET_TN_INT_ENB | HPET_TN_TYPE_PERIODIC | HPET_TN_VAL_SET | 20ull << 9);
	mmio_w(e, t0 + HPET_TN_CMP, 8, 100000);
	mmio_w(e, t0 + HPET_TN_CMP, 8, 100000);
	mmio_w(e, t1 + HPET_TN_CONF, 8, HPET_TN_INT_ENB | HPET_TN_INT_TYPE_LEVEL | 21ull << 9);
	mmio_w(e, t1 + HPET_TN_CMP, 8, 30000);
	mmio_w(e, HPET_DEFAULT_BASE + 0x10, 8, HPET_CONF_ENABLE);
	test_platform_advance(&e->tp, 5000000);
}

static void hpet_case_probe(struct env *e, u64 *out, unsigned max)
{
	u64 t0 = HPET_DEFAULT_BASE + HPET_TIMER_BASE;

	if (max >= 5) {
		out[0] = mmio_r(e, HPET_DEFAULT_BASE + 0x10, 8);
		out[1] = mmio_r(e, HPET_DEFAULT_BASE + 0x20, 8);
		out[2] = mmio_r(e, HPET_DEFAULT_BASE + 0xf0, 8);
		out[3] = mmio_r(e, t0 + HPET_TN_CMP, 8);
		out[4] = mmio_r(e, t0 + HPET_TIMER_SIZE + HPET_TN_CONF, 8);
	}
}

static void hpet_case_destroy(struct env *e, void *dev)
{
	(void)e;
	hpet_destroy(dev);
}

/* ahci: a disk on port 0 (IDENTIFY done, a READ DMA EXT in flight), port 1 empty */
#define AHCI_CLB  0x10000u
#define AHCI_FB	  0x18000u
#define AHCI_CTBA 0x20000u
#define AHCI_BUF  0x100000u

static void *ahci_case_create(struct env *e)
{
	struct ahci_config cfg = { .name = "ahci0", .dev = PCI_SLOT, .nr_ports = 2 };
	struct ahci *a;

	if (!e->bd)
		env_open_disk(e);
	pci_host_case_create(e);
	cfg.host = e->host;
	cfg.intx = fake_irq_line(&e->lines[0], 16);
	cfg.ports[0] = (struct ata_config){ .kind = ATA_KIND_DISK, .bd = e->bd, .trim = true };
	assert_int_equal(ahci_create(&e->tp.p, &cfg, &a, NULL), 0);
	return a;
}

static void ahci_cmd(struct env *e, unsigned slot, u8 command, u64 lba, u16 count, u32 bytes)
{
	u8 *hdr = ram(e, AHCI_CLB + slot * 32), *ct = ram(e, AHCI_CTBA + slot * 0x400);

	memset(hdr, 0, 32);
	memset(ct, 0, 0x90);
	put32(hdr, 5 | 1u << 16);
	put32(hdr + 8, AHCI_CTBA + slot * 0x400);
	ct[0] = AHCI_FIS_REG_H2D;
	ct[1] = AHCI_FIS_H2D_C;
	ct[2] = command;
	ct[4] = (u8)lba;
	ct[7] = 0x40;
	ct[12] = (u8)count;
	put32(ct + AHCI_CT_PRDT, AHCI_BUF + slot * 0x10000);
	put32(ct + AHCI_CT_PRDT + 12, bytes - 1);
}

static void ahci_case_drive(struct env *e, void *dev)
{
	u64 p0 = ABAR + AHCI_PORT_BASE;

	(void)dev;
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 5 * 4, 4, (u32)ABAR);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	mmio_w(e, ABAR + AHCI_GHC, 4, AHCI_GHC_AE | AHCI_GHC_IE);
	mmio_w(e, p0 + AHCI_PxCLB, 4, AHCI_CLB);
	mmio_w(e, p0 + AHCI_PxFB, 4, AHCI_FB);
	mmio_w(e, p0 + AHCI_PxIS, 4, 0xffffffff);
	mmio_w(e, p0 + AHCI_PxIE, 4, 0x7dc000ff);
	mmio_w(e, p0 + AHCI_PxCMD, 4, AHCI_PxCMD_FRE);
	mmio_w(e, p0 + AHCI_PxCMD, 4, AHCI_PxCMD_FRE | AHCI_PxCMD_ST);
	ahci_cmd(e, 0, 0xec, 0, 0, 512); /* IDENTIFY: done at once */
	mmio_w(e, p0 + AHCI_PxCI, 4, 1);
	assert_int_equal(mmio_r(e, p0 + AHCI_PxCI, 4), 0);
	ahci_cmd(e, 1, 0x25, 8, 8, 4096); /* READ DMA EXT: a block request in flight */
	mmio_w(e, p0 + AHCI_PxCI, 4, 2);
	assert_true(blockdev_inflight(e->bd) > 0); /* the save must drain it */
	cfg_w(e, PCI_SLOT, PCI_INTERRUPT_LINE, 1, 11);
}

static void ahci_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const u32 regs[] = { AHCI_GHC,
				    AHCI_IS,
				    AHCI_PORT_BASE + AHCI_PxCMD,
				    AHCI_PORT_BASE + AHCI_PxIS,
				    AHCI_PORT_BASE + AHCI_PxTFD,
				    AHCI_PORT_BASE + AHCI_PxCI,
				    AHCI_PORT_BASE + AHCI_PxSIG,
				    AHCI_PORT_BASE + AHCI_PORT_SIZE + AHCI_PxSSTS };

	for (unsigned i = 0; i < ARRAY_SIZE(regs) && i < max; i++)
		out[i] = mmio_r(e, ABAR + regs[i], 4);
	if (max > ARRAY_SIZE(regs))
		out[ARRAY_SIZE(regs)] = cfg_r(e, PCI_SLOT, PCI_COMMAND, 4);
}

static void ahci_case_destroy(struct env *e, void *dev)
{
	ahci_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* virtio-blk: a read request in flight on queue 0, MSI-X on */
#define VQ_RINGS 0x40000u
#define VQ_HDR	 0x50000u
#define VQ_DATA	 0x60000u
#define VQ_SIZE	 16

static void *virtio_blk_case_create(struct env *e)
{
	struct virtio_blk_config cfg = { .name = "virtio-blk0",
					 .serial = "STATE-TEST",
					 .num_queues = 2,
					 .queue_size = VQ_SIZE };
	struct virtio_blk *b;

	if (!e->bd)
		env_open_disk(e);
	pci_host_case_create(e);
	assert_int_equal(virtio_blk_create(&e->tp.p, e->bd, &cfg, &b, NULL), 0);
	pci_set_intx(virtio_blk_pci(b), 1, fake_irq_line(&e->lines[0], 17));
	assert_int_equal(pci_host_add(e->host, virtio_blk_pci(b), PCI_SLOT, 0, NULL), 0);
	return b;
}

static void common_w(struct env *e, unsigned off, unsigned size, u64 val)
{
	mmio_w(e, BAR4 + VIRTIO_PCI_COMMON_OFF + off, size, val);
}

static void desc(struct env *e, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *p = ram(e, VQ_RINGS + 16 * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void virtio_blk_case_drive(struct env *e, void *dev)
{
	const u8 st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	u32 hdr[4] = { VIRTIO_BLK_T_IN, 0, 5, 0 };
	unsigned cap;
	u16 one = 1, zero = 0;

	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)BAR4);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)BAR1);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1, st);
	common_w(e, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_w(e, VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 */
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_FEATURES_OK);
	common_w(e, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	common_w(e, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	common_w(e, VIRTIO_PCI_COMMON_Q_DESCLO, 4, VQ_RINGS);
	common_w(e, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, VQ_RINGS + 0x1000);
	common_w(e, VIRTIO_PCI_COMMON_Q_USEDLO, 4, VQ_RINGS + 0x2000);
	common_w(e, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	common_w(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1,
		 st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	for (cap = cfg_r(e, PCI_SLOT, PCI_CAPABILITY_LIST, 1);
	     cap && cfg_r(e, PCI_SLOT, cap, 1) != PCI_CAP_ID_MSIX;)
		cap = cfg_r(e, PCI_SLOT, cap + 1, 1);
	assert_int_not_equal(cap, 0);
	for (unsigned v = 0; v < 2; v++) {
		mmio_w(e, BAR1 + 16 * v, 4, 0xfee00000u);
		mmio_w(e, BAR1 + 16 * v + 8, 4, 0x40 + v);
		mmio_w(e, BAR1 + 16 * v + 12, 4,
		       v); /* vector 1 masked: its message stays pending */
	}
	cfg_w(e, PCI_SLOT, cap + 2, 2, 0x8000);
	memcpy(ram(e, VQ_HDR), hdr, sizeof(hdr));
	desc(e, 0, VQ_HDR, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(e, 1, VQ_DATA, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(e, 2, VQ_HDR + 16, 1, VIRTQ_DESC_F_WRITE, 0);
	memcpy(ram(e, VQ_RINGS + 0x1000 + 4), &zero, 2); /* ring[0] = head 0 */
	memcpy(ram(e, VQ_RINGS + 0x1000 + 2), &one, 2);	 /* avail idx 1 */
	mmio_w(e, BAR4 + VIRTIO_PCI_NOTIFY_OFF, 2, 0);
	assert_int_equal(virtio_blk_inflight(dev), 1); /* the save must drain it */
}

static void virtio_blk_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 6) {
		out[0] = mmio_r(e, BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 1);
		out[1] = mmio_r(e, BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_Q_MSIX, 2);
		out[2] = mmio_r(e, BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_Q_ENABLE, 2);
		out[3] = mmio_r(e, BAR1 + VIRTIO_PCI_MSIX_PBA, 4);
		out[4] = mmio_r(e, BAR1 + 16 + 8, 4);
		out[5] = cfg_r(e, PCI_SLOT, PCI_COMMAND, 4);
	}
}

static void virtio_blk_case_destroy(struct env *e, void *dev)
{
	pci_host_remove(e->host, virtio_blk_pci(dev));
	virtio_blk_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* e1000: rings set up, a frame received, link down, an EEPROM read half done, ITR holding one */
#define E1000_BAR0 0xfeb80000ull
#define E1000_IO   0xc100

static const u8 state_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };

static void *e1000_case_create(struct env *e)
{
	struct e1000_config cfg = { .name = "net0" };
	struct e1000 *d;

	if (!e->fn.be)
		fake_net_init(&e->fn, 0, 1);
	pci_host_case_create(e);
	memcpy(cfg.mac, state_mac, 6);
	cfg.be = e->fn.be;
	assert_int_equal(e1000_create(&e->tp.p, &cfg, &d, NULL), 0);
	pci_set_intx(e1000_pci(d), 1, fake_irq_line(&e->lines[0], 18));
	assert_int_equal(pci_host_add(e->host, e1000_pci(d), PCI_SLOT, 0, NULL), 0);
	return d;
}

static void e1000_case_drive(struct env *e, void *dev)
{
	u8 frame[80] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99, 2, 0, 0, 0, 0, 1, 0x08, 0x06 };
	u64 buf = 0x70000;

	(void)dev;
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0, 4, (u32)E1000_BAR0);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4, 4, E1000_IO | 1);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2,
	      PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
	memcpy(ram(e, VQ_RINGS), &buf, 8);
	mmio_w(e, E1000_BAR0 + E1000_RDBAL, 4, VQ_RINGS);
	mmio_w(e, E1000_BAR0 + E1000_RDLEN, 4, 128);
	mmio_w(e, E1000_BAR0 + E1000_RDT, 4, 4);
	mmio_w(e, E1000_BAR0 + E1000_RCTL, 4, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);
	mmio_w(e, E1000_BAR0 + E1000_TDBAL, 4, VQ_RINGS + 0x1000);
	mmio_w(e, E1000_BAR0 + E1000_TDLEN, 4, 128);
	mmio_w(e, E1000_BAR0 + E1000_TCTL, 4, E1000_TCTL_EN);
	mmio_w(e, E1000_BAR0 + E1000_MTA + 12, 4, 0x1000);
	mmio_w(e, E1000_BAR0 + E1000_VFTA + 8, 4, 0x80);
	mmio_w(e, E1000_BAR0 + E1000_ITR, 4, 2000);
	mmio_w(e, E1000_BAR0 + E1000_IMS, 4, E1000_ICR_RXT0 | E1000_ICR_LSC);
	assert_int_equal(fake_net_deliver(&e->fn, 0, NULL, frame, sizeof(frame)), 0);
	(void)mmio_r(e, E1000_BAR0 + E1000_ICR, 4);
	e1000_set_link(dev, false); /* LSC within the ITR gap: the timer holds it */
	mmio_w(e, E1000_BAR0 + E1000_EECD, 4, E1000_EECD_REQ | E1000_EECD_CS | E1000_EECD_DI);
	mmio_w(e, E1000_BAR0 + E1000_EECD, 4,
	       E1000_EECD_REQ | E1000_EECD_CS | E1000_EECD_DI | E1000_EECD_SK);
	pio_w(e, E1000_IO, 4, E1000_STATUS);
}

static void e1000_case_probe(struct env *e, u64 *out, unsigned max)
{
	static const unsigned regs[] = { E1000_STATUS, E1000_IMS,  E1000_RDH,	   E1000_RCTL,
					 E1000_TCTL,   E1000_EECD, E1000_MTA + 12, E1000_ITR };

	for (unsigned i = 0; i < ARRAY_SIZE(regs) && i < max; i++)
		out[i] = mmio_r(e, E1000_BAR0 + regs[i], 4);
	if (max > ARRAY_SIZE(regs))
		out[ARRAY_SIZE(regs)] = pio_r(e, E1000_IO + 4, 4);
}

static void e1000_case_destroy(struct env *e, void *dev)
{
	pci_host_remove(e->host, e1000_pci(dev));
	e1000_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* pci-testdev: BARs programmed by the guest, a test selected on each with writes counted */
#define PCI_TESTDEV_BAR0 0xfe900000u
#define PCI_TESTDEV_BAR1 0xc200u

static void *pci_testdev_case_create(struct env *e)
{
	struct pci_testdev_config cfg = { .name = "pci-testdev" };
	struct pci_testdev *t;

	pci_host_case_create(e);
	assert_int_equal(pci_testdev_create(&e->tp.p, &cfg, &t, NULL), 0);
	assert_int_equal(pci_host_add(e->host, pci_testdev_pci(t), PCI_SLOT, 0, NULL), 0);
	return t;
}

static void pci_testdev_case_drive(struct env *e, void *dev)
{
	u32 off;

	(void)dev;
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0, 4, PCI_TESTDEV_BAR0);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4, 4, PCI_TESTDEV_BAR1);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
	mmio_w(e, PCI_TESTDEV_BAR0 + PCI_TESTDEV_HDR_TEST, 1, 0);
	off = (u32)mmio_r(e, PCI_TESTDEV_BAR0 + PCI_TESTDEV_HDR_OFFSET, 4);
	for (unsigned i = 0; i < 5; i++)
		mmio_w(e, PCI_TESTDEV_BAR0 + off, 4,
		       mmio_r(e, PCI_TESTDEV_BAR0 + PCI_TESTDEV_HDR_DATA, 4));
	pio_w(e, PCI_TESTDEV_BAR1 + PCI_TESTDEV_HDR_TEST, 1, 2);
	off = (u32)pio_r(e, PCI_TESTDEV_BAR1 + PCI_TESTDEV_HDR_OFFSET, 4);
	for (unsigned i = 0; i < 3; i++)
		pio_w(e, (u16)(PCI_TESTDEV_BAR1 + off), 1,
		      pio_r(e, PCI_TESTDEV_BAR1 + PCI_TESTDEV_HDR_DATA, 4));
}

static void pci_testdev_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 5) {
		out[0] = mmio_r(e, PCI_TESTDEV_BAR0 + PCI_TESTDEV_HDR_COUNT, 4);
		out[1] = mmio_r(e, PCI_TESTDEV_BAR0 + PCI_TESTDEV_HDR_TEST, 4);
		out[2] = pio_r(e, PCI_TESTDEV_BAR1 + PCI_TESTDEV_HDR_COUNT, 4);
		out[3] = pio_r(e, PCI_TESTDEV_BAR1 + PCI_TESTDEV_HDR_TEST, 4);
		out[4] = cfg_r(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4, 4);
	}
}

static void pci_testdev_case_destroy(struct env *e, void *dev)
{
	pci_host_remove(e->host, pci_testdev_pci(dev));
	pci_testdev_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* virtio-net: queues up, the control queue used (promiscuous off), link down, MSI-X on */
static void *virtio_net_case_create(struct env *e)
{
	struct virtio_net_config cfg = { .name = "net1", .queue_pairs = 1, .queue_size = VQ_SIZE };
	struct virtio_net *n;

	if (!e->fn.be)
		fake_net_init(&e->fn, 0, 1);
	pci_host_case_create(e);
	memcpy(cfg.mac, state_mac, 6);
	cfg.be = e->fn.be;
	assert_int_equal(virtio_net_create(&e->tp.p, &cfg, &n, NULL), 0);
	pci_set_intx(virtio_net_pci(n), 1, fake_irq_line(&e->lines[0], 17));
	assert_int_equal(pci_host_add(e->host, virtio_net_pci(n), PCI_SLOT, 0, NULL), 0);
	return n;
}

static void virtio_net_case_drive(struct env *e, void *dev)
{
	const u8 st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	const u64 feat = 1ull << VIRTIO_NET_F_CTRL_VQ | 1ull << VIRTIO_NET_F_CTRL_RX |
			 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_STATUS;
	u16 one = 1, zero = 0;

	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR, 4, (u32)BAR4);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_BAR + 4, 4, 0);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 4 * VIRTIO_PCI_MSIX_BAR, 4, (u32)BAR1);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1, st);
	common_w(e, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	common_w(e, VIRTIO_PCI_COMMON_GF, 4, (u32)feat);
	common_w(e, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	common_w(e, VIRTIO_PCI_COMMON_GF, 4, 1); /* VERSION_1 */
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1, st | VIRTIO_STATUS_FEATURES_OK);
	for (unsigned q = 0; q < 3; q++) {
		common_w(e, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
		common_w(e, VIRTIO_PCI_COMMON_Q_DESCLO, 4, VQ_RINGS + 0x3000 * q);
		common_w(e, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, VQ_RINGS + 0x3000 * q + 0x1000);
		common_w(e, VIRTIO_PCI_COMMON_Q_USEDLO, 4, VQ_RINGS + 0x3000 * q + 0x2000);
		common_w(e, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	}
	common_w(e, VIRTIO_PCI_COMMON_STATUS, 1,
		 st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	/* control queue (2): RX PROMISC off */
	ram(e, VQ_HDR)[0] = VIRTIO_NET_CTRL_RX;
	ram(e, VQ_HDR)[1] = VIRTIO_NET_CTRL_RX_PROMISC;
	ram(e, VQ_HDR)[2] = 0;
	{
		u64 t = VQ_RINGS + 0x6000;

		memcpy(ram(e, t), &(u64){ VQ_HDR }, 8);
		memcpy(ram(e, t + 8), &(u32){ 3 }, 4);
		memcpy(ram(e, t + 12), &(u16){ VIRTQ_DESC_F_NEXT }, 2);
		memcpy(ram(e, t + 14), &one, 2);
		memcpy(ram(e, t + 16), &(u64){ VQ_HDR + 8 }, 8);
		memcpy(ram(e, t + 24), &(u32){ 1 }, 4);
		memcpy(ram(e, t + 28), &(u16){ VIRTQ_DESC_F_WRITE }, 2);
		memcpy(ram(e, t + 0x1000 + 4), &zero, 2);
		memcpy(ram(e, t + 0x1000 + 2), &one, 2);
	}
	mmio_w(e, BAR4 + VIRTIO_PCI_NOTIFY_OFF + 2 * VIRTIO_PCI_NOTIFY_MULT, 2, 2);
	assert_int_equal(ram(e, VQ_HDR + 8)[0], VIRTIO_NET_OK);
	virtio_net_set_link(dev, false);
}

static void virtio_net_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max >= 4) {
		out[0] = mmio_r(e, BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_STATUS, 1);
		out[1] = mmio_r(e, BAR4 + VIRTIO_PCI_DEVICE_OFF + VIRTIO_NET_CFG_STATUS, 2);
		out[2] = mmio_r(e, BAR4 + VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_Q_ENABLE, 2);
		out[3] = mmio_r(e, BAR4 + VIRTIO_PCI_DEVICE_OFF + VIRTIO_NET_CFG_MAC + 5, 1);
	}
}

static void virtio_net_case_destroy(struct env *e, void *dev)
{
	pci_host_remove(e->host, virtio_net_pci(dev));
	virtio_net_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* vga: text mode, a dispi mode, BARs (PCI slot PCI_SLOT), DAC and attribute state */
#define VGA_LFB	 0xe0000000ull
#define VGA_MMIO 0xe1000000ull

static void *vga_case_create(struct env *e)
{
	static const u8 rom[3000] = { 0x55, 0xaa, 6 };
	struct vga_config cfg = {
		.name = "vga0", .vram_mib = 4, .rom = rom, .rom_len = sizeof(rom), .slot = PCI_SLOT
	};
	struct vga *v;

	pci_host_case_create(e);
	assert_int_equal(vga_create(&e->tp.p, e->host, &cfg, &v, NULL), 0);
	return v;
}

static void vga_case_drive(struct env *e, void *dev)
{
	vga_text_mode_init(dev, NULL, 0);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0, 4, (u32)VGA_LFB);
	cfg_w(e, PCI_SLOT, PCI_BASE_ADDRESS_0 + 8, 4, (u32)VGA_MMIO);
	cfg_w(e, PCI_SLOT, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pio_w(e, VBE_DISPI_IOPORT_INDEX, 2, VBE_DISPI_INDEX_XRES);
	pio_w(e, VBE_DISPI_IOPORT_DATA, 2, 800);
	pio_w(e, VBE_DISPI_IOPORT_INDEX, 2, VBE_DISPI_INDEX_BANK); /* index left at BANK */
	pio_w(e, VBE_DISPI_IOPORT_DATA, 2, 3);
	pio_w(e, VGA_PEL_IW, 1, 7);
	pio_w(e, VGA_PEL_D, 1, 0x11); /* a DAC entry half written */
	pio_w(e, VGA_CRT_IC, 1, VGA_CR_CURSOR_LO);
	pio_w(e, VGA_CRT_DC, 1, 0x42);
	pio_r(e, VGA_IS1_RC, 1);
	pio_w(e, VGA_ATT_W, 1, 0x31); /* flip-flop at data, index 0x11 with PAS */
}

static void vga_case_probe(struct env *e, u64 *out, unsigned max)
{
	if (max < 7)
		return;
	out[0] = pio_r(e, VBE_DISPI_IOPORT_DATA, 2); /* BANK */
	out[1] = mmio_r(e, VGA_MMIO + VBE_MMIO_DISPI + 2 * VBE_DISPI_INDEX_XRES, 2);
	out[2] = pio_r(e, VGA_PEL_IW, 1);
	pio_w(e, VGA_CRT_IC, 1, VGA_CR_CURSOR_LO);
	out[3] = pio_r(e, VGA_CRT_DC, 1);
	out[4] = pio_r(e, VGA_ATT_W, 1);
	out[5] = pio_r(e, VGA_MIS_R, 1);
	out[6] = cfg_r(e, PCI_SLOT, PCI_BASE_ADDRESS_0, 4);
}

static void vga_case_destroy(struct env *e, void *dev)
{
	vga_destroy(dev);
	pci_host_case_destroy(e, NULL);
}

/* vmport: a channel half-way through a message each way, guestinfo, the tools' requests */
static void vmport_case_call(void *dev, u32 cmd, u32 ebx, u32 edx, u32 esi, u32 edi,
			     struct vmport_regs *r)
{
	*r = (struct vmport_regs){
		.rax = VMPORT_MAGIC, .rbx = ebx, .rcx = cmd, .rdx = edx, .rsi = esi, .rdi = edi
	};
	vmport_call(dev, r);
}

static void *vmport_case_create(struct env *e)
{
	static const char *const keys[] = { "demo" }, *const values[] = { "hello" };
	struct vmport_config cfg = { .name = "vmport",
				     .ram_bytes = RAM_BYTES,
				     .uuid = { 1, 2, 3 },
				     .tsc_hz = 2000000000,
				     .apic_bus_hz = 1000000000,
				     .hb = true,
				     .gi_keys = keys,
				     .gi_values = values,
				     .nr_gi = 1 };
	struct vmport *v;

	assert_int_equal(vmport_create(&e->tp.p, &cfg, &v, NULL), 0);
	return v;
}

static void vmport_case_drive(struct env *e, void *dev)
{
	struct vmport_regs r;
	u32 hi, lo, id;

	(void)e;
	/* RPCI: "info-get guestinfo.demo" sent, the answer half received */
	vmport_case_call(dev, 30, VMPORT_PROTO_RPCI | VMPORT_FLAG_COOKIE, 0, 0, 0, &r);
	id = (u32)r.rdx & 0xffff0000, hi = (u32)r.rsi, lo = (u32)r.rdi;
	vmport_case_call(dev, 30 | 1 << 16, 23, id, hi, lo, &r);
	for (unsigned i = 0; i < 6; i++)
		vmport_case_call(dev, 30 | 2 << 16, 0x6f666e69 /* "info" */, id, hi, lo, &r);
	vmport_case_call(dev, 30 | 3 << 16, 0, id, hi, lo, &r);
	vmport_case_call(dev, 30 | 4 << 16, 1, id, hi, lo, &r);
	/* TCLO: opened, "reset" offered; a second RPCI channel half-way through sending */
	vmport_case_call(dev, 30, VMPORT_PROTO_TCLO, 0, 0, 0, &r);
	vmport_case_call(dev, 30 | 1 << 16, 0, (u32)r.rdx & 0xffff0000, 0, 0, &r);
	vmport_case_call(dev, 30, VMPORT_PROTO_RPCI, 0, 0, 0, &r);
	vmport_case_call(dev, 30 | 1 << 16, 100, (u32)r.rdx & 0xffff0000, 0, 0, &r);
	vmport_case_call(dev, 30 | 2 << 16, 0x41414141, (u32)r.rdx & 0xffff0000, 0, 0, &r);
	assert_int_equal(vmport_guestinfo_set(dev, "answer", "42", NULL), 0);
}

/* What the guest would read next on channel 0 (the RPCI answer) and channel 1 (TCLO). */
static void vmport_case_probe(struct env *e, u64 *out, unsigned max)
{
	struct vmport_regs r;
	void *dev = (void *)lapic_probe_target; /* round_trip sets it to the device */

	(void)e, (void)max;
	vmport_case_call(dev, 30 | 4 << 16, 1, 0, 0, 0, &r); /* wrong cookie: refused */
	out[0] = r.rcx >> 16;
	out[1] = vmport_guestinfo_get(dev, "answer") != NULL;
	vmport_case_call(dev, 30 | 3 << 16, 0, 1 << 16, 0, 0, &r); /* TCLO: "reset" ready */
	out[2] = r.rbx;
	out[3] = r.rcx >> 16;
	vmport_case_call(dev, 30 | 4 << 16, 1, 1 << 16, 0, 0, &r);
	out[4] = r.rbx;
}

static void vmport_case_destroy(struct env *e, void *dev)
{
	(void)e;
	vmport_destroy(dev);
}

#define CASE(inst, sname, ops, pfx)                                                       \
	{                                                                                 \
		inst, sname, &ops, pfx##_case_create, pfx##_case_drive, pfx##_case_probe, \
			pfx##_case_destroy                                                \
	}

static const struct dev_case dev_cases[] = {
	CASE("uart0", "uart", uart_device_ops, uart),
	CASE("rtc0", "rtc", rtc_device_ops, rtc),
	CASE("i8042", "i8042", i8042_device_ops, i8042),
	CASE("acpi-pm", "acpi_pm", acpi_pm_device_ops, acpi_pm),
	{ "debug-exit", "debug_exit", &debug_exit_device_ops, debug_exit_case_create, nothing_drive,
	  nothing_probe, debug_exit_case_destroy },
	CASE("testdev", "testdev", testdev_device_ops, testdev),
	CASE("pc-testdev", "pc_testdev", pc_testdev_device_ops, pc_testdev),
	CASE("fw-cfg", "fw_cfg", fw_cfg_device_ops, fw_cfg),
	CASE("debugcon", "debugcon", debugcon_device_ops, debugcon),
	{ "pvpanic", "pvpanic", &pvpanic_device_ops, pvpanic_case_create, pvpanic_case_drive,
	  nothing_probe, pvpanic_case_destroy },
	CASE("vmport", "vmport", vmport_device_ops, vmport),
	CASE("pci0", "pci_host", pci_host_device_ops, pci_host),
	CASE("piix", "piix", piix_device_ops, piix),
	CASE("piix4-pm", "piix4_pm", piix4_pm_device_ops, piix4_pm),
	CASE("mch", "mch", mch_device_ops, mch),
	CASE("ich9-lpc", "ich9_lpc", ich9_lpc_device_ops, ich9_lpc),
	CASE("pic", "pic", pic_device_ops, pic),
	CASE("pit", "pit", pit_device_ops, pit),
	CASE("ioapic", "ioapic", ioapic_device_ops, ioapic),
	CASE("lapic0", "lapic", lapic_device_ops, lapic),
	CASE("hpet", "hpet", hpet_device_ops, hpet),
	CASE("ahci0", "ahci", ahci_device_ops, ahci),
	CASE("virtio-blk0", "virtio_blk", virtio_blk_device_ops, virtio_blk),
	CASE("net0", "e1000", e1000_device_ops, e1000),
	CASE("pci-testdev", "pci_testdev", pci_testdev_device_ops, pci_testdev),
	CASE("net1", "virtio_net", virtio_net_device_ops, virtio_net),
	CASE("vga0", "vga", vga_device_ops, vga),
};

/* ------------------------------------------------------------ round trips */

#define PROBES 10

static void round_trip(const struct dev_case *c)
{
	struct env e;
	struct state_buf rec1, rec2;
	u64 before[PROBES] = { 0 }, after[PROBES] = { 0 };
	struct err err;
	void *dev;

	env_init(&e);
	state_buf_init(&rec1);
	state_buf_init(&rec2);
	dev = c->create(&e);
	c->drive(&e, dev);
	if (state_save(c->ops->state, c->instance, dev, &rec1, &err) < 0)
		fail_msg("%s: save: %s", c->instance, err.msg);
	lapic_probe_target = dev;
	c->probe(&e, before, PROBES);
	c->destroy(&e, dev);

	dev = c->create(&e);
	if (state_load(c->ops->state, c->instance, dev, rec1.data, rec1.len, &err) < 0)
		fail_msg("%s: load: %s", c->instance, err.msg);
	if (state_save(c->ops->state, c->instance, dev, &rec2, &err) < 0)
		fail_msg("%s: second save: %s", c->instance, err.msg);
	if (rec1.len != rec2.len || memcmp(rec1.data, rec2.data, rec1.len))
		fail_msg("%s: the record of the loaded device differs (%zu and %zu bytes)",
			 c->instance, rec1.len, rec2.len);
	lapic_probe_target = dev;
	c->probe(&e, after, PROBES);
	for (unsigned i = 0; i < PROBES; i++)
		if (before[i] != after[i])
			fail_msg("%s: probe %u reads %#llx after the load, %#llx before",
				 c->instance, i, (unsigned long long)after[i],
				 (unsigned long long)before[i]);
	c->destroy(&e, dev);
	lapic_probe_target = NULL;
	state_buf_free(&rec1);
	state_buf_free(&rec2);
	env_fini(&e);
}

static void test_round_trip_every_device(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(dev_cases); i++)
		round_trip(&dev_cases[i]);
}

/* The lines a device held high are high again on the fresh device's lines after a load. */
static void test_lines_raised_again(void **state)
{
	struct env e;
	struct state_buf rec;
	struct err err;
	void *dev;

	(void)state;
	env_init(&e);
	state_buf_init(&rec);
	dev = testdev_case_create(&e);
	testdev_case_drive(&e, dev);
	assert_int_equal(fake_irq_level(&e.lines[0]), 1);
	assert_int_equal(state_save(testdev_device_ops.state, "testdev", dev, &rec, &err), 0);
	testdev_destroy(dev);
	dev = testdev_case_create(&e);
	assert_int_equal(fake_irq_level(&e.lines[0]), 0);
	assert_int_equal(
		state_load(testdev_device_ops.state, "testdev", dev, rec.data, rec.len, &err), 0);
	assert_int_equal(fake_irq_level(&e.lines[0]), 1);
	testdev_destroy(dev);
	state_buf_free(&rec);
	env_fini(&e);
}

/* ------------------------------------------------- refusals of a real record */

/* rec with n bytes inserted at off and the little-endian u32s at len_at[] grown by n. */
static void splice(struct state_buf *out, const struct state_buf *rec, size_t off, const void *ins,
		   size_t n, const size_t *len_at, unsigned nr_len)
{
	u32 v;

	out->len = 0;
	out->data = realloc(out->data, rec->len + n);
	out->cap = rec->len + n;
	memcpy(out->data, rec->data, off);
	if (n)
		memcpy(out->data + off, ins, n);
	memcpy(out->data + off + n, rec->data + off, rec->len - off);
	out->len = rec->len + n;
	for (unsigned i = 0; i < nr_len; i++) {
		memcpy(&v, out->data + len_at[i], 4);
		v += (u32)n;
		memcpy(out->data + len_at[i], &v, 4);
	}
}

static size_t find_field(const struct state_buf *rec, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + 2 + n <= rec->len; i++)
		if (rec->data[i] == 'f' && rec->data[i + 1] == n &&
		    !memcmp(rec->data + i + 2, name, n))
			return i;
	fail_msg("no field %s", name);
	return 0;
}

static void expect_refusal(const void *rec, size_t len, const char *what)
{
	struct env e;
	struct err err;
	void *dev;

	env_init(&e);
	dev = uart_case_create(&e);
	assert_true(state_load(uart_device_ops.state, "uart0", dev, rec, len, &err) < 0);
	if (!strstr(err.msg, what))
		fail_msg("'%s' does not say '%s'", err.msg, what);
	if (strncmp(err.msg, "uart0", 5) && strstr(what, "uart0"))
		fail_msg("'%s' does not name the device", err.msg);
	uart_destroy(dev);
	env_fini(&e);
}

static void test_real_record_refusals(void **state)
{
	/* The object header of a "uart"/"uart0" record: version at 19, body length at 23. */
	const size_t ver_at = 8 + 5 + 6, body_at = ver_at + 4;
	static const u8 section[] = { 's', 5, 'e', 'x', 't', 'r', 'a', 9, 0, 0,
				      0,   0, 1,   0,	0,   0,	  0,   0, 0, 0 };
	struct state_buf rec, bad;
	struct env e;
	struct err err;
	size_t at, lens[2];
	void *dev;

	(void)state;
	env_init(&e);
	state_buf_init(&rec);
	state_buf_init(&bad);
	dev = uart_case_create(&e);
	uart_case_drive(&e, dev);
	assert_int_equal(state_save(uart_device_ops.state, "uart0", dev, &rec, &err), 0);
	uart_destroy(dev);
	env_fini(&e);
	assert_int_equal(rec.data[ver_at], 1);

	/* newer version */
	splice(&bad, &rec, 0, NULL, 0, NULL, 0);
	bad.data[ver_at] = 2;
	expect_refusal(bad.data, bad.len, "uart0: state record: 'uart' version 2 is newer");
	/* truncated */
	expect_refusal(rec.data, rec.len - 1, "uart0");
	expect_refusal(rec.data, 30, "truncated");
	/* a field of the wrong size: one more byte in 'ier' */
	at = find_field(&rec, "ier");
	lens[0] = body_at;
	lens[1] = at + 2 + 3;
	splice(&bad, &rec, at + 2 + 3 + 4 + 1, "\0", 1, lens, 2);
	expect_refusal(bad.data, bad.len, "ier: 2 bytes in the record, 1 expected");
	/* an unknown section that may not be skipped, then the same one skippable */
	splice(&bad, &rec, rec.len, section, sizeof(section), &body_at, 1);
	expect_refusal(bad.data, bad.len, "unknown section 'extra'");
	bad.data[rec.len + 11] = 1;
	env_init(&e);
	dev = uart_case_create(&e);
	assert_int_equal(state_load(uart_device_ops.state, "uart0", dev, bad.data, bad.len, &err),
			 0);
	uart_destroy(dev);
	env_fini(&e);
	state_buf_free(&rec);
	state_buf_free(&bad);
}

/* ------------------------------------------------------------- the tables */

static void test_tables_verify(void **state)
{
	struct err err;

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(dev_cases); i++) {
		const struct dev_case *c = &dev_cases[i];

		assert_non_null(c->ops->state);
		if (state_desc_verify(c->ops->state, &err) < 0)
			fail_msg("%s: %s", c->ops->type, err.msg);
		assert_string_equal(c->ops->state->name, c->ops->type);
	}
	if (state_desc_verify(&cpu_state_desc, &err) < 0)
		fail_msg("cpu: %s", err.msg);
}

/* ------------------------------------------- members from debug information */

#define MAX_MEMBERS 200
#define MAX_STRUCTS 64

struct dw_member {
	char name[64];
	char type[96]; /* the type text before the name ("struct ata_dev *", "u32") */
	int nested;    /* index of an inline struct's block, or -1 */
};

struct dw_block {
	char struct_name[64]; /* for top-level blocks, "" for inline ones */
	struct dw_member m[MAX_MEMBERS];
	unsigned n;
};

struct dw {
	struct dw_block *b;
	unsigned n, cap;
	char missing[MAX_STRUCTS][64]; /* struct types gdb does not know */
	unsigned nr_missing;
};

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\n' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* "TYPE NAME[..] : bits;" or "TYPE (*NAME)(args);" into m. */
static void dw_parse_leaf(char *text, struct dw_member *m)
{
	char *fp = strstr(text, "(*"), *p, *name;
	size_t len;

	m->nested = -1;
	if (fp) {
		p = strchr(fp, ')');
		len = p ? (size_t)(p - fp - 2) : 0;
		snprintf(m->name, sizeof(m->name), "%.*s", (int)len, fp + 2);
		snprintf(m->type, sizeof(m->type), "function pointer");
		return;
	}
	p = strchr(text, ';');
	if (p)
		*p = '\0';
	p = strstr(text, " : ");
	if (p)
		*p = '\0';
	p = strchr(text, '[');
	if (p)
		*p = '\0';
	text = trim(text);
	name = text + strlen(text);
	while (name > text &&
	       (name[-1] == '_' || (name[-1] >= '0' && name[-1] <= '9') ||
		(name[-1] >= 'a' && name[-1] <= 'z') || (name[-1] >= 'A' && name[-1] <= 'Z')))
		name--;
	snprintf(m->name, sizeof(m->name), "%s", name);
	*name = '\0';
	snprintf(m->type, sizeof(m->type), "%s", trim(text));
}

static int dw_new_block(struct dw *d)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 32;
		d->b = realloc(d->b, d->cap * sizeof(d->b[0]));
		assert_non_null(d->b);
	}
	memset(&d->b[d->n], 0, sizeof(d->b[0]));
	return (int)d->n++;
}

/* Parse the members of a block up to its closing brace; returns the text after the brace. */
static void dw_parse_block(struct dw *d, int bi, FILE *in, char *closing, size_t closing_len)
{
	char line[512];

	while (fgets(line, sizeof(line), in)) {
		char *t = trim(line), *body;
		struct dw_member *m;

		if (!*t || strstr(t, "total size") || !strncmp(t, "/* XXX", 6))
			continue;
		if (*t == '}') {
			snprintf(closing, closing_len, "%s", trim(t + 1));
			return;
		}
		body = strstr(t, "*/");
		if (!body)
			continue;
		body = trim(body + 2);
		assert_true(d->b[bi].n < MAX_MEMBERS);
		m = &d->b[bi].m[d->b[bi].n++];
		if (body[strlen(body) - 1] == '{') {
			char after[128];
			int nb = dw_new_block(d);

			body[strlen(body) - 1] = '\0';
			m = &d->b[bi].m[d->b[bi].n - 1]; /* d->b may have moved */
			snprintf(m->type, sizeof(m->type), "%s", trim(body));
			dw_parse_block(d, nb, in, after, sizeof(after));
			m = &d->b[bi].m[d->b[bi].n - 1];
			dw_parse_leaf(after, m);
			m->nested = nb;
			continue;
		}
		dw_parse_leaf(body, m);
	}
	snprintf(closing, closing_len, "%s", "");
}

static int dw_find(const struct dw *d, const char *struct_name)
{
	for (unsigned i = 0; i < d->n; i++)
		if (!strcmp(d->b[i].struct_name, struct_name))
			return (int)i;
	return -1;
}

static bool dw_is_missing(const struct dw *d, const char *name)
{
	for (unsigned i = 0; i < d->nr_missing; i++)
		if (!strcmp(d->missing[i], name))
			return true;
	return false;
}

/* Ask gdb for the layouts of the named structs (one run). */
static void dw_load(struct dw *d, char names[][64], unsigned n)
{
	char exe[512], cmd[8192], line[512];
	size_t at;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *in;

	assert_true(len > 0);
	exe[len] = '\0';
	/* max-value-size: ptype of a struct larger than 64 KiB (vmport) needs it lifted */
	at = (size_t)snprintf(cmd, sizeof(cmd),
			      "gdb -batch -nx -ex 'set max-value-size unlimited'");
	for (unsigned i = 0; i < n; i++)
		at += (size_t)snprintf(cmd + at, sizeof(cmd) - at, " -ex 'ptype/o struct %s'",
				       names[i]);
	snprintf(cmd + at, sizeof(cmd) - at, " '%s' 2>&1", exe);
	in = popen(cmd, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		char *t = strstr(line, "type = struct "), closing[128];
		int bi;

		if (strstr(line, "No struct type named ")) {
			char *nm = strstr(line, "named ") + 6;

			nm[strcspn(nm, ".\n")] = '\0';
			if (d->nr_missing < MAX_STRUCTS)
				snprintf(d->missing[d->nr_missing++], 64, "%s", nm);
			continue;
		}
		if (!t)
			continue;
		t += strlen("type = struct ");
		t[strcspn(t, " {")] = '\0';
		bi = dw_new_block(d);
		snprintf(d->b[bi].struct_name, sizeof(d->b[bi].struct_name), "%s", t);
		dw_parse_block(d, bi, in, closing, sizeof(closing));
	}
	pclose(in);
}

static const struct state_field *desc_find(const struct state_desc *sd, const char *name)
{
	for (const struct state_field *f = sd->fields; f->type != STATE_T_END; f++) {
		if (f->type == STATE_T_SECTION) {
			const struct state_field *g = desc_find(f->sub, name);

			if (g)
				return g;
		} else if (!strcmp(f->name, name)) {
			return f;
		}
	}
	return NULL;
}

/* "struct foo *" or "struct foo" -> "foo" */
static bool struct_of(const char *type, char *out, size_t n)
{
	const char *p = strstr(type, "struct ");

	if (!p)
		return false;
	p += 7;
	snprintf(out, n, "%.*s", (int)strcspn(p, " *"), p);
	return true;
}

/*
 * Every member of block bi must have a table entry in sd; tables of nested structs are
 * checked against their members too. Struct types not loaded yet go to need[]. Returns the
 * problems found (0: fine so far).
 */
static unsigned dw_check(struct dw *d, int bi, const struct state_desc *sd, const char *path,
			 char need[][64], unsigned *nr_need)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < d->b[bi].n; i++) {
		const struct dw_member *m = &d->b[bi].m[i];
		const struct state_field *f = desc_find(sd, m->name);
		char sub_path[256], sname[64];
		int nb;

		if (!f) {
			print_error("%s: member '%s' (%s) is in no table entry of '%s': add a "
				    "field or STATE_HOST with the reason\n",
				    path, m->name, m->type, sd->name);
			bad++;
			continue;
		}
		if (f->type != STATE_T_STRUCT && f->type != STATE_T_POINTEE)
			continue;
		snprintf(sub_path, sizeof(sub_path), "%s.%s", path, m->name);
		if (m->nested >= 0) {
			bad += dw_check(d, m->nested, f->sub, sub_path, need, nr_need);
			continue;
		}
		if (!struct_of(m->type, sname, sizeof(sname)))
			continue;
		nb = dw_find(d, sname);
		if (nb >= 0)
			bad += dw_check(d, nb, f->sub, sub_path, need, nr_need);
		else if (!dw_is_missing(d, sname) && *nr_need < MAX_STRUCTS)
			snprintf(need[(*nr_need)++], 64, "%s", sname);
	}
	return bad;
}

static bool have_gdb(void)
{
	return system("gdb --version >/dev/null 2>&1") == 0;
}

static void test_tables_name_every_member(void **state)
{
	static char top[ARRAY_SIZE(dev_cases) + 1][64];
	char need[MAX_STRUCTS][64];
	struct dw d = { 0 };
	unsigned bad = 0, nr_need = 0, rounds = 0;

	(void)state;
	if (!have_gdb()) {
		print_message("skipped: gdb is not installed (scripts/deps.sh test installs it)\n");
		skip();
	}
	for (unsigned i = 0; i < ARRAY_SIZE(dev_cases); i++)
		snprintf(top[i], 64, "%s", dev_cases[i].struct_name);
	snprintf(top[ARRAY_SIZE(dev_cases)], 64, "cpu_state");
	dw_load(&d, top, ARRAY_SIZE(top));
	if (dw_find(&d, "uart") < 0) {
		free(d.b);
		print_message("skipped: no debug information in this build (-g)\n");
		skip();
	}
	do {
		bad = 0;
		nr_need = 0;
		for (unsigned i = 0; i <= ARRAY_SIZE(dev_cases); i++) {
			const struct state_desc *sd = i < ARRAY_SIZE(dev_cases) ?
							      dev_cases[i].ops->state :
							      &cpu_state_desc;
			int bi = dw_find(&d, top[i]);

			if (bi < 0) {
				print_error("struct %s: not in the debug information\n", top[i]);
				bad++;
				continue;
			}
			bad += dw_check(&d, bi, sd, top[i], need, &nr_need);
		}
		if (nr_need)
			dw_load(&d, need, nr_need);
	} while (nr_need && !bad && ++rounds < 6);
	for (unsigned i = 0; i < d.nr_missing; i++) {
		print_error("struct %s: not in the debug information\n", d.missing[i]);
		bad++;
	}
	free(d.b);
	assert_int_equal(bad, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_verify),
		cmocka_unit_test(test_tables_name_every_member),
		cmocka_unit_test(test_round_trip_every_device),
		cmocka_unit_test(test_lines_raised_again),
		cmocka_unit_test(test_real_record_refusals),
	};

	return cmocka_run_group_tests_name("device_state", tests, NULL, NULL);
}
