// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for PCI configuration space and BAR programming (src/devices/pci.c, the
 * configuration hooks of piix.c, piix4_pm.c, ahci.c and virtio_pci.c): the input is a program of port
 * accesses a guest makes (mechanism #1 at 0xCF8-0xCFF, the reset control register at 0xCF9,
 * any other port), configuration reads and writes of any function, memory accesses at the
 * addresses BARs can be moved to, and resets, against the real PCI host carrying the
 * board's functions: the i440FX, PIIX3 and PIIX4 PM (00:00.0, 00:01.0, 00:01.3), a virtio-blk (00:03.0: MSI-X,
 * a 64-bit BAR, the PCI configuration access window), an AHCI HBA (00:04.0: MSI, ABAR), and
 * a probe function (00:05.0) with the BAR kinds no board device has yet (I/O, 32-bit,
 * 64-bit prefetchable) that checks what the core tells it.
 *
 * Checks besides the sanitizers: every bar_remap the probe gets names the address it was
 * told before as the old one, and a new address is size-aligned, nonzero and inside its
 * address space; the core's view of each probe BAR matches the last bar_remap and where the
 * PCI specification says the BAR decodes (fpci_expected), and what the probe maps is what
 * the buses route; read-only identity registers (vendor, device, class, header type) of
 * every function never change, nor does the PM base the PIIX4 PM function reports.
 */
#include "devices/ahci.h"
#include "devices/piix.h"
#include "devices/piix4_pm.h"
#include "fuzz_dev.h"
#include "virtio/blk.h"

#include <string.h>

#define FPCI_RAM (64u << 10)

enum fpci_op {
	FPCI_OP_PIO,   /* u8 port selector, u8 size, le32 val, u8 read: a port access */
	FPCI_OP_CFG,   /* u8 devfn selector, u8 off, u8 size, le32 val, u8 read */
	FPCI_OP_SIZE,  /* u8 devfn selector, u8 BAR: the sizing sequence a firmware runs */
	FPCI_OP_MMIO,  /* u8 window, le32 offset, u8 size, le32 val, u8 read */
	FPCI_OP_RESET, /* system reset of every function */
	FPCI_NR_OPS,
};

/* The probe function's BARs: what pci_set_bar accepts, of every kind. */
struct fpci_probe_bar {
	u64 size;
	enum pci_bar_kind kind;
	bool prefetch;
};

static const struct fpci_probe_bar fpci_probe_bars[PCI_NUM_BARS] = {
	{ 32, PCI_BAR_IO, false },	   { 4096, PCI_BAR_MEM32, false },
	{ 1u << 20, PCI_BAR_MEM64, true }, { 0 },
	{ 4, PCI_BAR_IO, false },	   { 1ull << 31, PCI_BAR_MEM32, true },
};

struct fpci_probe {
	struct pci_dev pci;
	struct platform *p;
	u64 told[PCI_NUM_BARS];	   /* the address of the last bar_remap, or UNMAPPED */
	bool mapped[PCI_NUM_BARS]; /* we hold a bus range at told[] */
};

struct fpci {
	struct fuzz_pc pc;
	struct fuzz_disk disk;
	struct piix *piix;
	struct piix4_pm *pm;
	struct virtio_blk *blk;
	struct ahci *ahci;
	struct fpci_probe probe;
	struct pci_dev *devs[6];
	u8 ident[6][16]; /* config bytes 0x00-0x0f of each function at set-up */
};

static const unsigned fpci_devfns[6] = { 0x00, 0x08, 0x18, 0x20, 0x28, 0x0b };

static u64 fpci_probe_read(void *dev, u64 off, unsigned size)
{
	(void)dev;
	return off ^ size;
}

static void fpci_probe_write(void *dev, u64 off, unsigned size, u64 val)
{
	(void)dev;
	(void)off;
	(void)size;
	(void)val;
}

