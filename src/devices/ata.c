// SPDX-License-Identifier: MIT
/*
 * ATA disk and ATAPI CD-ROM devices (see ata.h). References: ATA8-ACS (T13/1699-D) 7.16
 * IDENTIFY DEVICE with table 22 (the words libata checks: 49 LBA/DMA, 60-61 and 100-103
 * capacity, 75 queue depth, 76 SATA capabilities with NCQ, 80 major version, 82-87 command
 * sets incl. LBA48 and FLUSH CACHE EXT, 88 UDMA modes, 106 sector size, 169 TRIM, 255
 * integrity word), 7.17 IDENTIFY PACKET DEVICE, 7.25/7.61 READ/WRITE DMA EXT and their LBA28
 * forms, 7.28/7.63 READ/WRITE FPDMA QUEUED (NCQ), 7.14 FLUSH CACHE (EXT), 7.48 SET FEATURES
 * (transfer mode, write cache), 7.5 DATA SET MANAGEMENT (TRIM, 512-byte blocks of 8-byte
 * LBA range entries), 7.18 PACKET; errors per 6.3: ABRT for unsupported commands and
 * arguments, IDNF for LBAs beyond the medium. READ LOG EXT (7.24) answers the General Purpose
 * Log directory (A.2) and the NCQ Command Error log 10h (A.14), which libata reads after a
 * queued command failed.
 *
 * Data moves through a bounce buffer of at most ATA_CHUNK_BYTES per command: a long transfer
 * is a chain of block requests, each started from the previous one's completion, so a guest
 * cannot make the VMM allocate more than 32 x 1 MiB. A slot whose block request from before a
 * reset or a port stop is still in flight keeps its buffer: a new command in that slot waits
 * (deferred) until the old request ends, so stopping and starting the port again and again
 * does not pile up buffers either. The host copy hooks check every guest address.
 *
 * With the write cache disabled (SET FEATURES 82h) each write is followed by a flush.
 *
 * Not modelled: CHS addressing, PIO and multiple-sector data commands (READ/WRITE SECTORS:
 * AHCI guests use DMA), logs other than the two below, security, SMART, power
 * states beyond answering STANDBY/IDLE IMMEDIATE and CHECK POWER MODE.
 */
#include "devices/ata.h"

#include "devices/atapi.h"
#include "vmdk/blockdev.h"
#include "vmm/base/log.h"
#include "vmm/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define ATA_CHUNK_BYTES	   (1u << 20)
#define ATA_IDENTIFY_WORDS 256
/* DATA SET MANAGEMENT: blocks of range entries we accept per command (IDENTIFY word 105). */
#define ATA_DSM_MAX_BLOCKS 8u

enum ata_op {
	ATA_OP_READ,
	ATA_OP_WRITE,
	ATA_OP_FLUSH,
	ATA_OP_TRIM,
};

struct ata_req {
	struct blockdev_req br;
	struct iovec iov;
	struct ata_dev *d;
	unsigned slot;
	u64 gen;     /* ata_dev.gen when started; a reset makes the result stale */
	bool in_use; /* a block request is in flight */
	bool ncq, atapi;
	enum ata_op op;
	u64 offset; /* bytes, on the medium */
	u64 total;  /* bytes to move */
	u64 done;   /* bytes moved */
	u64 lba;
	u16 count;
	u8 *buf;    /* ATA_CHUNK_BYTES */
	u8 *ranges; /* TRIM: the range entries */
	unsigned nr_ranges, range;
};

struct ata_dev {
	char name[40];
	enum ata_kind kind;
	struct blockdev *bd;
	char model[41], serial[21], firmware[9];
	bool trim;
	const struct ata_host_ops *ops;
	void *host;
	u64 sectors; /* 512-byte sectors */
	bool write_cache;
	u8 udma_mode; /* 0..6, or 0xff when a MWDMA/PIO mode is selected */
	u8 multiple;
	u64 gen;
	unsigned inflight;
	struct ata_result ncq_err; /* the last failed queued command, for log 10h */
	unsigned ncq_err_tag;
	bool ncq_err_valid;
	struct atapi atapi;
	struct ata_req *reqs[ATA_MAX_SLOTS]; /* allocated on first use */

	/* Commands the host started in a slot whose stale request is still in flight. */
	struct {
		bool valid;
		struct ata_tf tf;
		u8 packet[16];
	} deferred[ATA_MAX_SLOTS];
};

enum ata_kind ata_dev_kind(const struct ata_dev *d)
{
	return d->kind;
}

