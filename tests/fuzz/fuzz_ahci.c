// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the AHCI HBA and its ATA and ATAPI devices (src/devices: ahci.c,
 * ata.c, atapi.c), driven as a hostile guest would: the input is a program of register
 * writes and reads in ABAR, guest-memory writes (command lists, command tables with their
 * FIS, ATAPI packet and PRDT, received-FIS areas, data), whole commands built the way a
 * driver builds them, completions of the block layer's requests, PCI configuration writes
 * (MSI, BAR moves) and HBA resets. Port 0 holds a 64 KiB ATA disk with TRIM, port 1 an ATAPI
 * CD-ROM with a 40 KiB medium (both raw images in memory, fuzz_dev.h), port 2 nothing.
 *
 * Input: one configuration byte (skip the normal set-up, MSI instead of INTx, read-only
 * disk), then operations until the input ends, each an opcode byte and its operands (see
 * enum fah_op).
 *
 * Checks besides the sanitizers: the host heap may not grow past FAH_HEAP_MAX above what
 * the set-up used while the input runs (ata.c promises at most 32 x 1 MiB of transfer
 * buffers per device, requests orphaned by port stops and resets included); every byte of
 * guest RAM the HBA changes is reported to gmem's write hook (fuzz_dma_*); the HBA is
 * destroyed at the end with every request accounted for. Work per input is bounded by its
 * length: the media are small, so every command moves at most 64 KiB.
 */
#include "devices/ahci.h"
#include "devices/ahci_regs.h"
#include "devices/atapi.h"
#include "fuzz_dev.h"

#include <string.h>

#define FAH_RAM	     (256u << 10)
#define FAH_DISK     (64u << 10)
#define FAH_CD	     (20u * ATAPI_SECTOR_SIZE)
#define FAH_PORTS    3
#define FAH_DEV	     4
#define FAH_DEVFN    (FAH_DEV << 3)
#define FAH_ABAR     0xfebf0000ull
#define FAH_CLB	     0x1000ull /* port p: command list at +p*0x400 */
#define FAH_FB	     0x2000ull /* port p: received FIS area at +p*0x100 */
#define FAH_TABLES   0x8000ull /* command table of (port, slot) at +(p*32+slot)*0x100 */
#define FAH_DATA     0x10000ull
#define FAH_MAX_PRD  8u
#define FAH_MSI_ADDR 0xfee00000u
/* Two devices x 32 slots x 1 MiB transfer buffers, and slack for requests and tables. */
#define FAH_HEAP_MAX (80u << 20)

enum fah_op {
	FAH_OP_MEM,	/* le24 gpa, u8 len, bytes */
	FAH_OP_WRITE,	/* le16 off, le32 val: ABAR register write */
	FAH_OP_READ,	/* le16 off: ABAR register read */
	FAH_OP_COMMAND, /* see fah_command */
	FAH_OP_POLL,	/* complete what the block layer finished */
	FAH_OP_CFG,	/* u8 off, u8 size, le32 val: PCI configuration write */
	FAH_OP_RESET,	/* HBA reset as the board does it (system reset) */
	FAH_OP_RESTART, /* u8 port: PxCMD.ST cleared then set again, as libahci's recovery */
	FAH_NR_OPS,
};

#define FAH_CFG_RAW	 0x01 /* no set-up: the operations do everything */
#define FAH_CFG_MSI	 0x02
#define FAH_CFG_READONLY 0x04

struct fah {
	struct fuzz_pc pc;
	struct fuzz_disk disk, cd;
	struct ahci *ahci;
	size_t heap_base;
};

static void fah_reg_write(struct fah *f, unsigned off, u32 val)
{
	bus_write(&f->pc.tp.p.mmio, FAH_ABAR + off, 4, val);
}

static u32 fah_reg_read(struct fah *f, unsigned off)
{
	return (u32)bus_read(&f->pc.tp.p.mmio, FAH_ABAR + off, 4);
}

static unsigned fah_port_reg(unsigned port, unsigned reg)
{
	return AHCI_PORT_BASE + port * AHCI_PORT_SIZE + reg;
}

