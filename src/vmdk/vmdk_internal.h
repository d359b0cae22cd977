/* SPDX-License-Identifier: MIT */
/*
 * Internal interfaces of the block layer (src/vmdk): the image model shared by raw and VMDK
 * (a chain of layers, each a list of extents), the descriptor, the hosted sparse extent, and
 * the asynchronous I/O engines. Never included from another room.
 *
 * Spec: VMware "Virtual Disk Format 1.1" (descriptor section 3, hosted sparse extent section 4,
 * stream-optimized section 5) and "Virtual Disk Format 5.0" (zeroed-grain GTE).
 *
 * Threading: an image and its engine belong to one thread (the main thread's event loop or the
 * image tool); nothing here locks.
 */
#ifndef VMDK_VMDK_INTERNAL_H
#define VMDK_VMDK_INTERNAL_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <sys/types.h>
#include <sys/uio.h>

#define VMDK_SECTOR		512u
#define VMDK_MAGIC		0x564d444bu /* "KDMV" little-endian */
#define VMDK_GD_AT_END		0xffffffffffffffffull
#define VMDK_FLAG_NL_TEST	(1u << 0)
#define VMDK_FLAG_RGD		(1u << 1)
#define VMDK_FLAG_ZERO_GTE	(1u << 2)
#define VMDK_FLAG_COMPRESS	(1u << 16)
#define VMDK_FLAG_MARKERS	(1u << 17)
#define VMDK_GTE_ZERO		1u /* zeroed-grain GTE (format 5.0, version >= 2) */
#define VMDK_MARKER_EOS		0u
#define VMDK_MARKER_GT		1u
#define VMDK_MARKER_GD		2u
#define VMDK_MARKER_FOOTER	3u
#define VMDK_MAX_EXTENT_SECTORS (1ull << 32) /* u32 sector offsets in GD/GT */
#define VMDK_MAX_GRAIN_SECTORS	2048u	     /* 1 MiB grains; larger ones are refused */
#define VMDK_MAX_DESC_BYTES	(1u << 20)
#define VMDK_MAX_EXTENTS	4096u
#define VMDK_MAX_CHAIN		64u
#define VMDK_TWOGB_SECTORS	4194304ull /* 2 GiB split size used by twoGbMaxExtent* */
#define VMDK_DESC_SECTORS	20u	   /* embedded descriptor size qemu and we write */
#define VMDK_CID_NONE		0xffffffffu

/* ---- descriptor (vmdk_desc.c) ---------------------------------------------------------- */

enum vmdk_access {
	VMDK_ACCESS_RW,
	VMDK_ACCESS_RDONLY,
	VMDK_ACCESS_NOACCESS
};

enum vmdk_ext_type {
	VMDK_EXT_FLAT,
	VMDK_EXT_SPARSE,
	VMDK_EXT_ZERO,
	VMDK_EXT_VMFS
};

struct vmdk_desc_extent {
	enum vmdk_access access;
	enum vmdk_ext_type type;
	u64 sectors;
	u64 offset; /* FLAT/VMFS: start sector inside the file */
	char *file; /* NULL for ZERO */
};

struct vmdk_desc {
	u32 version;
	u32 cid;
	u32 parent_cid;
	char create_type[40];
	char *parent_hint; /* NULL when not a delta */
	struct vmdk_desc_extent *ext;
	unsigned n_ext;
	char adapter[24];
	char hwversion[24];
	u32 cylinders, heads, sectors;
	char *text; /* the descriptor as read, kept to rewrite the CID line in place */
	size_t text_len;
};

/* Parse descriptor text (need not be NUL-terminated). Strict: unknown extent types, unbalanced
 * quotes, missing fields and sizes out of range are refused with a message in err. */
MUST_CHECK int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d, struct err *err);
void vmdk_desc_free(struct vmdk_desc *d);
/* Produce descriptor text in the layout qemu-img writes (so our images diff cleanly against
 * qemu's). *out is malloc'd and NUL-terminated. */
MUST_CHECK int vmdk_desc_format(const struct vmdk_desc *d, char **out);
/* Replace the value of the `key=` line (CID, parentCID) in d->text with val in hex, yielding
 * a new malloc'd text in *out. -ENOENT when the key is absent. */
MUST_CHECK int vmdk_desc_set_hex(const struct vmdk_desc *d, const char *key, u32 val, char **out,
				 size_t *out_len);
const char *vmdk_ext_type_name(enum vmdk_ext_type t);

/* ---- hosted sparse extent (vmdk_sparse.c, vmdk_stream.c) ------------------------------- */