u32 ata_dev_signature(const struct ata_dev *d)
{
	return d->kind == ATA_KIND_CDROM ? ATA_SIG_ATAPI : ATA_SIG_DISK;
}

unsigned ata_dev_inflight(const struct ata_dev *d)
{
	return d->inflight;
}

bool ata_tf_is_ncq(const struct ata_tf *tf)
{
	return tf->command == ATA_CMD_READ_FPDMA_QUEUED ||
	       tf->command == ATA_CMD_WRITE_FPDMA_QUEUED;
}

static void ata_finish(struct ata_dev *d, unsigned slot, struct ata_result *res)
{
	if (res->ncq && (res->status & ATA_STATUS_ERR)) {
		d->ncq_err = *res;
		d->ncq_err_tag = slot;
		d->ncq_err_valid = true;
	}
	d->ops->complete(d->host, slot, res);
}

static void ata_finish_status(struct ata_dev *d, unsigned slot, bool ncq, u8 error)
{
	struct ata_result res = {
		.status = ATA_STATUS_DRDY | (error ? ATA_STATUS_ERR : 0),
		.error = error,
		.ncq = ncq,
	};

	ata_finish(d, slot, &res);
}

static void ata_abort(struct ata_dev *d, unsigned slot, bool ncq)
{
	ata_finish_status(d, slot, ncq, ATA_ERROR_ABRT);
}

/* ATA strings: space padded, the two bytes of each word swapped (ATA8-ACS 3.2.9). */
static void ata_put_string(u16 *words, const char *s, unsigned nr_words)
{
	size_t n = strlen(s);

	for (unsigned i = 0; i < nr_words * 2; i++) {
		u8 c = i < n ? (u8)s[i] : ' ';

		if (i & 1)
			words[i / 2] |= c;
		else
			words[i / 2] = (u16)(c << 8);
	}
}

static void ata_put_common_ids(const struct ata_dev *d, u16 *w)
{
	ata_put_string(w + 10, d->serial, 10);
	ata_put_string(w + 23, d->firmware, 4);
	ata_put_string(w + 27, d->model, 20);
	w[49] = 1u << 9 | 1u << 8;			      /* LBA, DMA */
	w[53] = 1u << 2 | 1u << 1;			      /* words 64-70 and 88 valid */
	w[63] = 0x0007 | (d->udma_mode == 0xff ? 0x0400 : 0); /* MWDMA 0-2 supported (2 selected) */
	w[64] = 0x0003;					      /* PIO 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x01f0; /* ATA/ATAPI-4 to ATA8-ACS */
	w[88] = 0x007f | (d->udma_mode <= 6 ? 1u << (8 + d->udma_mode) : 0);
}

/* Word 255: signature A5h and a checksum making the 512 bytes sum to 0 (ATA8-ACS 7.16.7.98). */
static void ata_put_checksum(u16 *w)
{
	u8 sum = 0xa5;

	for (unsigned i = 0; i < 255; i++)
		sum = (u8)(sum + (w[i] & 0xff) + (w[i] >> 8));
	w[255] = (u16)(0x00a5 | (u8)-sum << 8);
}

static void ata_identify_disk(const struct ata_dev *d, u16 *w)
{
	u64 lba28 = MIN(d->sectors, 0x0fffffffull);
	u32 cyls = (u32)MIN(d->sectors / (16 * 63), 16383ull);

	w[0] = 0x0040; /* fixed device */
	w[1] = (u16)cyls;
	w[3] = 16;
	w[6] = 63;
	ata_put_common_ids(d, w);
	w[47] = 0x8000 | 16; /* READ/WRITE MULTIPLE: up to 16 sectors */
	w[50] = 0x4000;
	w[54] = (u16)cyls;
	w[55] = 16;
	w[56] = 63;
	w[57] = (u16)(cyls * 16 * 63);
	w[58] = (u16)((cyls * 16 * 63) >> 16);
	w[59] = (u16)(d->multiple ? 0x0100 | d->multiple : 0);
	w[60] = (u16)lba28;
	w[61] = (u16)(lba28 >> 16);
	w[75] = ATA_NCQ_DEPTH - 1;
	w[76] = 1u << 8 | 1u << 2 | 1u << 1;		   /* NCQ, SATA Gen1 and Gen2 speeds */
	w[82] = 1u << 14 | 1u << 5;			   /* NOP, write cache */
	w[83] = 1u << 14 | 1u << 13 | 1u << 12 | 1u << 10; /* FLUSH CACHE (EXT), LBA48 */
	w[84] = 1u << 14 | 1u << 5;			   /* General Purpose Logging */
	w[85] = 1u << 14 | (d->write_cache ? 1u << 5 : 0);
	w[86] = 1u << 13 | 1u << 12 | 1u << 10;
	w[87] = 1u << 14 | 1u << 5;
	for (unsigned i = 0; i < 4; i++)
		w[100 + i] = (u16)(d->sectors >> (16 * i));
	w[106] = 0x4000; /* one 512-byte logical sector per physical sector */
	if (d->trim) {
		w[105] = ATA_DSM_MAX_BLOCKS;
		w[169] = 1; /* DATA SET MANAGEMENT TRIM */
	}
	ata_put_checksum(w);
}

