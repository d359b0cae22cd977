/* SPDX-License-Identifier: MIT */
/*
 * What the libFuzzer targets in tests/fuzz share (docs/fuzzing.md):
 *   - the entry point libFuzzer calls, and an optional one-time set-up;
 *   - a reader that turns the input into the values a target needs: reading past the end
 *     yields zeros, so every input is a valid program for the target;
 *   - FUZZ_CHECK, an invariant that traps (the fuzzer then keeps the input as a crash);
 *   - the host heap in use, so targets can fail inputs that make host memory grow;
 *   - an anonymous in-memory file holding bytes (a disk or kernel image from the input).
 * Built into every target; replay.c adds the main() of the replay builds.
 */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include "vmm/base/types.h"

#include <stddef.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);
/* Optional: libFuzzer and the replay driver call it once before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond)                                                                          \
	do {                                                                                      \
		if (!(cond)) {                                                                    \
			fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                           \
			__builtin_trap();                                                         \
		}                                                                                 \
	} while (0)

struct fuzz_in {
	const u8 *p;
	size_t n, pos;
};

static inline struct fuzz_in fuzz_in_init(const u8 *data, size_t size)
{
	return (struct fuzz_in){ .p = data, .n = size };
}

static inline size_t fuzz_left(const struct fuzz_in *in)
{
	return in->n - in->pos;
}

/* Little-endian values of 1..8 bytes; bytes past the end read as 0. */
u64 fuzz_uint(struct fuzz_in *in, unsigned bytes);

static inline u8 fuzz_u8(struct fuzz_in *in)
{
	return (u8)fuzz_uint(in, 1);
}

static inline u16 fuzz_u16(struct fuzz_in *in)
{
	return (u16)fuzz_uint(in, 2);
}

static inline u32 fuzz_u32(struct fuzz_in *in)
{
	return (u32)fuzz_uint(in, 4);
}

static inline u64 fuzz_u64(struct fuzz_in *in)
{
	return fuzz_uint(in, 8);
}

/* Copy up to len bytes into buf (zero-filling what the input does not have). Returns len. */
size_t fuzz_bytes(struct fuzz_in *in, void *buf, size_t len);

/*
 * Host heap bytes in use (the sanitizer allocator's count under ASan, else mallinfo2), for
 * checks that a guest or a file cannot make host memory grow without bound.
 */
size_t fuzz_heap_bytes(void);

/*
 * An anonymous in-memory file (memfd) holding len bytes of data, and a path that opens it
 * (/proc/self/fd/N, written to path[FUZZ_PATH_MAX]) for code that takes file names; -1 on
 * failure.
 */
#define FUZZ_PATH_MAX 32
int fuzz_memfd(const char *name, const void *data, size_t len, char *path);

/* Quiet the VMM's logs (hostile inputs warn on every call) unless FUZZ_LOG is set. */
void fuzz_quiet_logs(void);
/* FUZZ_LOG is set: targets also say what each input did (to check what a seed reaches). */
bool fuzz_verbose(void);

#endif
