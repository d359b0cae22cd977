// SPDX-License-Identifier: MIT
/*
 * ATAPI CD-ROM command set (see atapi.h). References: SPC-4 (T10/1731-D) 6.4 INQUIRY, 6.29
 * REQUEST SENSE, 6.33 TEST UNIT READY, 4.5.3 fixed-format sense data; SBC-3 5.13 READ
 * CAPACITY(10); MMC-6 (T10/1836-D) 6.2 GET CONFIGURATION with 5.3.1 Profile List and 5.3.2
 * Core features, 6.7 GET EVENT STATUS NOTIFICATION (media class, 6.7.2.5), 6.11 MODE SENSE(10)
 * with 7.8 the CD/DVD capabilities page 2Ah, 6.14 PREVENT ALLOW MEDIUM REMOVAL, 6.15/6.16
 * READ(10)/(12), 6.26 READ TOC/PMA/ATIP formats 0 and 1, 6.39 START STOP UNIT.
 *
 * Not modelled: audio, writing, EVPD pages, READ DISC INFORMATION and the other MMC commands
 * (they answer ILLEGAL REQUEST / INVALID COMMAND OPERATION CODE), and ejecting the medium.
 */
#include "devices/atapi.h"

#include "vmm/state.h"

#include "devices/ata.h"
#include "vmm/base/compiler.h"

#include <string.h>

#define ATAPI_ASC_INVALID_OPCODE 0x20
#define ATAPI_ASC_LBA_RANGE	 0x21
#define ATAPI_ASC_INVALID_FIELD	 0x24
#define ATAPI_ASC_POWER_ON	 0x29
#define ATAPI_ASC_READ_ERROR	 0x11
#define ATAPI_ASC_NO_MEDIUM	 0x3a
#define ATAPI_ASC_REMOVAL_LOCKED 0x53

#define ATAPI_PROFILE_CDROM  0x0008
#define ATAPI_PROFILE_DVDROM 0x0010
/* More than a CD holds (~800 MB): report a DVD. */
#define ATAPI_CD_MAX_SECTORS 400000u

static void atapi_be16(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 8);
	p[1] = (u8)v;
}

static void atapi_be32(u8 *p, u32 v)
{
	atapi_be16(p, v >> 16);
	atapi_be16(p + 2, v);
}

static u32 atapi_get16(const u8 *p)
{
	return (u32)p[0] << 8 | p[1];
}

static u32 atapi_get32(const u8 *p)
{
	return atapi_get16(p) << 16 | atapi_get16(p + 2);
}

static void atapi_sense(struct atapi *s, u8 key, u8 asc, u8 ascq)
{
	s->key = key;
	s->asc = asc;
	s->ascq = ascq;
}

static enum atapi_status atapi_check(struct atapi *s, u8 key, u8 asc)
{
	atapi_sense(s, key, asc, 0);
	return ATAPI_CHECK;
}

void atapi_reset(struct atapi *s, u64 image_bytes)
{
	memset(s, 0, sizeof(*s));
	s->sectors = image_bytes / ATAPI_SECTOR_SIZE;
	s->new_media = s->sectors != 0;
	s->unit_attention = true;
}

void atapi_read_failed(struct atapi *s)
{
	atapi_sense(s, ATAPI_SENSE_MEDIUM_ERROR, ATAPI_ASC_READ_ERROR, 0);
}

u8 atapi_error_reg(const struct atapi *s)
{
	return (u8)(s->key << 4) | ATA_ERROR_ABRT;
}

/* Cut the reply to the allocation length. */
static enum atapi_status atapi_reply(struct atapi_reply *r, u32 len, u32 alloc)
{
	r->len = MIN(len, alloc);
	return ATAPI_GOOD;
}

static enum atapi_status atapi_request_sense(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	u8 *d = r->data;

	d[0] = 0x70; /* current error, fixed format */
	d[2] = s->key;
	d[7] = 10; /* additional sense length */
	d[12] = s->asc;
	d[13] = s->ascq;
	atapi_sense(s, ATAPI_SENSE_NONE, 0, 0);
	return atapi_reply(r, 18, cdb[4]);
}

static void atapi_pad(u8 *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	memset(dst, ' ', len);
	memcpy(dst, src, MIN(n, len));
}

static enum atapi_status atapi_inquiry(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	u8 *d = r->data;

	if (cdb[1] & 1) /* EVPD */
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
	d[0] = 0x05; /* peripheral device type: CD/DVD */
	d[1] = 0x80; /* removable */
	d[2] = 0x05; /* SPC-3 */
	d[3] = 0x32; /* response data format 2 */
	d[4] = 31;   /* additional length */
	atapi_pad(d + 8, "VMM", 8);
	atapi_pad(d + 16, "DVD-ROM", 16);
	atapi_pad(d + 32, "1.0", 4);
	return atapi_reply(r, 36, atapi_get16(cdb + 3));
}