struct vmdk_sparse_hdr {
	u32 version;
	u32 flags;
	u64 capacity;	 /* sectors */
	u64 grain_size;	 /* sectors */
	u64 desc_offset; /* sectors */
	u64 desc_size;	 /* sectors */
	u32 gtes_per_gt;
	u64 rgd_offset;
	u64 gd_offset;
	u64 overhead;
	u8 unclean;
	u16 compress_alg;
};

struct vmdk_sparse {
	int fd;
	int dfd;       /* the same file with O_DIRECT for aligned grain data (cache=none), or -1 */
	u64 file_size; /* bytes, at open and kept up to date on allocation */
	struct vmdk_sparse_hdr h;
	u64 gd_entries;
	u32 *gd;   /* primary directory as used (reconciled with rgd) */
	u32 *rgd;  /* redundant directory, NULL when the flag is off */
	u32 **gt;  /* lazily loaded primary tables, index by GD entry */
	u32 **rgt; /* lazily loaded redundant tables */
	bool compressed;
	bool readonly;
	bool hdr_is_footer; /* stream file whose live header is the footer at EOF-1024 */
	u64 next_alloc;	    /* byte offset of the next grain to allocate (end of file, aligned) */
	u8 *zbuf;	    /* inflated grain cache for compressed extents */
	u64 zbuf_grain;	    /* grain index cached in zbuf, or ~0 */
	u8 *cbuf;	    /* compressed record buffer */
	size_t cbuf_size;
	const char *name; /* for messages; points into the owning extent */
};

/* Decode and validate a 512-byte header against the size of the file holding it. */
MUST_CHECK int vmdk_sparse_parse_header(const u8 *buf, u64 file_size, struct vmdk_sparse_hdr *h,
					const char *name, struct err *err);
void vmdk_sparse_encode_header(const struct vmdk_sparse_hdr *h, u8 *buf);
/* Open the sparse extent in fd (fd stays owned by the caller). */
MUST_CHECK int vmdk_sparse_open(int fd, const char *name, bool readonly, struct vmdk_sparse **out,
				struct err *err);
void vmdk_sparse_close(struct vmdk_sparse *sp);
/* Read the embedded descriptor (malloc'd, NUL-terminated); -ENOENT when there is none. */
MUST_CHECK int vmdk_sparse_read_desc(struct vmdk_sparse *sp, char **out, size_t *len,
				     struct err *err);
MUST_CHECK int vmdk_sparse_write_desc(struct vmdk_sparse *sp, const char *text, size_t len);

/* Look up the grain holding byte off of the extent: *gte gets the grain table entry
 * (0 unallocated, 1 zeroed, else a sector). Loads the table if needed. */
MUST_CHECK int vmdk_sparse_lookup(struct vmdk_sparse *sp, u64 grain, u32 *gte);
/* Store n full grains (consecutive, in one grain table, all unallocated) at newly allocated
 * space: data first, then the redundant and the primary grain-table entries (and, for a new
 * table, the table before the directory entry). sync adds fdatasync barriers between them. */
MUST_CHECK int vmdk_sparse_alloc_write(struct vmdk_sparse *sp, u64 grain, u32 n, const void *buf,
				       bool sync);
/* Set or clear the uncleanShutdown byte (and sync it). */
MUST_CHECK int vmdk_sparse_set_unclean(struct vmdk_sparse *sp, bool unclean);

struct vmdk_check_result {
	u64 allocated_grains;
	u64 leaked_clusters; /* grain-sized areas in the file that nothing references */
	u64 corruptions;     /* entries past EOF, inside metadata, or shared */
	u64 rgd_mismatch;    /* entries where the redundant copy disagrees */
	u64 repaired;
	u64 leaks_fixed; /* leaked clusters released by repair (only a leaked tail can be) */
};

MUST_CHECK int vmdk_sparse_check(struct vmdk_sparse *sp, bool repair, struct vmdk_check_result *r,
				 struct err *err);

/* Read compressed grain `grain` whose record starts at sector gte into sp->zbuf. */
MUST_CHECK int vmdk_stream_read_grain(struct vmdk_sparse *sp, u64 grain, u32 gte);

/* Create a new sparse extent file in the qemu layout (header, descriptor, rGD, rGTs, GD, GTs,
 * preallocated). */
MUST_CHECK int vmdk_sparse_create(int fd, u64 capacity, bool zeroed_grain, const char *desc,
				  struct err *err);