static void fah_init(struct fah *f, u8 cfg)
{
	fuzz_cfg_write(&f->pc, FAH_DEVFN, PCI_BASE_ADDRESS_0 + 4 * 5, 4, (u32)FAH_ABAR);
	fuzz_cfg_write(&f->pc, FAH_DEVFN, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (cfg & FAH_CFG_MSI) {
		unsigned msi = fuzz_cfg_find_cap(&f->pc, FAH_DEVFN, PCI_CAP_ID_MSI);

		fuzz_cfg_write(&f->pc, FAH_DEVFN, msi + 4, 4, FAH_MSI_ADDR);
		fuzz_cfg_write(&f->pc, FAH_DEVFN, msi + 12, 2, 0x41);
		fuzz_cfg_write(&f->pc, FAH_DEVFN, msi + 2, 2, 1);
	}
	if (cfg & FAH_CFG_RAW)
		return;
	fah_reg_write(f, AHCI_GHC, AHCI_GHC_AE | AHCI_GHC_IE);
	for (unsigned p = 0; p < FAH_PORTS; p++) {
		fah_reg_write(f, fah_port_reg(p, AHCI_PxCLB), (u32)(FAH_CLB + p * 0x400));
		fah_reg_write(f, fah_port_reg(p, AHCI_PxFB), (u32)(FAH_FB + p * 0x100));
		fah_reg_write(f, fah_port_reg(p, AHCI_PxSERR), ~0u);
		fah_reg_write(f, fah_port_reg(p, AHCI_PxIS), ~0u);
		fah_reg_write(f, fah_port_reg(p, AHCI_PxIE), AHCI_PxIE_MASK);
		fah_reg_write(f, fah_port_reg(p, AHCI_PxCMD),
			      AHCI_PxCMD_FRE | AHCI_PxCMD_SUD | AHCI_PxCMD_POD);
		fah_reg_write(f, fah_port_reg(p, AHCI_PxCMD),
			      AHCI_PxCMD_FRE | AHCI_PxCMD_SUD | AHCI_PxCMD_POD | AHCI_PxCMD_ST);
	}
}

static int fah_setup(struct fah *f, u8 cfg)
{
	struct ahci_config ac = { .name = "ahci0", .dev = FAH_DEV, .nr_ports = FAH_PORTS };

	memset(f, 0, sizeof(*f));
	if (fuzz_pc_init(&f->pc, FAH_RAM, FAH_DATA, 2) < 0) /* PRD data: word aligned */
		return -1;
	if (fuzz_disk_open(&f->disk, FAH_DISK, ATA_SECTOR_SIZE, cfg & FAH_CFG_READONLY) < 0)
		goto err_pc;
	if (fuzz_disk_open(&f->cd, FAH_CD, ATAPI_SECTOR_SIZE, true) < 0)
		goto err_disk;
	ac.host = f->pc.host;
	ac.ports[0] = (struct ata_config){ .kind = ATA_KIND_DISK, .bd = f->disk.bd, .trim = true };
	ac.ports[1] = (struct ata_config){ .kind = ATA_KIND_CDROM, .bd = f->cd.bd };
	if (ahci_create(&f->pc.tp.p, &ac, &f->ahci, NULL) < 0)
		goto err_cd;
	fah_init(f, cfg);
	fuzz_dma_start(&f->pc);
	f->heap_base = fuzz_heap_bytes();
	return 0;

err_cd:
	fuzz_disk_close(&f->cd);
err_disk:
	fuzz_disk_close(&f->disk);
err_pc:
	fuzz_pc_destroy(&f->pc);
	return -1;
}

static void fah_teardown(struct fah *f)
{
	ahci_destroy(f->ahci); /* waits for what is in flight */
	fuzz_dma_finish();
	fuzz_disk_close(&f->cd);
	fuzz_disk_close(&f->disk);
	fuzz_pc_destroy(&f->pc);
}

static const u8 fah_commands[] = {
	ATA_CMD_IDENTIFY,
	ATA_CMD_IDENTIFY_PACKET,
	ATA_CMD_READ_DMA_EXT,
	ATA_CMD_WRITE_DMA_EXT,
	ATA_CMD_READ_DMA,
	ATA_CMD_WRITE_DMA,
	ATA_CMD_READ_FPDMA_QUEUED,
	ATA_CMD_WRITE_FPDMA_QUEUED,
	ATA_CMD_FLUSH_CACHE,
	ATA_CMD_FLUSH_CACHE_EXT,
	ATA_CMD_DSM,
	ATA_CMD_SET_FEATURES,
	ATA_CMD_READ_LOG_EXT,
	ATA_CMD_SET_MULTIPLE,
	ATA_CMD_READ_VERIFY,
	ATA_CMD_READ_VERIFY_EXT,
	ATA_CMD_PACKET,
	ATA_CMD_STANDBY_IMMEDIATE,
	ATA_CMD_IDLE_IMMEDIATE,
	ATA_CMD_CHECK_POWER_MODE,
	ATA_CMD_DEVICE_RESET,
};

static const u8 fah_packets[] = {
	ATAPI_TEST_UNIT_READY,	 ATAPI_REQUEST_SENSE,	 ATAPI_INQUIRY,	      ATAPI_START_STOP_UNIT,
	ATAPI_PREVENT_ALLOW,	 ATAPI_READ_CAPACITY,	 ATAPI_READ_10,	      ATAPI_READ_TOC,
	ATAPI_GET_CONFIGURATION, ATAPI_GET_EVENT_STATUS, ATAPI_MODE_SENSE_10, ATAPI_READ_12,
	ATAPI_SET_CD_SPEED,
};

/*
 * u8 port, u8 slot, u8 command selector (an index into fah_commands, else the next byte is
 * the command), u8 header flags (ATAPI, WRITE, a control FIS without C, a wrong FIS type,
 * a short FIS length), le48 lba, le16 count, le16 features, u8 device, u8 control, u8 PRD
 * entries, le32 bytes per entry, 12 bytes of ATAPI packet (byte 0 an index into fah_packets
 * when below its length + 0x80). Writes the header into the port's command list (wherever
 * PxCLB points, if in RAM), the table, the PRDT and issues the slot (PxSACT too for NCQ).
 */
static void fah_command(struct fah *f, struct fuzz_in *in)
{
	unsigned port = fuzz_u8(in) % FAH_PORTS, slot = fuzz_u8(in) & 31, sel = fuzz_u8(in);
	u8 cmd = sel < ARRAY_SIZE(fah_commands) ? fah_commands[sel] : fuzz_u8(in);
	u8 hflags = fuzz_u8(in), fis[20] = { AHCI_FIS_REG_H2D, AHCI_FIS_H2D_C, cmd };
	u64 lba = fuzz_uint(in, 6);
	u16 count = fuzz_u16(in), features = fuzz_u16(in);
	u8 device = fuzz_u8(in), control = fuzz_u8(in);
	unsigned nprd = fuzz_u8(in) % (FAH_MAX_PRD + 1);
	u32 prd_bytes = fuzz_u32(in) & AHCI_PRD_DBC_MASK, dw0;
	u64 clb = (u64)fah_reg_read(f, fah_port_reg(port, AHCI_PxCLBU)) << 32 |
		  fah_reg_read(f, fah_port_reg(port, AHCI_PxCLB));
	u64 table = FAH_TABLES + (port * 32 + slot) * 0x100ull, hdr = clb + slot * 32ull;
	u8 cdb[ATAPI_CDB_LEN];

	fuzz_bytes(in, cdb, sizeof(cdb));
	if (cdb[0] >= 0x80 && cdb[0] - 0x80u < ARRAY_SIZE(fah_packets))
		cdb[0] = fah_packets[cdb[0] - 0x80];
	if (hflags & 0x10)
		fis[1] = 0; /* device control: software reset when control has SRST */
	if (hflags & 0x20)
		fis[0] = AHCI_FIS_REG_D2H;
	fis[3] = (u8)features;
	fis[4] = (u8)lba;
	fis[5] = (u8)(lba >> 8);
	fis[6] = (u8)(lba >> 16);
	fis[7] = device;
	fis[8] = (u8)(lba >> 24);
	fis[9] = (u8)(lba >> 32);
	fis[10] = (u8)(lba >> 40);
	fis[11] = (u8)(features >> 8);
	fis[12] = (u8)count;
	fis[13] = (u8)(count >> 8);
	fis[15] = control;
	memcpy(fuzz_pc_ram(&f->pc, table + AHCI_CT_CFIS), fis, sizeof(fis));
	memcpy(fuzz_pc_ram(&f->pc, table + AHCI_CT_ACMD), cdb, sizeof(cdb));
	for (unsigned i = 0; i < nprd; i++) {
		u64 prd = table + AHCI_CT_PRDT + i * AHCI_PRD_SIZE;

		fuzz_pc_put(&f->pc, prd, fuzz_pc_alloc(&f->pc, (u64)prd_bytes + 1), 8);
		fuzz_pc_put(&f->pc, prd + 8, 0, 4);
		fuzz_pc_put(&f->pc, prd + 12, prd_bytes, 4);
	}
	dw0 = (hflags & 0x40 ? 2u : 5u) | (hflags & 1 ? AHCI_CMD_ATAPI : 0) |
	      (hflags & 2 ? AHCI_CMD_WRITE : 0) | (u32)nprd << 16;
	if (hdr + 32 <= FAH_RAM) {
		fuzz_pc_put(&f->pc, hdr, dw0, 4);
		fuzz_pc_put(&f->pc, hdr + 4, 0, 4);
		fuzz_pc_put(&f->pc, hdr + 8, table, 8);
	}
	fuzz_dma_sync(); /* the driver's writes */
	if (cmd == ATA_CMD_READ_FPDMA_QUEUED || cmd == ATA_CMD_WRITE_FPDMA_QUEUED)
		fah_reg_write(f, fah_port_reg(port, AHCI_PxSACT), 1u << slot);
	fah_reg_write(f, fah_port_reg(port, AHCI_PxCI), 1u << slot);
}

static void fah_poll(struct fah *f)
{
	(void)!blockdev_poll_completions(f->disk.bd);
	(void)!blockdev_poll_completions(f->cd.bd);
}

static void fah_op(struct fah *f, struct fuzz_in *in)
{
	static const unsigned sizes[3] = { 1, 2, 4 };
	unsigned op = fuzz_u8(in) % FAH_NR_OPS, off, size, port;

	switch (op) {
	case FAH_OP_MEM:
		fuzz_pc_mem_op(&f->pc, in);
		break;
	case FAH_OP_WRITE:
		off = fuzz_u16(in) % AHCI_ABAR_SIZE;
		fah_reg_write(f, off & ~3u, fuzz_u32(in));
		break;
	case FAH_OP_READ:
		off = fuzz_u16(in) % AHCI_ABAR_SIZE;
		(void)fah_reg_read(f, off & ~3u);
		break;
	case FAH_OP_COMMAND:
		fah_command(f, in);
		break;
	case FAH_OP_POLL:
		fah_poll(f);
		break;
	case FAH_OP_CFG:
		off = fuzz_u8(in);
		size = sizes[fuzz_u8(in) % 3];
		fuzz_cfg_write(&f->pc, FAH_DEVFN, off, size, fuzz_u32(in));
		break;
	case FAH_OP_RESET:
		ahci_reset(f->ahci);
		break;
	case FAH_OP_RESTART: {
		u32 cmd;

		port = fuzz_u8(in) % FAH_PORTS;
		cmd = fah_reg_read(f, fah_port_reg(port, AHCI_PxCMD));
		fah_reg_write(f, fah_port_reg(port, AHCI_PxCMD), cmd & ~AHCI_PxCMD_ST);
		fah_reg_write(f, fah_port_reg(port, AHCI_PxCMD), cmd | AHCI_PxCMD_ST);
		break;
	}
	}
	fuzz_dma_check();
}

/* FUZZ_LOG: each port's state at the end, to check what a seed reaches. */
static void fah_report(struct fah *f)
{
	fprintf(stderr, "fuzz_ahci: IS %#x, %u MSIs\n", fah_reg_read(f, AHCI_IS), f->pc.tp.nr_msis);
	for (unsigned p = 0; p < FAH_PORTS; p++)
		fprintf(stderr, "  port%u: IS %#x TFD %#x CI %#x SACT %#x CMD %#x\n", p,
			fah_reg_read(f, fah_port_reg(p, AHCI_PxIS)),
			fah_reg_read(f, fah_port_reg(p, AHCI_PxTFD)),
			fah_reg_read(f, fah_port_reg(p, AHCI_PxCI)),
			fah_reg_read(f, fah_port_reg(p, AHCI_PxSACT)),
			fah_reg_read(f, fah_port_reg(p, AHCI_PxCMD)));
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u8 cfg = fuzz_u8(&in);
	struct fah f;

	fuzz_quiet_logs();
	if (fah_setup(&f, cfg) < 0)
		return 0;
	while (fuzz_left(&in)) {
		fah_op(&f, &in);
		FUZZ_CHECK(fuzz_heap_bytes() < f.heap_base + FAH_HEAP_MAX);
	}
	if (fuzz_verbose())
		fah_report(&f);
	fah_teardown(&f);
	return 0;
}
