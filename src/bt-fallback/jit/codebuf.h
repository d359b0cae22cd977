/* SPDX-License-Identifier: MIT */
/*
 * The JIT's code buffer: W^X by a dual mapping. One memfd is mapped twice, once writable (where
 * the JIT writes and patches code) and once executable (where the code runs); no page is ever
 * writable and executable in the same mapping, and after set-up nothing needs a system call
 * (the seccomp sandbox may forbid mmap/mprotect from then on). Space is bump-allocated and
 * given back only all at once (bt_codebuf_reset), when the translations using it are dropped.
 *
 * One buffer belongs to one vCPU; only that vCPU's thread writes or runs it.
 */
#ifndef BT_FALLBACK_JIT_CODEBUF_H
#define BT_FALLBACK_JIT_CODEBUF_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

#include <stddef.h>

struct bt_codebuf {
	u8 *rw; /* writable view */
	u8 *rx; /* executable view, same bytes */
	size_t size, used;
	u64 nr_resets;
};

/*
 * Map a buffer of size bytes (rounded up to pages). 0, or -ENOMEM / the errno of memfd_create or
 * mmap (a host that forbids executable shared mappings refuses here, at set-up).
 */
MUST_CHECK int bt_codebuf_init(struct bt_codebuf *cb, size_t size);
void bt_codebuf_destroy(struct bt_codebuf *cb);

/* size bytes aligned to align (a power of two) in the writable view, or NULL when full. */
void *bt_codebuf_alloc(struct bt_codebuf *cb, size_t size, size_t align);
/* The space from p (returned by bt_codebuf_alloc) on is free again: an allocation shrunk. */
void bt_codebuf_trim(struct bt_codebuf *cb, const void *end);
/* Everything is free again. */
void bt_codebuf_reset(struct bt_codebuf *cb);

/* The executable address of a byte in the writable view, and back. */
static inline void *bt_codebuf_rx(const struct bt_codebuf *cb, const void *rw)
{
	return cb->rx + ((const u8 *)rw - cb->rw);
}

static inline void *bt_codebuf_rw(const struct bt_codebuf *cb, const void *rx)
{
	return cb->rw + ((const u8 *)rx - cb->rx);
}

#endif