static void ata_identify_packet(const struct ata_dev *d, u16 *w)
{
	w[0] = 0x85c0; /* ATAPI, CD-ROM, removable, 50 us DRQ, 12-byte packets */
	ata_put_common_ids(d, w);
	w[82] = 1u << 14 | 1u << 4; /* NOP, PACKET */
	w[83] = 1u << 14;
	w[84] = 1u << 14;
	w[85] = 1u << 14 | 1u << 4;
	w[86] = 0;
	w[87] = 1u << 14;
	ata_put_checksum(w);
}

/* A PIO data-in command whose data is built here (IDENTIFY, ATAPI replies). */
static void ata_reply(struct ata_dev *d, unsigned slot, const void *buf, size_t len, bool pio)
{
	struct ata_result res = { .status = ATA_STATUS_DRDY, .pio = pio, .bytes = (u32)len };
	int ret = len ? d->ops->to_guest(d->host, slot, 0, buf, len) : 0;

	if (ret < 0) {
		res.status |= ATA_STATUS_ERR;
		res.error = ATA_ERROR_ABRT;
		res.xfer = ATA_XFER_FAULT;
		res.xfer_errno = ret;
		res.bytes = 0;
	}
	ata_finish(d, slot, &res);
}

static void ata_identify(struct ata_dev *d, unsigned slot, bool packet)
{
	u16 w[ATA_IDENTIFY_WORDS] = { 0 };
	u8 buf[ATA_IDENTIFY_WORDS * 2];

	if (packet != (d->kind == ATA_KIND_CDROM)) {
		/* IDENTIFY DEVICE to a packet device aborts with the signature in the task
		 * file (ATA8-ACS 7.16.6), and IDENTIFY PACKET DEVICE to a disk aborts. */
		struct ata_result res = { .status = ATA_STATUS_DRDY | ATA_STATUS_ERR,
					  .error = ATA_ERROR_ABRT };

		if (!packet) {
			res.lba = ATA_SIG_ATAPI >> 8;
			res.count = 1;
		}
		ata_finish(d, slot, &res);
		return;
	}
	if (packet)
		ata_identify_packet(d, w);
	else
		ata_identify_disk(d, w);
	for (unsigned i = 0; i < ATA_IDENTIFY_WORDS; i++) {
		buf[2 * i] = (u8)w[i];
		buf[2 * i + 1] = (u8)(w[i] >> 8);
	}
	ata_reply(d, slot, buf, sizeof(buf), true);
}

static void ata_req_done(struct blockdev_req *br, int ret);
static void ata_run_deferred(struct ata_dev *d, unsigned slot);

static void ata_req_end(struct ata_req *r, u8 error, int xfer_errno)
{
	struct ata_dev *d = r->d;
	struct ata_result res = {
		.status = ATA_STATUS_DRDY | (error ? ATA_STATUS_ERR : 0),
		.error = error,
		.bytes = (u32)r->done,
		.ncq = r->ncq,
		.xfer = xfer_errno ? ATA_XFER_FAULT : ATA_XFER_OK,
		.xfer_errno = xfer_errno,
	};

	if (r->atapi && error && !xfer_errno) {
		atapi_read_failed(&d->atapi);
		res.error = atapi_error_reg(&d->atapi);
	}
	if (error && !r->atapi) {
		res.lba = r->lba;
		res.count = r->count;
	}
	free(r->ranges);
	r->ranges = NULL;
	ata_finish(d, r->slot, &res);
}