static const struct io_ops fpci_probe_io = {
	.read = fpci_probe_read,
	.write = fpci_probe_write,
	.min_size = 1,
	.max_size = 8,
};

static void fpci_probe_remap(struct pci_dev *d, unsigned bar, u64 old_addr, u64 new_addr)
{
	struct fpci_probe *pr = container_of(d, struct fpci_probe, pci);
	const struct fpci_probe_bar *b = &fpci_probe_bars[bar];
	struct bus *bus = b->kind == PCI_BAR_IO ? &pr->p->pio : &pr->p->mmio;

	FUZZ_CHECK(bar < PCI_NUM_BARS && b->size);
	FUZZ_CHECK(old_addr == pr->told[bar]);
	FUZZ_CHECK(old_addr != new_addr);
	if (new_addr != PCI_BAR_UNMAPPED) {
		FUZZ_CHECK(new_addr && !(new_addr & (b->size - 1)));
		FUZZ_CHECK(new_addr + b->size > new_addr);
		FUZZ_CHECK(b->kind != PCI_BAR_IO || new_addr + b->size <= 0x10000);
		FUZZ_CHECK(b->kind != PCI_BAR_MEM32 || new_addr + b->size <= 1ull << 32);
	}
	if (pr->mapped[bar])
		FUZZ_CHECK(bus_unmap(bus, old_addr) == 0);
	pr->told[bar] = new_addr;
	pr->mapped[bar] = new_addr != PCI_BAR_UNMAPPED &&
			  bus_map(bus, new_addr, b->size, &fpci_probe_io, pr, "probe") == 0;
}

static const struct pci_dev_ops fpci_probe_ops = { .bar_remap = fpci_probe_remap };

static int fpci_probe_init(struct fpci *f)
{
	struct pci_id id = { .vendor = 0x1234, .device = 0x5678, .class_code = 0xff0000 };
	struct fpci_probe *pr = &f->probe;
	int cap;

	pci_dev_init(&pr->pci, "probe", &id, &fpci_probe_ops);
	pr->p = &f->pc.tp.p;
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		const struct fpci_probe_bar *b = &fpci_probe_bars[i];

		pr->told[i] = PCI_BAR_UNMAPPED;
		if (b->size && pci_set_bar(&pr->pci, i, b->size, b->kind, b->prefetch) < 0)
			return -1;
	}
	/* A capability with writable bytes, like MSI: the list must stay walkable. */
	cap = pci_add_capability(&pr->pci, PCI_CAP_ID_MSI, 14);
	if (cap < 0)
		return -1;
	memset(pr->pci.wmask + cap + 2, 0xff, 12);
	return pci_host_add(f->pc.host, &pr->pci, 5, 0, NULL);
}

static void fpci_teardown(struct fpci *f)
{
	struct fpci_probe *pr = &f->probe;

	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct bus *bus =
			fpci_probe_bars[i].kind == PCI_BAR_IO ? &f->pc.tp.p.pio : &f->pc.tp.p.mmio;

		if (pr->mapped[i])
			FUZZ_CHECK(bus_unmap(bus, pr->told[i]) == 0);
	}
	pci_host_remove(f->pc.host, &pr->pci);
	ahci_destroy(f->ahci);
	if (f->blk) {
		pci_host_remove(f->pc.host, virtio_blk_pci(f->blk));
		virtio_blk_destroy(f->blk);
	}
	piix4_pm_destroy(f->pm);
	piix_destroy(f->piix);
	fuzz_disk_close(&f->disk);
	fuzz_pc_destroy(&f->pc);
}

