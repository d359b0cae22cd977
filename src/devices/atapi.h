/* SPDX-License-Identifier: MIT */
/*
 * The SCSI side of the ATAPI CD-ROM (atapi.c): the MMC/SPC commands Linux's sr driver and
 * SeaBIOS send inside PACKET (ATA8-ACS 7.18), on a read-only image of 2048-byte sectors.
 * Pure: atapi_exec() fills the data-in buffer or asks its caller (ata.c) to read sectors, and
 * keeps the sense data (SPC-4 4.5 "Sense data") for REQUEST SENSE.
 */
#ifndef DEVICES_ATAPI_H
#define DEVICES_ATAPI_H

#include "vmm/base/types.h"

#include <stddef.h>

#define ATAPI_CDB_LEN 12u
/* The largest data-in reply atapi_exec() builds (READ(10)/(12) go through the caller). */
#define ATAPI_REPLY_MAX 256u

/* Sense keys (SPC-4 4.5.6). */
#define ATAPI_SENSE_NONE	    0x0
#define ATAPI_SENSE_NOT_READY	    0x2
#define ATAPI_SENSE_MEDIUM_ERROR    0x3
#define ATAPI_SENSE_ILLEGAL_REQUEST 0x5
#define ATAPI_SENSE_UNIT_ATTENTION  0x6

/* Operation codes (SPC-4 / MMC-6). */
#define ATAPI_TEST_UNIT_READY	0x00
#define ATAPI_REQUEST_SENSE	0x03
#define ATAPI_INQUIRY		0x12
#define ATAPI_START_STOP_UNIT	0x1b
#define ATAPI_PREVENT_ALLOW	0x1e
#define ATAPI_READ_CAPACITY	0x25
#define ATAPI_READ_10		0x28
#define ATAPI_READ_TOC		0x43
#define ATAPI_GET_CONFIGURATION 0x46
#define ATAPI_GET_EVENT_STATUS	0x4a
#define ATAPI_MODE_SENSE_10	0x5a
#define ATAPI_READ_12		0xa8
#define ATAPI_SET_CD_SPEED	0xbb

struct atapi {
	u64 sectors;	     /* 2048-byte sectors of the medium; 0 = no medium */
	u8 key, asc, ascq;   /* current sense */
	bool locked;	     /* PREVENT ALLOW MEDIUM REMOVAL */
	bool new_media;	     /* a media event not yet reported by GET EVENT STATUS */
	bool unit_attention; /* POWER ON, RESET not yet reported */
};

enum atapi_status {
	ATAPI_GOOD,	 /* reply holds len bytes (already cut to the allocation length) */
	ATAPI_CHECK,	 /* CHECK CONDITION: sense set */
	ATAPI_READ_DATA, /* the caller reads nr sectors from lba, then calls atapi_read_done */
};

struct atapi_reply {
	u8 data[ATAPI_REPLY_MAX];
	u32 len;
	u64 lba;
	u32 nr;
};

/* State table of struct atapi (vmm/state.h), nested in the ATA device's. */
extern const struct state_desc atapi_state;

/* Power-on: the next medium access reports UNIT ATTENTION / POWER ON, RESET (29h/00h). */
void atapi_reset(struct atapi *s, u64 image_bytes);
enum atapi_status atapi_exec(struct atapi *s, const u8 *cdb, struct atapi_reply *r);
/* The READ_DATA request failed with a host-side I/O error: set MEDIUM ERROR sense. */
void atapi_read_failed(struct atapi *s);
/* The error register value for a CHECK CONDITION (sense key in 7:4, ABRT). */
u8 atapi_error_reg(const struct atapi *s);

#endif