/* Submit the next block request of r, or end the command when nothing is left or on error. */
static void ata_req_next(struct ata_req *r)
{
	struct ata_dev *d = r->d;
	u64 len = MIN(r->total - r->done, (u64)ATA_CHUNK_BYTES);
	int ret;

	memset(&r->br, 0, sizeof(r->br));
	r->br.done = ata_req_done;
	r->br.opaque = r;
	r->iov.iov_base = r->buf;
	r->iov.iov_len = len;
	switch (r->op) {
	case ATA_OP_READ:
	case ATA_OP_WRITE:
		r->br.op = r->op == ATA_OP_READ ? BLOCKDEV_READ : BLOCKDEV_WRITE;
		r->br.offset = r->offset + r->done;
		r->br.iov = &r->iov;
		r->br.iovcnt = 1;
		if (r->op == ATA_OP_WRITE) {
			ret = d->ops->from_guest(d->host, r->slot, r->done, r->buf, len);
			if (ret < 0) {
				ata_req_end(r, ATA_ERROR_ABRT, ret);
				return;
			}
		}
		break;
	case ATA_OP_FLUSH:
		r->br.op = BLOCKDEV_FLUSH;
		break;
	case ATA_OP_TRIM: {
		const u8 *e;
		u64 lba = 0;
		u16 n;

		do { /* skip empty entries */
			if (r->range == r->nr_ranges) {
				ata_req_end(r, 0, 0);
				return;
			}
			e = r->ranges + 8 * r->range++;
			lba = 0;
			for (unsigned i = 0; i < 6; i++)
				lba |= (u64)e[i] << (8 * i);
			n = (u16)(e[6] | e[7] << 8);
		} while (!n);
		if (lba > d->sectors || n > d->sectors - lba) {
			ata_req_end(r, ATA_ERROR_ABRT, 0);
			return;
		}
		r->br.op = BLOCKDEV_DISCARD;
		r->br.offset = lba * ATA_SECTOR_SIZE;
		r->br.len = (u64)n * ATA_SECTOR_SIZE;
		break;
	}
	}
	ret = blockdev_submit(d->bd, &r->br);
	if (ret < 0) {
		log_guest("%s: block request failed at submission: %s", d->name, strerror(-ret));
		ata_req_end(r, ATA_ERROR_ABRT, 0);
		return;
	}
	r->in_use = true;
	d->inflight++;
}

static void ata_req_free(struct ata_req *r)
{
	free(r->buf);
	free(r->ranges);
	free(r);
}

static void ata_req_done(struct blockdev_req *br, int ret)
{
	struct ata_req *r = br->opaque;
	struct ata_dev *d = r->d;
	u64 len = r->iov.iov_len;

	r->in_use = false;
	d->inflight--;
	if (r->gen != d->gen) { /* the host reset the device meanwhile */
		free(r->ranges);
		r->ranges = NULL;
		ata_run_deferred(d, r->slot);
		return;
	}
	if (ret < 0) {
		log_guest("%s: I/O error at byte %llu: %s", d->name, (unsigned long long)br->offset,
			  strerror(-ret));
		ata_req_end(r, r->atapi ? ATA_ERROR_ABRT : ATA_ERROR_UNC, 0);
		return;
	}
	if (r->op == ATA_OP_READ) {
		int cret = d->ops->to_guest(d->host, r->slot, r->done, r->buf, len);

		if (cret < 0) {
			ata_req_end(r, ATA_ERROR_ABRT, cret);
			return;
		}
	}
	if (r->op == ATA_OP_READ || r->op == ATA_OP_WRITE)
		r->done += len;
	if (r->op == ATA_OP_WRITE && r->done == r->total && !d->write_cache) {
		r->op = ATA_OP_FLUSH; /* write cache disabled: the data must be on the medium */
		ata_req_next(r);
		return;
	}
	if (r->op == ATA_OP_FLUSH ||
	    ((r->op == ATA_OP_READ || r->op == ATA_OP_WRITE) && r->done == r->total)) {
		ata_req_end(r, 0, 0);
		return;
	}
	ata_req_next(r);
}

static struct ata_req *ata_req_start(struct ata_dev *d, unsigned slot, bool ncq, enum ata_op op)
{
	struct ata_req *r = d->reqs[slot];

	if (!r) {
		r = d->reqs[slot] = calloc(1, sizeof(*r));
		if (!r) {
			log_err("%s: out of memory for a request", d->name);
			ata_abort(d, slot, ncq);
			return NULL;
		}
	}
	if (!r->buf && op != ATA_OP_FLUSH && op != ATA_OP_TRIM) {
		if (posix_memalign((void **)&r->buf, 4096, ATA_CHUNK_BYTES)) {
			r->buf = NULL;
			log_err("%s: out of memory for a transfer buffer", d->name);
			ata_abort(d, slot, ncq);
			return NULL;
		}
	}
	r->d = d;
	r->slot = slot;
	r->gen = d->gen;
	r->ncq = ncq;
	r->atapi = false;
	r->op = op;
	r->offset = r->total = r->done = r->lba = 0;
	r->count = 0;
	return r;
}