static int fpci_setup(struct fpci *f)
{
	struct virtio_blk_config bc = { .name = "virtio-blk0" };
	struct ahci_config ac = { .name = "ahci0", .dev = 4, .nr_ports = 1 };
	struct piix4_pm_config pc = { .name = "piix4-pm", .pm_base = 0x600 };

	memset(f, 0, sizeof(*f));
	if (fuzz_pc_init(&f->pc, FPCI_RAM, 0, 16) < 0)
		return -1;
	if (fuzz_disk_open(&f->disk, 64 << 10, 512, false) < 0) {
		fuzz_pc_destroy(&f->pc);
		return -1;
	}
	ac.host = f->pc.host;
	pc.host = f->pc.host;
	if (piix_create(f->pc.host, &f->piix, NULL) < 0 || piix4_pm_create(&pc, &f->pm, NULL) < 0 ||
	    virtio_blk_create(&f->pc.tp.p, f->disk.bd, &bc, &f->blk, NULL) < 0 ||
	    pci_host_add(f->pc.host, virtio_blk_pci(f->blk), 3, 0, NULL) < 0 ||
	    ahci_create(&f->pc.tp.p, &ac, &f->ahci, NULL) < 0 || fpci_probe_init(f) < 0) {
		fpci_teardown(f);
		return -1;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(fpci_devfns); i++) {
		f->devs[i] = pci_host_find(f->pc.host, fpci_devfns[i] >> 3, fpci_devfns[i] & 7);
		FUZZ_CHECK(f->devs[i]);
		memcpy(f->ident[i], f->devs[i]->config, sizeof(f->ident[i]));
	}
	return 0;
}

/*
 * Where PCI 3.0 6.2.5 says probe BAR i decodes: its space enabled in the command register,
 * not being sized, a nonzero address (the BAR's writable bits) whose window fits its space.
 */
static u64 fpci_expected(const struct pci_dev *d, unsigned i)
{
	const struct fpci_probe_bar *b = &fpci_probe_bars[i];
	u16 cmd = pci_config_get16(d, PCI_COMMAND);
	u64 addr = pci_config_get32(d, PCI_BASE_ADDRESS_0 + 4 * i) & ~(u32)(b->size - 1);
	u64 limit = b->kind == PCI_BAR_IO ? 0x10000 : b->kind == PCI_BAR_MEM32 ? 1ull << 32 : 0;
	bool on = b->kind == PCI_BAR_IO ? cmd & PCI_COMMAND_IO : cmd & PCI_COMMAND_MEMORY;

	if (b->kind == PCI_BAR_IO)
		addr &= ~3ull;
	if (b->kind == PCI_BAR_MEM64)
		addr |= (u64)pci_config_get32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) << 32;
	if (!on || d->bars[i].sizing || (b->kind == PCI_BAR_MEM64 && d->bars[i + 1].sizing) ||
	    !addr || addr + b->size < addr || (limit && addr + b->size > limit))
		return PCI_BAR_UNMAPPED;
	return addr;
}

static void fpci_check(struct fpci *f)
{
	struct fpci_probe *pr = &f->probe;

	for (unsigned i = 0; i < ARRAY_SIZE(fpci_devfns); i++) {
		const u8 *c = f->devs[i]->config, *id = f->ident[i];

		FUZZ_CHECK(!memcmp(c, id, 4));	       /* vendor, device */
		FUZZ_CHECK(!memcmp(c + 8, id + 8, 4)); /* revision, class */
		FUZZ_CHECK(c[PCI_HEADER_TYPE] == id[PCI_HEADER_TYPE]);
	}
	FUZZ_CHECK(pci_config_get32(f->devs[5], PIIX4_PM_PMBA) == 0x601);
	for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
		struct bus *bus;

		if (!fpci_probe_bars[i].size)
			continue;
		FUZZ_CHECK(pci_bar_addr(&pr->pci, i) == pr->told[i]);
		FUZZ_CHECK(pr->told[i] == fpci_expected(&pr->pci, i));
		bus = fpci_probe_bars[i].kind == PCI_BAR_IO ? &f->pc.tp.p.pio : &f->pc.tp.p.mmio;
		if (pr->mapped[i])
			FUZZ_CHECK(bus_claimed(bus, pr->told[i]) &&
				   bus_claimed(bus, pr->told[i] + fpci_probe_bars[i].size - 1));
	}
}