/* Stream-optimized writer (VMware layout: GD_AT_END, markers, footer, EOS). */
struct vmdk_stream_writer;
MUST_CHECK int vmdk_stream_writer_open(int fd, u64 capacity, const char *desc,
				       struct vmdk_stream_writer **out, struct err *err);
/* Grains must be written in increasing order; all-zero grains are skipped. */
MUST_CHECK int vmdk_stream_writer_grain(struct vmdk_stream_writer *w, u64 grain, const u8 *buf,
					size_t len);
MUST_CHECK int vmdk_stream_writer_close(struct vmdk_stream_writer *w, struct err *err);

/* ---- images (vmdk.c, raw.c) ------------------------------------------------------------ */

struct vmdk_extent {
	enum vmdk_ext_type type;
	u64 start; /* byte offset in the guest-visible disk */
	u64 size;  /* bytes */
	int fd;	   /* -1 for ZERO */
	u64 foff;  /* FLAT: byte offset in the file */
	struct vmdk_sparse *sp;
	char *path;
	bool readonly;
};

struct vmdk_image {
	char *path;
	bool is_vmdk;
	bool readonly;
	bool direct;
	u64 size;
	struct vmdk_extent *ext;
	unsigned n_ext;
	struct vmdk_desc desc;
	int desc_fd;	  /* separate descriptor file, or -1 when embedded in ext[0] */
	bool cid_written; /* CID already renewed since open */
	bool unclean_set;
	struct vmdk_image *parent;
	dev_t dev;
	ino_t ino;
};

struct vmdk_open_opts {
	bool readonly;
	bool allow_outside;  /* extent or parent paths outside the descriptor's folder */
	bool direct;	     /* O_DIRECT data files (raw and flat extents) */
	bool dsync;	     /* O_DSYNC data files (cache=writethrough) */
	bool no_parent;	     /* open a delta alone (for check/info) */
	bool no_auto_repair; /* read-write open of an unclean image: leave repair to check */
	int format;	     /* 0 auto, 1 raw, 2 vmdk */
};

MUST_CHECK int vmdk_image_open(const char *path, const struct vmdk_open_opts *o,
			       struct vmdk_image **out, struct err *err);
/* Would a file whose first n bytes (n <= 512) are b be opened as VMDK by format probing (the
 * sparse magic, or a text descriptor)? */
bool vmdk_probe_is_vmdk(const u8 *b, size_t n);
/* Open a single sparse extent from an fd (fuzzing, tests): no descriptor files followed. */
MUST_CHECK int vmdk_image_open_sparse_fd(int fd, const char *name, struct vmdk_image **out,
					 struct err *err);
/* A raw image on fd (owned from now on, closed on error); path is for messages. */
MUST_CHECK int raw_open(int fd, const char *path, const struct vmdk_open_opts *o,
			struct vmdk_image **out, struct err *err);
/* Open the file behind fd again with other flags (O_DIRECT, O_DSYNC), through /proc/self/fd:
 * the same inode, whatever its name now points at. A new fd, or a negative errno. */
MUST_CHECK int vmdk_reopen(int fd, int flags);
/* Close; clears the unclean flag of images opened for writing. Returns the first error. */
int vmdk_image_close(struct vmdk_image *img);

enum vmdk_map_kind {
	VMDK_MAP_DATA,	     /* bytes at fd/off */
	VMDK_MAP_ZERO,	     /* reads as zeros, masks any parent */
	VMDK_MAP_UNALLOC,    /* not stored here: parent, or zeros without one */
	VMDK_MAP_COMPRESSED, /* inside a deflated grain: go through vmdk_image_pread */
};

struct vmdk_map {
	enum vmdk_map_kind kind;
	int fd;
	u64 foff;
	u64 len;
};

/* Describe the longest run starting at guest byte off (at most len bytes) of one kind and,
 * for DATA, contiguous in one file. */
MUST_CHECK int vmdk_image_map(struct vmdk_image *img, u64 off, u64 len, struct vmdk_map *m);
/* Synchronous reads and writes through the whole chain. Writes allocate grains and renew the
 * CID on the first write. Return 0 or a negative errno. */
MUST_CHECK int vmdk_image_pread(struct vmdk_image *img, void *buf, u64 len, u64 off);
MUST_CHECK int vmdk_image_pwrite(struct vmdk_image *img, const void *buf, u64 len, u64 off);
/* Prepare the image for a write at [off, off+len): renew CID, set the unclean flag. */
MUST_CHECK int vmdk_image_begin_write(struct vmdk_image *img);
MUST_CHECK int vmdk_image_flush(struct vmdk_image *img);
/* Rewrite the descriptor's parentCID (after a commit changed the parent). */
MUST_CHECK int vmdk_image_set_parent_cid(struct vmdk_image *img, u32 cid);
u32 vmdk_random_cid(void);

