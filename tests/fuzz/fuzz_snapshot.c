// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the snapshot state file's reader (snapshot_open, src/vmm/snapshot.c).
 *
 * Input: u32 (little-endian) the memory file's size in 4 KiB pages (taken modulo 16384, so
 * at most 64 MiB, sparse), then the state file's bytes. They are written into a snapshot
 * directory with an empty config.json, which snapshot_open then reads as a restore would.
 * Whatever the input, the reader must not read outside what it loaded (ASan), leak, or
 * misbehave (UBSan), and what it says must hold together (a violation traps): a refusal
 * carries a message naming the directory; an accepted snapshot names an engine and the
 * config text, and the same bytes read twice give the same verdict.
 *
 * Built two ways (tests/fuzz/meson.build): a libFuzzer binary in the clang fuzz tree, and a
 * replay of corpus/snapshot (replay.c) in the normal and sanitizer trees (fuzz-smoke).
 */
#include "fuzz.h"

#include "vmm/snapshot.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static void fuzz_write(const char *name, const void *p, size_t n, u64 size)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(n == 0 || write(fd, p, n) == (ssize_t)n);
	FUZZ_CHECK(ftruncate(fd, (off_t)size) == 0);
	close(fd);
}

/* The directory goes when the process ends. */
static void fuzz_cleanup(void)
{
	static const char *const names[] = { SNAPSHOT_STATE, SNAPSHOT_CONFIG, SNAPSHOT_MEMORY };
	char path[128];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir, names[i]);
		unlink(path);
	}
	rmdir(fuzz_dir);
}

static int fuzz_open_once(int *engine_len)
{
	struct snapshot *s = NULL;
	struct err err = { 0 };
	int ret = snapshot_open(fuzz_dir, &s, &err);

	if (ret < 0) {
		FUZZ_CHECK(!s);
		FUZZ_CHECK(err.msg[0] != 0);
		return ret;
	}
	FUZZ_CHECK(s);
	FUZZ_CHECK(snapshot_config(s) != NULL);
	FUZZ_CHECK(strcmp(snapshot_dir(s), fuzz_dir) == 0);
	*engine_len = (int)strlen(snapshot_engine(s));
	snapshot_close(s);
	return 0;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fuzz_in in = fuzz_in_init(data, size);
	u64 pages = fuzz_uint(&in, 4) % 16384;
	int len1 = -1, len2 = -1, r1, r2;

	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof(fuzz_dir), "/tmp/vmm-fuzz-snapshot-XXXXXX");
		FUZZ_CHECK(mkdtemp(fuzz_dir) != NULL);
		atexit(fuzz_cleanup);
	}
	fuzz_write(SNAPSHOT_STATE, in.p + in.pos, fuzz_left(&in), fuzz_left(&in));
	fuzz_write(SNAPSHOT_CONFIG, "{}", 2, 2);
	fuzz_write(SNAPSHOT_MEMORY, NULL, 0, pages * SNAPSHOT_PAGE);
	r1 = fuzz_open_once(&len1);
	r2 = fuzz_open_once(&len2);
	FUZZ_CHECK(r1 == r2 && len1 == len2);
	return 0;
}