static unsigned fpci_size(u8 sel)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };

	return sizes[sel & 3];
}

/* Mostly existing functions (and their sibling functions), sometimes any devfn. */
static unsigned fpci_devfn(u8 sel)
{
	if (sel & 0x80)
		return sel & 0x7f;
	return fpci_devfns[(sel & 0x7f) % ARRAY_SIZE(fpci_devfns)] | (sel >> 4 & 1);
}

static void fpci_op(struct fpci *f, struct fuzz_in *in)
{
	static const u64 windows[8] = { 0xe0000000ull,
					0xfebf0000ull,
					0xc0000000ull,
					0x80000000ull,
					0x100000000ull,
					0xfec00000ull,
					0,
					0xfffff000ull };
	struct bus *pio = &f->pc.tp.p.pio, *mmio = &f->pc.tp.p.mmio;
	unsigned op = fuzz_u8(in) % FPCI_NR_OPS, devfn, off, size;
	u64 addr;
	u32 val;

	switch (op) {
	case FPCI_OP_PIO: {
		u8 sel = fuzz_u8(in);
		u16 port = sel & 0x80 ? fuzz_u16(in) : (u16)(0xcf8 + (sel & 7));

		size = fpci_size(fuzz_u8(in) % 3);
		val = fuzz_u32(in);
		if (fuzz_u8(in) & 1)
			(void)bus_read(pio, port, size);
		else
			bus_write(pio, port, size, val);
		break;
	}
	case FPCI_OP_CFG:
		devfn = fpci_devfn(fuzz_u8(in));
		off = fuzz_u8(in);
		size = fpci_size(fuzz_u8(in) % 3);
		val = fuzz_u32(in);
		if (fuzz_u8(in) & 1)
			(void)fuzz_cfg_read(&f->pc, devfn, off, size);
		else
			fuzz_cfg_write(&f->pc, devfn, off, size, val);
		break;
	case FPCI_OP_SIZE: {
		u32 old;

		devfn = fpci_devfn(fuzz_u8(in));
		off = PCI_BASE_ADDRESS_0 + 4 * (fuzz_u8(in) % PCI_NUM_BARS);
		old = fuzz_cfg_read(&f->pc, devfn, off, 4);
		fuzz_cfg_write(&f->pc, devfn, off, 4, ~0u);
		(void)fuzz_cfg_read(&f->pc, devfn, off, 4);
		fuzz_cfg_write(&f->pc, devfn, off, 4, old);
		break;
	}
	case FPCI_OP_MMIO:
		addr = windows[fuzz_u8(in) & 7] + fuzz_u32(in);
		size = fpci_size(fuzz_u8(in));
		val = fuzz_u32(in);
		if (fuzz_u8(in) & 1)
			(void)bus_read(mmio, addr, size);
		else
			bus_write(mmio, addr, size, val);
		break;
	case FPCI_OP_RESET:
		pci_host_reset(f->pc.host);
		piix_reset(f->piix);
		piix4_pm_reset(f->pm);
		ahci_reset(f->ahci);
		virtio_blk_reset(f->blk);
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	struct fpci f;

	fuzz_quiet_logs();
	if (fpci_setup(&f) < 0)
		return 0;
	while (fuzz_left(&in)) {
		fpci_op(&f, &in);
		fpci_check(&f);
	}
	if (fuzz_verbose()) {
		fprintf(stderr, "fuzz_pci: %u platform requests, probe BARs", f.pc.tp.nr_reqs);
		for (unsigned i = 0; i < PCI_NUM_BARS; i++)
			fprintf(stderr, " %#llx%s", (unsigned long long)f.probe.told[i],
				f.probe.mapped[i] ? "" : "(-)");
		fprintf(stderr, "\n");
	}
	fpci_teardown(&f);
	return 0;
}