/* READ/WRITE DMA (EXT) and FPDMA QUEUED: check the range, then start the chain. */
static void ata_rw(struct ata_dev *d, unsigned slot, const struct ata_tf *tf, bool write, bool ncq,
		   bool lba48)
{
	u64 lba = lba48 ? tf->lba & 0xffffffffffffull : tf->lba & 0x0fffffff;
	u32 n = ncq ? tf->features : (lba48 ? tf->count : tf->count & 0xff);
	struct ata_req *r;

	if (!n)
		n = lba48 || ncq ? 65536 : 256;
	if (lba > d->sectors || n > d->sectors - lba) {
		struct ata_result res = { .status = ATA_STATUS_DRDY | ATA_STATUS_ERR,
					  .error = ATA_ERROR_IDNF | ATA_ERROR_ABRT,
					  .ncq = ncq,
					  .lba = lba };

		log_guest("%s: LBA %llu+%u beyond the last sector %llu", d->name,
			  (unsigned long long)lba, n, (unsigned long long)d->sectors);
		ata_finish(d, slot, &res);
		return;
	}
	if (write && blockdev_readonly(d->bd)) {
		ata_abort(d, slot, ncq);
		return;
	}
	r = ata_req_start(d, slot, ncq, write ? ATA_OP_WRITE : ATA_OP_READ);
	if (!r)
		return;
	r->offset = lba * ATA_SECTOR_SIZE;
	r->total = (u64)n * ATA_SECTOR_SIZE;
	r->lba = lba;
	r->count = (u16)n;
	ata_req_next(r);
}

static void ata_flush(struct ata_dev *d, unsigned slot)
{
	struct ata_req *r = ata_req_start(d, slot, false, ATA_OP_FLUSH);

	if (r)
		ata_req_next(r);
}

/* DATA SET MANAGEMENT with the TRIM bit: COUNT blocks of range entries. */
static void ata_dsm(struct ata_dev *d, unsigned slot, const struct ata_tf *tf)
{
	unsigned blocks = tf->count;
	struct ata_req *r;
	int ret;

	if (!d->trim || !(tf->features & 1) || !blocks || blocks > ATA_DSM_MAX_BLOCKS) {
		ata_abort(d, slot, false);
		return;
	}
	r = ata_req_start(d, slot, false, ATA_OP_TRIM);
	if (!r)
		return;
	r->ranges = malloc(blocks * ATA_SECTOR_SIZE);
	if (!r->ranges) {
		ata_abort(d, slot, false);
		return;
	}
	ret = d->ops->from_guest(d->host, slot, 0, r->ranges, blocks * ATA_SECTOR_SIZE);
	if (ret < 0) {
		ata_req_end(r, ATA_ERROR_ABRT, ret);
		return;
	}
	r->nr_ranges = blocks * ATA_SECTOR_SIZE / 8;
	r->range = 0;
	ata_req_next(r);
}

#define ATA_LOG_DIRECTORY 0x00
#define ATA_LOG_NCQ_ERROR 0x10

/* READ LOG EXT: one 512-byte page of the directory or of the NCQ Command Error log. */
static void ata_read_log(struct ata_dev *d, unsigned slot, const struct ata_tf *tf)
{
	unsigned log = tf->lba & 0xff, page = (tf->lba >> 8) & 0xffff;
	u8 buf[ATA_SECTOR_SIZE] = { 0 };
	u8 sum = 0;

	if (tf->count != 1 || page != 0 || (log != ATA_LOG_DIRECTORY && log != ATA_LOG_NCQ_ERROR)) {
		ata_abort(d, slot, false);
		return;
	}
	if (log == ATA_LOG_DIRECTORY) {
		buf[0] = 0x01; /* GPL version 1 */
		buf[2 * ATA_LOG_NCQ_ERROR] = 1;
		ata_reply(d, slot, buf, sizeof(buf), true);
		return;
	}
	if (d->ncq_err_valid) {
		const struct ata_result *e = &d->ncq_err;

		buf[0] = (u8)d->ncq_err_tag;
		buf[2] = e->status;
		buf[3] = e->error;
		for (unsigned i = 0; i < 3; i++) {
			buf[4 + i] = (u8)(e->lba >> (8 * i));
			buf[8 + i] = (u8)(e->lba >> (24 + 8 * i));
		}
		buf[7] = 0x40;
		buf[12] = (u8)e->count;
		buf[13] = (u8)(e->count >> 8);
		d->ncq_err_valid = false;
	} else {
		buf[0] = 0x80; /* NQ: no queued command failed */
	}
	for (unsigned i = 0; i < sizeof(buf) - 1; i++)
		sum = (u8)(sum + buf[i]);
	buf[511] = (u8)-sum;
	ata_reply(d, slot, buf, sizeof(buf), true);
}

