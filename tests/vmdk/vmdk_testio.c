// SPDX-License-Identifier: MIT
/*
 * Test helper for the 'vmdk' suite: drives images through the block-device interface.
 *   vmdk_testio write FILE BYTE OFF LEN [ENGINE]   write LEN bytes of BYTE at OFF
 *   vmdk_testio crash-writer FILE JOURNAL SEED [ENGINE]
 *       random writes (partial and whole grains, 4 in flight) forever; after each completes,
 *       "seq off len\n" is appended to JOURNAL. Sequence numbers start at SEED * 10^6 + 1. Every 512-byte sector written by write seq
 *       holds {u64 seq, u64 off} then the byte (seq & 0xff) repeated. Meant to be killed -9.
 *   vmdk_testio verify FILE JOURNAL
 *       checks that every sector holds zeros or an intact stamp, and that no sector is older
 *       than the last completed write covering it (a crash left "old or new", never torn or
 *       lost data). Exit 0 if so, 1 with a message otherwise.
 */
#include "vmdk/blockdev.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIO_DEPTH 4
#define TIO_MAXW  (192 * 1024)

struct tio_slot {
	struct blockdev_req req;
	struct iovec iov;
	u8 *buf;
	u64 seq;
	bool busy;
	FILE *journal;
};

static int tio_open(const char *path, bool ro, const char *engine, struct blockdev **bd)
{
	struct blockdev_spec spec = { .path = path, .readonly = ro, .engine = engine };
	struct err err = { 0 };

	if (blockdev_open(&spec, bd, &err) < 0) {
		fprintf(stderr, "vmdk_testio: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static void tio_stamp(u8 *buf, u64 len, u64 off, u64 seq)
{
	for (u64 s = 0; s < len; s += 512) {
		memset(buf + s, (int)(seq & 0xff), 512);
		memcpy(buf + s, &seq, 8);
		u64 o = off + s;
		memcpy(buf + s + 8, &o, 8);
	}
}

static void tio_done(struct blockdev_req *req, int ret)
{
	struct tio_slot *s = req->opaque;

	if (ret < 0) {
		fprintf(stderr, "vmdk_testio: write failed: %s\n", strerror(-ret));
		exit(1);
	}
	fprintf(s->journal, "%llu %llu %llu\n", (unsigned long long)s->seq,
		(unsigned long long)req->offset, (unsigned long long)s->iov.iov_len);
	fflush(s->journal);
	s->busy = false;
}

static int tio_crash_writer(const char *path, const char *jpath, unsigned seed, const char *eng)
{
	struct tio_slot slots[TIO_DEPTH] = { 0 };
	FILE *j = fopen(jpath, "a");
	struct blockdev *bd;
	u64 seq = (u64)seed * 1000000 + 1, size; /* unique across runs */

	if (!j || tio_open(path, false, eng, &bd) < 0)
		return 1;
	size = blockdev_size(bd);
	srand(seed);
	for (int i = 0; i < TIO_DEPTH; i++) {
		slots[i].buf = aligned_alloc(4096, TIO_MAXW);
		slots[i].journal = j;
	}
	for (;;) {
		for (int i = 0; i < TIO_DEPTH; i++) {
			struct tio_slot *s = &slots[i];
			u64 len = (u64)(1 + rand() % (TIO_MAXW / 512)) * 512;
			u64 off = (u64)(rand() % (int)((size - len) / 512 + 1)) * 512;
			bool clash = false;

			if (s->busy)
				continue;
			/* keep in-flight writes disjoint so the journal order is the write order */
			for (int k = 0; k < TIO_DEPTH; k++)
				if (slots[k].busy &&
				    off < slots[k].req.offset + slots[k].iov.iov_len &&
				    slots[k].req.offset < off + len)
					clash = true;
			if (clash)
				continue;
			s->seq = seq++;
			tio_stamp(s->buf, len, off, s->seq);
			s->iov = (struct iovec){ s->buf, len };
			s->req = (struct blockdev_req){ .op = BLOCKDEV_WRITE,
							.offset = off,
							.iov = &s->iov,
							.iovcnt = 1,
							.done = tio_done,
							.opaque = s };
			s->busy = true;
			if (blockdev_submit(bd, &s->req) < 0)
				return 1;
		}
		if (blockdev_wait(bd) < 0)
			return 1;
	}
}

static int tio_verify(const char *path, const char *jpath)
{
	FILE *j = fopen(jpath, "r");
	unsigned long long seq, off, len;
	struct blockdev *bd;
	u64 *last, size, nsec, bad = 0;
	u8 *buf;

	if (!j || tio_open(path, true, "sync", &bd) < 0)
		return 1;
	size = blockdev_size(bd);
	nsec = size / 512;
	last = calloc(nsec, sizeof(u64));
	buf = malloc(1 << 20);
	while (fscanf(j, "%llu %llu %llu", &seq, &off, &len) == 3)
		for (u64 s = off / 512; s < (off + len) / 512 && s < nsec; s++)
			last[s] = MAX(last[s], (u64)seq);
	for (u64 base = 0; base < size; base += 1 << 20) {
		u64 n = MIN((u64)1 << 20, size - base);

		if (blockdev_pread(bd, buf, n, base) < 0) {
			fprintf(stderr, "verify: read error at %llu\n", (unsigned long long)base);
			free(last);
			free(buf);
			return 1;
		}
		for (u64 s = 0; s < n; s += 512) {
			u64 sec = (base + s) / 512, st, so;
			bool zero = true;

			memcpy(&st, buf + s, 8);
			memcpy(&so, buf + s + 8, 8);
			for (int k = 0; k < 512 && zero; k++)
				zero = buf[s + k] == 0;
			if (zero) {
				if (last[sec]) {
					fprintf(stderr, "verify: sector %llu lost write %llu\n",
						(unsigned long long)sec,
						(unsigned long long)last[sec]);
					bad++;
				}
				continue;
			}
			bool intact = so == base + s && st != 0;

			for (int k = 16; k < 512 && intact; k++)
				intact = buf[s + k] == (u8)(st & 0xff);
			if (!intact || st < last[sec]) {
				if (bad++ < 10)
					fprintf(stderr,
						"verify: sector %llu holds %s stamp %llu, last "
						"completed write %llu\n",
						(unsigned long long)sec, intact ? "stale" : "torn",
						(unsigned long long)st,
						(unsigned long long)last[sec]);
			}
		}
	}
	blockdev_close(bd);
	free(last);
	free(buf);
	fclose(j);
	printf("verify: %llu sectors, %llu bad\n", (unsigned long long)nsec,
	       (unsigned long long)bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "write")) {
		u64 off = strtoull(argv[4], NULL, 0), len = strtoull(argv[5], NULL, 0);
		u8 *buf = malloc(len ? len : 1);
		struct blockdev *bd;
		int ret;

		if (!buf || tio_open(argv[2], false, argc > 6 ? argv[6] : NULL, &bd) < 0)
			return 1;
		memset(buf, (int)strtoul(argv[3], NULL, 0), len);
		ret = blockdev_pwrite(bd, buf, len, off);
		if (!ret)
			ret = blockdev_flush(bd);
		if (blockdev_close(bd) < 0 || ret < 0) {
			fprintf(stderr, "vmdk_testio: write: %s\n", strerror(-ret));
			return 1;
		}
		free(buf);
		return 0;
	}
	if (argc >= 5 && !strcmp(argv[1], "crash-writer"))
		return tio_crash_writer(argv[2], argv[3], (unsigned)atoi(argv[4]),
					argc > 5 ? argv[5] : NULL);
	if (argc == 4 && !strcmp(argv[1], "verify"))
		return tio_verify(argv[2], argv[3]);
	fprintf(stderr, "usage: vmdk_testio write|crash-writer|verify ...\n");
	return 64;
}