static enum atapi_status atapi_read_capacity(struct atapi *s, struct atapi_reply *r)
{
	atapi_be32(r->data, (u32)MIN(s->sectors - 1, 0xffffffffull));
	atapi_be32(r->data + 4, ATAPI_SECTOR_SIZE);
	r->len = 8;
	return ATAPI_GOOD;
}

static enum atapi_status atapi_read(struct atapi *s, u64 lba, u32 nr, struct atapi_reply *r)
{
	if (lba > s->sectors || nr > s->sectors - lba)
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_LBA_RANGE);
	r->lba = lba;
	r->nr = nr;
	r->len = 0;
	return nr ? ATAPI_READ_DATA : ATAPI_GOOD;
}

/* MODE SENSE(10): the error recovery page 01h and the capabilities page 2Ah. */
static enum atapi_status atapi_mode_sense(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	unsigned page = cdb[2] & 0x3f, len = 8;
	u8 *d = r->data;

	if ((cdb[2] >> 6) == 3) /* saved values */
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, 0x39);
	if (page != 0x01 && page != 0x2a && page != 0x3f)
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
	if (page == 0x01 || page == 0x3f) {
		d[len] = 0x01;
		d[len + 1] = 10;
		d[len + 3] = 3; /* read retry count */
		len += 12;
	}
	if (page == 0x2a || page == 0x3f) {
		u8 *p = d + len;

		p[0] = 0x2a;
		p[1] = 0x12;
		p[2] = 0x08;					    /* reads DVD-ROM */
		p[6] = 0x20 | 0x08 | 0x01 | (s->locked ? 0x02 : 0); /* tray, eject, lock */
		atapi_be16(p + 8, 706 * 4); /* maximum speed, kB/s (obsolete) */
		atapi_be16(p + 10, 2);	    /* volume levels */
		atapi_be16(p + 12, 512);    /* buffer size, KiB */
		atapi_be16(p + 14, 706 * 4);
		len += 20;
	}
	atapi_be16(d, len - 2);		 /* mode data length */
	d[2] = s->sectors ? 0x01 : 0x70; /* medium type: data CD, or no disc */
	return atapi_reply(r, len, atapi_get16(cdb + 7));
}

static u16 atapi_profile(const struct atapi *s)
{
	if (!s->sectors)
		return 0;
	return s->sectors > ATAPI_CD_MAX_SECTORS ? ATAPI_PROFILE_DVDROM : ATAPI_PROFILE_CDROM;
}

/* GET CONFIGURATION: the Profile List (0000h) and Core (0001h) features. */
static enum atapi_status atapi_get_configuration(struct atapi *s, const u8 *cdb,
						 struct atapi_reply *r)
{
	u32 start = atapi_get16(cdb + 2), len = 8;
	unsigned rt = cdb[1] & 3;
	u16 cur = atapi_profile(s);
	u8 *d = r->data;

	if (rt == 3)
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
	atapi_be16(d + 6, cur);
	if (start == 0) {
		u8 *f = d + len;

		f[2] = 0x03; /* persistent, current */
		f[3] = 8;
		atapi_be16(f + 4, ATAPI_PROFILE_DVDROM);
		f[6] = cur == ATAPI_PROFILE_DVDROM;
		atapi_be16(f + 8, ATAPI_PROFILE_CDROM);
		f[10] = cur == ATAPI_PROFILE_CDROM;
		len += 12;
	}
	if (start <= 1 && rt != 2) {
		u8 *f = d + len;

		atapi_be16(f, 0x0001);
		f[2] = 0x0b; /* version 2, persistent, current */
		f[3] = 8;
		atapi_be32(f + 4, 2); /* physical interface: ATAPI */
		f[8] = 0x01;	      /* DBE */
		len += 12;
	}
	atapi_be32(d, len - 4);
	return atapi_reply(r, len, atapi_get16(cdb + 7));
}

static void atapi_put_addr(u8 *p, u64 lba, bool msf)
{
	if (msf) {
		u64 f = lba + 150;

		p[0] = 0;
		p[1] = (u8)(f / (75 * 60));
		p[2] = (u8)(f / 75 % 60);
		p[3] = (u8)(f % 75);
	} else {
		atapi_be32(p, (u32)lba);
	}
}

/* READ TOC/PMA/ATIP formats 0 (TOC) and 1 (session info): one data track. */
static enum atapi_status atapi_read_toc(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	unsigned format = cdb[2] & 0xf, track = cdb[6], len = 4;
	bool msf = cdb[1] & 2;
	u8 *d = r->data;

	if (!s->sectors)
		return atapi_check(s, ATAPI_SENSE_NOT_READY, ATAPI_ASC_NO_MEDIUM);
	if (!format)
		format = cdb[9] >> 6; /* the old SFF-8020 place */
	d[2] = 1;
	d[3] = 1;
	if (format == 0) {
		if (track > 1 && track != 0xaa)
			return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
		if (track <= 1) {
			d[len + 1] = 0x14; /* ADR 1, data track */
			d[len + 2] = 1;
			atapi_put_addr(d + len + 4, 0, msf);
			len += 8;
		}
		d[len + 1] = 0x14;
		d[len + 2] = 0xaa; /* lead-out */
		atapi_put_addr(d + len + 4, s->sectors, msf);
		len += 8;
	} else if (format == 1) {
		d[len + 1] = 0x14;
		d[len + 2] = 1;
		atapi_put_addr(d + len + 4, 0, msf);
		len += 8;
	} else {
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
	}
	atapi_be16(d, len - 2);
	return atapi_reply(r, len, atapi_get16(cdb + 7));
}