static void ata_set_features(struct ata_dev *d, unsigned slot, const struct ata_tf *tf)
{
	u8 mode = (u8)tf->count;

	switch (tf->features & 0xff) {
	case 0x02: /* enable write cache */
	case 0x82:
		d->write_cache = (tf->features & 0xff) == 0x02;
		break;
	case 0x03: /* set transfer mode */
		if ((mode & 0xf8) == 0x40 && (mode & 7) <= 6)
			d->udma_mode = mode & 7;
		else if ((mode & 0xf8) == 0x20 && (mode & 7) <= 2)
			d->udma_mode = 0xff;
		else if ((mode & 0xf8) != 0x08 && mode > 1)
			goto abort;
		break;
	case 0x55: /* read look-ahead off/on, reverting to defaults off/on */
	case 0xaa:
	case 0x66:
	case 0xcc:
		break;
	default:
		goto abort;
	}
	ata_finish_status(d, slot, false, 0);
	return;

abort:
	log_unimp("%s: SET FEATURES %#x not supported", d->name, tf->features & 0xff);
	ata_abort(d, slot, false);
}

static void ata_packet(struct ata_dev *d, unsigned slot, const struct ata_tf *tf, const u8 *cdb)
{
	struct atapi_reply reply;
	enum atapi_status st = atapi_exec(&d->atapi, cdb, &reply);
	bool pio = !(tf->features & 1);
	struct ata_req *r;

	if (st == ATAPI_CHECK) {
		struct ata_result res = { .status = ATA_STATUS_DRDY | ATA_STATUS_ERR,
					  .error = atapi_error_reg(&d->atapi) };

		ata_finish(d, slot, &res);
		return;
	}
	if (st == ATAPI_GOOD) {
		ata_reply(d, slot, reply.data, reply.len, pio);
		return;
	}
	r = ata_req_start(d, slot, false, ATA_OP_READ);
	if (!r)
		return;
	r->atapi = true;
	r->offset = reply.lba * ATAPI_SECTOR_SIZE;
	r->total = (u64)reply.nr * ATAPI_SECTOR_SIZE;
	ata_req_next(r);
}

static void ata_disk_command(struct ata_dev *d, unsigned slot, const struct ata_tf *tf)
{
	switch (tf->command) {
	case ATA_CMD_IDENTIFY:
		ata_identify(d, slot, false);
		return;
	case ATA_CMD_READ_DMA_EXT:
	case ATA_CMD_WRITE_DMA_EXT:
		ata_rw(d, slot, tf, tf->command == ATA_CMD_WRITE_DMA_EXT, false, true);
		return;
	case ATA_CMD_READ_DMA:
	case ATA_CMD_WRITE_DMA:
		ata_rw(d, slot, tf, tf->command == ATA_CMD_WRITE_DMA, false, false);
		return;
	case ATA_CMD_READ_FPDMA_QUEUED:
	case ATA_CMD_WRITE_FPDMA_QUEUED:
		ata_rw(d, slot, tf, tf->command == ATA_CMD_WRITE_FPDMA_QUEUED, true, true);
		return;
	case ATA_CMD_FLUSH_CACHE:
	case ATA_CMD_FLUSH_CACHE_EXT:
		ata_flush(d, slot);
		return;
	case ATA_CMD_DSM:
		ata_dsm(d, slot, tf);
		return;
	case ATA_CMD_SET_FEATURES:
		ata_set_features(d, slot, tf);
		return;
	case ATA_CMD_READ_LOG_EXT:
		ata_read_log(d, slot, tf);
		return;
	case ATA_CMD_SET_MULTIPLE: {
		u8 n = (u8)tf->count;

		if (n > 16 || (n & (n - 1))) {
			ata_abort(d, slot, false);
			return;
		}
		d->multiple = n;
		ata_finish_status(d, slot, false, 0);
		return;
	}
	case ATA_CMD_READ_VERIFY:
	case ATA_CMD_READ_VERIFY_EXT: {
		bool ext = tf->command == ATA_CMD_READ_VERIFY_EXT;
		u64 lba = ext ? tf->lba & 0xffffffffffffull : tf->lba & 0x0fffffff;
		u32 n = ext ? tf->count : tf->count & 0xff;

		n = n ? n : (ext ? 65536 : 256);
		ata_finish_status(d, slot, false,
				  lba > d->sectors || n > d->sectors - lba ? ATA_ERROR_IDNF : 0);
		return;
	}
	default:
		break;
	}
	log_unimp("%s: ATA command %#x not supported", d->name, tf->command);
	ata_abort(d, slot, ata_tf_is_ncq(tf));
}