/* Create files. subformat is a createType; parent (may be NULL) makes a delta child. */
struct vmdk_create_opts {
	const char *subformat; /* NULL = monolithicSparse */
	const char *adapter;   /* NULL = ide */
	const char *hwversion; /* NULL = "4" */
	bool zeroed_grain;
	const char *parent; /* parent file name as written in parentFileNameHint */
	u32 parent_cid;
	/* streamOptimized only: when set, return the open writer and its fd instead of an
	 * empty image; the caller adds grains and calls vmdk_stream_writer_close(). */
	struct vmdk_stream_writer **stream_out;
	int *stream_fd;
};

MUST_CHECK int vmdk_create(const char *path, u64 size, const struct vmdk_create_opts *o,
			   struct err *err);
/*
 * The name of parent as seen from child's folder, for parentFileNameHint: a bare name when
 * both share a folder, else the absolute path (which then needs allow_outside to be
 * followed). Both folders must exist. 0 or a negative errno.
 */
MUST_CHECK int vmdk_parent_hint(const char *child, const char *parent, char *out, size_t cap);

/* The image behind a block device (for the image tool, which needs the map). */
struct blockdev;
struct vmdk_image *blockdev_image(struct blockdev *bd);
/* The largest bounce buffer the block device has allocated so far (tests check the bound). */
size_t blockdev_bounce_peak(const struct blockdev *bd);

/* ---- I/O engines (aio.c, aio_sync.c, aio_uring.c, aio_libaio.c) ------------------------- */

enum aio_kind {
	AIO_READ,
	AIO_WRITE,
	AIO_FDSYNC
};

struct aio_op {
	enum aio_kind kind;
	int fd;
	u64 off;
	struct iovec *iov;
	int iovcnt;
	ssize_t res; /* bytes or negative errno */
	void (*done)(struct aio_op *op);
	struct aio_op *next; /* engine-private queueing */
	void *engine_priv;   /* engine-private (libaio iocb) */
};

struct aio_engine;

struct aio_engine_ops {
	const char *name;
	int (*create)(unsigned depth, struct aio_engine *e);
	int (*submit)(struct aio_engine *e, struct aio_op *op);
	/* Run the completion callbacks of finished operations; returns how many. */
	int (*reap)(struct aio_engine *e);
	void (*destroy)(struct aio_engine *e);
};

struct aio_engine {
	const struct aio_engine_ops *ops;
	int efd; /* eventfd signalled when completions are ready */
	void *priv;
	unsigned inflight;
};

extern const struct aio_engine_ops aio_sync_ops;
extern const struct aio_engine_ops aio_uring_ops;
extern const struct aio_engine_ops aio_libaio_ops;

/* name: "auto", "io_uring", "libaio" or "sync". auto tries io_uring, then libaio, then sync. */
MUST_CHECK int aio_engine_create(const char *name, unsigned depth, struct aio_engine **out,
				 struct err *err);
void aio_engine_destroy(struct aio_engine *e);
/* Signal the engine's eventfd (used for completions produced without the kernel). */
void aio_engine_kick(struct aio_engine *e);
/* Block until the eventfd fires, then reap; returns how many completed or -errno. */
int aio_engine_wait(struct aio_engine *e);
/* Clear the eventfd counter. */
void aio_engine_drain_fd(struct aio_engine *e);

/* Portable little-endian helpers. */
static inline u32 vmdk_le32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static inline u64 vmdk_le64(const u8 *p)
{
	return (u64)vmdk_le32(p) | (u64)vmdk_le32(p + 4) << 32;
}

static inline void vmdk_put32(u8 *p, u32 v)
{
	p[0] = (u8)v, p[1] = (u8)(v >> 8), p[2] = (u8)(v >> 16), p[3] = (u8)(v >> 24);
}

static inline void vmdk_put64(u8 *p, u64 v)
{
	vmdk_put32(p, (u32)v), vmdk_put32(p + 4, (u32)(v >> 32));
}

/* pread/pwrite loops that treat a short transfer as an error (-EIO). */
MUST_CHECK int vmdk_pread_full(int fd, void *buf, size_t len, u64 off);
MUST_CHECK int vmdk_pwrite_full(int fd, const void *buf, size_t len, u64 off);

#endif