/* GET EVENT STATUS NOTIFICATION, polled only, media class. */
static enum atapi_status atapi_event_status(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	u8 *d = r->data;

	if (!(cdb[1] & 1))
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_FIELD);
	d[3] = 0x10; /* supported classes: media */
	if (!(cdb[4] & 0x10)) {
		d[2] = 0x80; /* no event available */
		atapi_be16(d, 2);
		return atapi_reply(r, 4, atapi_get16(cdb + 7));
	}
	d[2] = 0x04; /* media class */
	d[4] = s->new_media ? 0x02 : 0x00;
	d[5] = s->sectors ? 0x02 : 0x00; /* media present */
	s->new_media = false;
	atapi_be16(d, 6);
	return atapi_reply(r, 8, atapi_get16(cdb + 7));
}

static enum atapi_status atapi_start_stop(struct atapi *s, const u8 *cdb)
{
	if ((cdb[4] & 3) == 2 && s->locked) /* eject while locked */
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_REMOVAL_LOCKED);
	return ATAPI_GOOD;
}

/* Commands that report a pending unit attention or a missing medium first. */
static bool atapi_needs_medium(u8 op)
{
	switch (op) {
	case ATAPI_TEST_UNIT_READY:
	case ATAPI_READ_CAPACITY:
	case ATAPI_READ_10:
	case ATAPI_READ_12:
		return true;
	default:
		return false;
	}
}

enum atapi_status atapi_exec(struct atapi *s, const u8 *cdb, struct atapi_reply *r)
{
	u8 op = cdb[0];

	memset(r, 0, sizeof(*r));
	if (atapi_needs_medium(op)) {
		if (s->unit_attention) { /* reported once (SPC-4 6.29: then cleared) */
			s->unit_attention = false;
			return atapi_check(s, ATAPI_SENSE_UNIT_ATTENTION, ATAPI_ASC_POWER_ON);
		}
		if (!s->sectors)
			return atapi_check(s, ATAPI_SENSE_NOT_READY, ATAPI_ASC_NO_MEDIUM);
	}
	if (op != ATAPI_REQUEST_SENSE)
		atapi_sense(s, ATAPI_SENSE_NONE, 0, 0);
	switch (op) {
	case ATAPI_TEST_UNIT_READY:
		return ATAPI_GOOD;
	case ATAPI_REQUEST_SENSE:
		return atapi_request_sense(s, cdb, r);
	case ATAPI_INQUIRY:
		return atapi_inquiry(s, cdb, r);
	case ATAPI_START_STOP_UNIT:
		return atapi_start_stop(s, cdb);
	case ATAPI_PREVENT_ALLOW:
		s->locked = cdb[4] & 1;
		return ATAPI_GOOD;
	case ATAPI_READ_CAPACITY:
		return atapi_read_capacity(s, r);
	case ATAPI_READ_10:
		return atapi_read(s, atapi_get32(cdb + 2), atapi_get16(cdb + 7), r);
	case ATAPI_READ_12:
		return atapi_read(s, atapi_get32(cdb + 2), atapi_get32(cdb + 6), r);
	case ATAPI_READ_TOC:
		return atapi_read_toc(s, cdb, r);
	case ATAPI_GET_CONFIGURATION:
		return atapi_get_configuration(s, cdb, r);
	case ATAPI_GET_EVENT_STATUS:
		return atapi_event_status(s, cdb, r);
	case ATAPI_MODE_SENSE_10:
		return atapi_mode_sense(s, cdb, r);
	case ATAPI_SET_CD_SPEED:
		return ATAPI_GOOD;
	default:
		return atapi_check(s, ATAPI_SENSE_ILLEGAL_REQUEST, ATAPI_ASC_INVALID_OPCODE);
	}
}

static const struct state_field atapi_fields[] = {
	STATE_U64(struct atapi, sectors, STATE_CHECKED),
	STATE_U8(struct atapi, key),
	STATE_U8(struct atapi, asc),
	STATE_U8(struct atapi, ascq),
	STATE_BOOL(struct atapi, locked),
	STATE_BOOL(struct atapi, new_media),
	STATE_BOOL(struct atapi, unit_attention),
	STATE_END,
};

const struct state_desc atapi_state = {
	.name = "atapi",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct atapi),
	.fields = atapi_fields,
};