void ata_dev_submit(struct ata_dev *d, unsigned slot, const struct ata_tf *tf, const u8 *packet)
{
	if (d->reqs[slot] && d->reqs[slot]->in_use) {
		/* The slot's request from before a reset still runs (the kernel may be writing
		 * its buffer): start this command when that one ends. */
		d->deferred[slot].valid = true;
		d->deferred[slot].tf = *tf;
		if (packet)
			memcpy(d->deferred[slot].packet, packet, sizeof(d->deferred[slot].packet));
		return;
	}
	switch (tf->command) {
	case ATA_CMD_STANDBY_IMMEDIATE:
	case ATA_CMD_IDLE_IMMEDIATE:
	case ATA_CMD_DEVICE_RESET:
		ata_finish_status(d, slot, false, 0);
		return;
	case ATA_CMD_CHECK_POWER_MODE: {
		struct ata_result res = { .status = ATA_STATUS_DRDY, .count = 0xff };

		ata_finish(d, slot, &res);
		return;
	}
	default:
		break;
	}
	if (d->kind == ATA_KIND_DISK) {
		ata_disk_command(d, slot, tf);
		return;
	}
	switch (tf->command) {
	case ATA_CMD_IDENTIFY:
	case ATA_CMD_IDENTIFY_PACKET:
		ata_identify(d, slot, tf->command == ATA_CMD_IDENTIFY_PACKET);
		return;
	case ATA_CMD_PACKET:
		ata_packet(d, slot, tf, packet);
		return;
	case ATA_CMD_SET_FEATURES:
		ata_set_features(d, slot, tf);
		return;
	default:
		log_unimp("%s: ATAPI device: ATA command %#x not supported", d->name, tf->command);
		ata_abort(d, slot, false);
	}
}

/* The slot's stale request ended: start the command that waited for it, if any. */
static void ata_run_deferred(struct ata_dev *d, unsigned slot)
{
	struct ata_tf tf;
	u8 packet[16];

	if (!d->deferred[slot].valid)
		return;
	d->deferred[slot].valid = false;
	tf = d->deferred[slot].tf;
	memcpy(packet, d->deferred[slot].packet, sizeof(packet));
	ata_dev_submit(d, slot, &tf, packet);
}

/* The host forgot its commands: results in flight become stale, waiting ones are dropped. */
static void ata_dev_forget(struct ata_dev *d)
{
	d->gen++;
	for (unsigned i = 0; i < ATA_MAX_SLOTS; i++)
		d->deferred[i].valid = false;
}

void ata_dev_cancel(struct ata_dev *d)
{
	ata_dev_forget(d);
}

void ata_dev_reset(struct ata_dev *d)
{
	ata_dev_forget(d);
	d->ncq_err_valid = false;
	d->write_cache = true;
	d->udma_mode = 6;
	d->multiple = 0;
	if (d->kind == ATA_KIND_CDROM)
		atapi_reset(&d->atapi, d->bd ? blockdev_size(d->bd) : 0);
}

static void ata_copy_id(char *dst, size_t size, const char *src, const char *def)
{
	snprintf(dst, size, "%s", src ? src : def);
}

