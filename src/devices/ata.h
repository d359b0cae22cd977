/* SPDX-License-Identifier: MIT */
/*
 * ATA and ATAPI devices behind a host adapter (ata.c, atapi.c; the AHCI HBA in ahci.c is the
 * only host for now). The host hands a device one command at a time per command slot as an
 * ATA task file (ATA8-ACS 7 "Command descriptions"; the Register Host-to-Device FIS of SATA
 * 3.x 10.3.4 carries it), plus the 12/16-byte ATAPI packet for PACKET (ATA8-ACS 7.18). The
 * device moves data through the host's copy hooks (for AHCI: the command's PRDT) and reports
 * the ending status and error registers through complete(). Disk I/O goes through blockdev
 * (src/vmdk/blockdev.h) asynchronously: completions arrive from blockdev_poll_completions(),
 * which the owner of the event loop calls with the VM-wide device lock held.
 */
#ifndef DEVICES_ATA_H
#define DEVICES_ATA_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

struct blockdev;
struct state_desc;

/* Status register bits (ATA8-ACS 6.2). */
#define ATA_STATUS_ERR	0x01
#define ATA_STATUS_DRQ	0x08
#define ATA_STATUS_DF	0x20
#define ATA_STATUS_DRDY 0x40
#define ATA_STATUS_BSY	0x80
/* Error register bits (ATA8-ACS 6.3). */
#define ATA_ERROR_ABRT 0x04
#define ATA_ERROR_IDNF 0x10
#define ATA_ERROR_UNC  0x40

/* Commands (ATA8-ACS 7, table B.2). */
#define ATA_CMD_DSM		   0x06
#define ATA_CMD_READ_DMA_EXT	   0x25
#define ATA_CMD_READ_LOG_EXT	   0x2f
#define ATA_CMD_WRITE_DMA_EXT	   0x35
#define ATA_CMD_READ_VERIFY	   0x40
#define ATA_CMD_READ_VERIFY_EXT	   0x42
#define ATA_CMD_READ_FPDMA_QUEUED  0x60
#define ATA_CMD_WRITE_FPDMA_QUEUED 0x61
#define ATA_CMD_DEVICE_RESET	   0x08
#define ATA_CMD_PACKET		   0xa0
#define ATA_CMD_IDENTIFY_PACKET	   0xa1
#define ATA_CMD_SET_MULTIPLE	   0xc6
#define ATA_CMD_READ_DMA	   0xc8
#define ATA_CMD_WRITE_DMA	   0xca
#define ATA_CMD_STANDBY_IMMEDIATE  0xe0
#define ATA_CMD_IDLE_IMMEDIATE	   0xe1
#define ATA_CMD_CHECK_POWER_MODE   0xe5
#define ATA_CMD_FLUSH_CACHE	   0xe7
#define ATA_CMD_FLUSH_CACHE_EXT	   0xea
#define ATA_CMD_IDENTIFY	   0xec
#define ATA_CMD_SET_FEATURES	   0xef

/* Signatures after reset (ATA8-ACS 9.12; AHCI 1.3.1 3.3.9 PxSIG layout). */
#define ATA_SIG_DISK  0x00000101u
#define ATA_SIG_ATAPI 0xeb140101u

#define ATA_SECTOR_SIZE	  512u
#define ATAPI_SECTOR_SIZE 2048u
#define ATA_MAX_SLOTS	  32u
#define ATA_NCQ_DEPTH	  32u

enum ata_kind {
	ATA_KIND_NONE,
	ATA_KIND_DISK,
	ATA_KIND_CDROM,
};

struct ata_config {
	enum ata_kind kind;
	struct blockdev *bd; /* owned by the caller; open read-only for a CD-ROM */
	const char *model;   /* NULL: "VMM HARDDISK" / "VMM DVD-ROM" */
	const char *serial;  /* NULL: "VMM0000<port>" */
	const char *firmware;
	bool trim; /* advertise DATA SET MANAGEMENT (TRIM) on a disk */
};

/* The task file of one command, as the Register H2D FIS carries it (SATA 3.x 10.3.4). */
struct ata_tf {
	u8 command;
	u16 features; /* 7:0 FEATURES, 15:8 FEATURES (exp) */
	u16 count;    /* 7:0 COUNT, 15:8 COUNT (exp) */
	u64 lba;      /* 48 bits */
	u8 device;
	u8 control;
};

enum ata_xfer {
	ATA_XFER_OK,
	ATA_XFER_FAULT, /* the host's buffer could not be used (host bus error / overflow) */
};

struct ata_result {
	u8 status, error;
	u32 bytes;
	bool pio, ncq;
	enum ata_xfer xfer;
	int xfer_errno; /* the host copy hook's error when xfer == ATA_XFER_FAULT */
	u64 lba;	/* for the ending task file */
	u16 count;
};

/* What the device asks of its host. slot is the host's command slot (NCQ tag). */
struct ata_host_ops {
	/* Copy to / from the command's data buffer at byte offset off. 0, or a negative errno
	 * (then the device ends the command with complete(..., ATA_XFER_FAULT)). */
	int (*to_guest)(void *host, unsigned slot, u64 off, const void *buf, size_t len);
	int (*from_guest)(void *host, unsigned slot, u64 off, void *buf, size_t len);
	/* The command ended. bytes were transferred; pio tells a PIO data-in command, whose
	 * ending status the host reports in a PIO Setup FIS. */
	void (*complete)(void *host, unsigned slot, const struct ata_result *res);
};

struct ata_dev;

MUST_CHECK int ata_dev_create(const struct ata_config *cfg, const char *name,
			      const struct ata_host_ops *ops, void *host, struct ata_dev **out,
			      struct err *err);
/* Waits for the device's requests still in flight, then frees it. */
void ata_dev_destroy(struct ata_dev *d);
/* Power-on / COMRESET: pending results are dropped, ATAPI sense set to "power on reset". */
void ata_dev_reset(struct ata_dev *d);
/* The host stopped its command engine: results of requests in flight are dropped. */
void ata_dev_cancel(struct ata_dev *d);
enum ata_kind ata_dev_kind(const struct ata_dev *d);
u32 ata_dev_signature(const struct ata_dev *d);
/* Is this task file an NCQ command (READ/WRITE FPDMA QUEUED)? */
bool ata_tf_is_ncq(const struct ata_tf *tf);

/* The NCQ tag of an NCQ task file (COUNT 7:3). */
static inline unsigned ata_tf_ncq_tag(const struct ata_tf *tf)
{
	return (tf->count >> 3) & 0x1f;
}

/* Start a command; complete() runs from here or from blockdev_poll_completions(). */
void ata_dev_submit(struct ata_dev *d, unsigned slot, const struct ata_tf *tf, const u8 *packet);
/* Requests submitted to the block device and not completed. */
unsigned ata_dev_inflight(const struct ata_dev *d);
/*
 * Wait until no request is in flight, running completions (which may start the commands that
 * were waiting): what a state save does first. 0, or a negative errno with err set.
 */
MUST_CHECK int ata_dev_drain(struct ata_dev *d, struct err *err);

/*
 * State table of struct ata_dev (vmm/state.h), nested in its host's. Saved only with nothing
 * in flight (ata_dev_drain first): requests are not state.
 */
extern const struct state_desc ata_dev_state;

#endif