int ata_dev_create(const struct ata_config *cfg, const char *name, const struct ata_host_ops *ops,
		   void *host, struct ata_dev **out, struct err *err)
{
	struct ata_dev *d;

	if (cfg->kind == ATA_KIND_NONE || !cfg->bd)
		return err_set(err, -EINVAL, "%s: no device kind or image", name);
	d = calloc(1, sizeof(*d));
	if (!d)
		return err_set(err, -ENOMEM, "%s: out of memory", name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->kind = cfg->kind;
	d->bd = cfg->bd;
	d->trim = cfg->kind == ATA_KIND_DISK && cfg->trim;
	d->ops = ops;
	d->host = host;
	d->sectors = blockdev_size(cfg->bd) / ATA_SECTOR_SIZE;
	ata_copy_id(d->model, sizeof(d->model), cfg->model,
		    cfg->kind == ATA_KIND_CDROM ? "VMM DVD-ROM" : "VMM HARDDISK");
	ata_copy_id(d->serial, sizeof(d->serial), cfg->serial, name);
	ata_copy_id(d->firmware, sizeof(d->firmware), cfg->firmware, "1.0");
	ata_dev_reset(d);
	*out = d;
	return 0;
}

void ata_dev_destroy(struct ata_dev *d)
{
	if (!d)
		return;
	ata_dev_forget(d); /* drop the results of what is still in flight */
	while (d->inflight) {
		if (blockdev_wait(d->bd) < 0) {
			log_err("%s: cannot wait for %u requests, leaking them", d->name,
				d->inflight);
			return;
		}
	}
	for (unsigned i = 0; i < ATA_MAX_SLOTS; i++)
		if (d->reqs[i])
			ata_req_free(d->reqs[i]);
	free(d);
}

int ata_dev_drain(struct ata_dev *d, struct err *err)
{
	while (d->inflight) {
		int ret = blockdev_wait(d->bd);

		if (ret < 0)
			return err_set(err, ret, "%s: cannot wait for %u requests in flight: %s",
				       d->name, d->inflight, strerror(-ret));
	}
	return 0;
}

static int ata_dev_pre_save(void *obj, struct err *err)
{
	struct ata_dev *d = obj;
	int ret = ata_dev_drain(d, err);

	for (unsigned i = 0; ret == 0 && i < ATA_MAX_SLOTS; i++)
		if (d->deferred[i].valid)
			ret = err_set(err, -EBUSY, "%s: slot %u still waits for a request", d->name,
				      i);
	return ret;
}

static int ata_dev_post_load(void *obj, u32 version, struct err *err)
{
	struct ata_dev *d = obj;

	(void)version;
	if (d->udma_mode > 6 && d->udma_mode != 0xff)
		return err_set(err, -EINVAL, "%s: transfer mode %#x not valid", d->name,
			       d->udma_mode);
	d->gen++; /* results of anything from before the load are stale */
	return 0;
}

static const struct state_field ata_result_fields[] = {
	STATE_U8(struct ata_result, status),
	STATE_U8(struct ata_result, error),
	STATE_U32(struct ata_result, bytes),
	STATE_BOOL(struct ata_result, pio),
	STATE_BOOL(struct ata_result, ncq),
	STATE_U32(struct ata_result, xfer, STATE_MAX(ATA_XFER_FAULT)),
	STATE_INT(struct ata_result, xfer_errno),
	STATE_U64(struct ata_result, lba),
	STATE_U16(struct ata_result, count),
	STATE_END,
};

static const struct state_desc ata_result_state = {
	.name = "ata-result",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ata_result),
	.fields = ata_result_fields,
};

static const struct state_field ata_dev_fields[] = {
	STATE_HOST(struct ata_dev, name, "the host's name for the port"),
	STATE_U32(struct ata_dev, kind, STATE_CHECKED),
	STATE_HOST(struct ata_dev, bd, "the image (block layer)"),
	STATE_HOST(struct ata_dev, model, "identity from the spec"),
	STATE_HOST(struct ata_dev, serial, "identity from the spec"),
	STATE_HOST(struct ata_dev, firmware, "identity from the spec"),
	STATE_BOOL(struct ata_dev, trim, STATE_CHECKED),
	STATE_HOST(struct ata_dev, ops, "the host's callbacks"),
	STATE_HOST(struct ata_dev, host, "the host's callbacks"),
	STATE_U64(struct ata_dev, sectors, STATE_CHECKED),
	STATE_BOOL(struct ata_dev, write_cache),
	STATE_U8(struct ata_dev, udma_mode),
	STATE_U8(struct ata_dev, multiple, STATE_MAX(16)),
	STATE_HOST(struct ata_dev, gen, "tags results of requests in flight: none after the drain"),
	STATE_HOST(struct ata_dev, inflight, "requests in flight: none after the drain"),
	STATE_STRUCT(struct ata_dev, ncq_err, ata_result_state),
	STATE_U32(struct ata_dev, ncq_err_tag, STATE_MAX(ATA_NCQ_DEPTH - 1)),
	STATE_BOOL(struct ata_dev, ncq_err_valid),
	STATE_STRUCT(struct ata_dev, atapi, atapi_state),
	STATE_HOST(struct ata_dev, reqs, "request buffers: nothing in flight after the drain"),
	STATE_HOST(struct ata_dev, deferred,
		   "commands waiting for a stale request in flight: none after the drain"),
	STATE_END,
};

const struct state_desc ata_dev_state = {
	.name = "ata-device",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct ata_dev),
	.fields = ata_dev_fields,
	.pre_save = ata_dev_pre_save,
	.post_load = ata_dev_post_load,
};
