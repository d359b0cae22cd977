/* SPDX-License-Identifier: MIT */
/*
 * The block-device interface storage devices use (docs/architecture.md, "The seams"): open
 * an image from a spec, submit asynchronous read/write/flush/discard requests, receive their
 * completions on the caller's event loop, query size and geometry, close. Devices never know
 * whether the image is raw or VMDK.
 *
 * Event-loop integration: blockdev_event_fd() is an eventfd that becomes readable when
 * completions are ready; the loop (epoll, level-triggered) then calls
 * blockdev_poll_completions(), which runs the requests' callbacks. No threads are created.
 * Engines: io_uring, libaio, or synchronous (done at submission, completed from the loop).
 *
 * Threading: one blockdev belongs to one thread (the VMM main thread or the image tool);
 * every function here must be called from that thread.
 *
 * Cache modes: writeback = page cache, flush on BLOCKDEV_FLUSH; writethrough = O_DSYNC data
 * files; none = O_DIRECT for raw images (buffers and offsets must then be 512-byte aligned;
 * falls back to buffered on file systems without O_DIRECT) and, for VMDK, O_DIRECT for newly
 * allocated whole grains (metadata stays buffered and is synced on flush).
 *
 * Known limits: writes that allocate VMDK grains and reads of compressed grains are performed
 * synchronously inside blockdev_submit(); raw images, flat extents, allocated grains and reads
 * that fall through to a parent go through the engine. streamOptimized images open read-only
 * (write them with vmm-img convert). Discard punches holes in raw files and is a no-op on VMDK.
 */
#ifndef VMDK_BLOCKDEV_H
#define VMDK_BLOCKDEV_H

#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"

#include <sys/uio.h>

enum blockdev_format {
	BLOCKDEV_FORMAT_AUTO,
	BLOCKDEV_FORMAT_RAW,
	BLOCKDEV_FORMAT_VMDK
};

enum blockdev_cache {
	BLOCKDEV_CACHE_WRITEBACK,
	BLOCKDEV_CACHE_WRITETHROUGH,
	BLOCKDEV_CACHE_NONE
};

struct blockdev_spec {
	const char *path;
	enum blockdev_format format;
	bool readonly;
	enum blockdev_cache cache;
	const char *engine;   /* "auto" (NULL), "io_uring", "libaio", "sync" */
	bool allow_outside;   /* follow extent/parent names outside the image's folder */
	unsigned queue_depth; /* 0 = 128 */
	/*
	 * A guest's disk: with format AUTO, what a guest writes must never change how the next
	 * open interprets the file (docs/security.md). A text descriptor file (it names other
	 * files) is refused: it needs format VMDK. A file probed as raw refuses writes that
	 * would make its first sector probe as VMDK (-EPERM, logged).
	 */
	bool guest_disk;
};

struct blockdev_geometry {
	u32 cylinders, heads, sectors;
	u32 logical_block_size; /* always 512 for now */
};

enum blockdev_op {
	BLOCKDEV_READ,
	BLOCKDEV_WRITE,
	BLOCKDEV_FLUSH,
	BLOCKDEV_DISCARD
};

struct blockdev_req;
typedef void (*blockdev_done_fn)(struct blockdev_req *req, int ret);

/* Owned by the caller and left untouched until its done callback runs. */
struct blockdev_req {
	enum blockdev_op op;
	u64 offset;		 /* bytes */
	const struct iovec *iov; /* READ/WRITE */
	int iovcnt;
	u64 len;	       /* DISCARD; READ/WRITE compute it from iov */
	blockdev_done_fn done; /* ret: 0 or a negative errno */
	void *opaque;
	/* private to the block layer */
	int pending;
	int ret;
	struct blockdev_req *next;
};

struct blockdev;

/* Open per spec. Errors name the file and the reason (hostile images included). */
MUST_CHECK int blockdev_open(const struct blockdev_spec *spec, struct blockdev **out,
			     struct err *err);
/* Waits for requests still in flight, then closes (clearing the VMDK unclean flag). -EBUSY
 * when requests are in flight and waiting for them failed: nothing was released (the kernel
 * may still use their buffers), and the caller may try again later. */
int blockdev_close(struct blockdev *bd);

u64 blockdev_size(const struct blockdev *bd);
void blockdev_geometry(const struct blockdev *bd, struct blockdev_geometry *g);
bool blockdev_readonly(const struct blockdev *bd);
/* RAW or VMDK: what the image was opened as (format AUTO resolved). */
enum blockdev_format blockdev_format(const struct blockdev *bd);
const char *blockdev_engine_name(const struct blockdev *bd);

/*
 * The most requests one block device holds between blockdev_submit and their completion
 * callbacks: as many as the largest virtio-blk can have in flight (16 queues of 1024), so
 * whatever a guest posts, the block layer's pending lists stay bounded.
 */
#define BLOCKDEV_MAX_INFLIGHT 16384u

/* Queue a request. Returns 0 (the callback will run from blockdev_poll_completions) or a
 * negative errno for a request that is invalid (out of range, read-only) or over the
 * BLOCKDEV_MAX_INFLIGHT bound (-EAGAIN: complete some first), whose callback does not run. */
MUST_CHECK int blockdev_submit(struct blockdev *bd, struct blockdev_req *req);

/* The fd to watch for readability. */
int blockdev_event_fd(const struct blockdev *bd);
/* Run the callbacks of completed requests; returns how many, or a negative errno. */
int blockdev_poll_completions(struct blockdev *bd);
/* Block until the event fd fires, then poll completions. */
int blockdev_wait(struct blockdev *bd);
/* Requests submitted and not completed. */
unsigned blockdev_inflight(const struct blockdev *bd);

/* The image file the block device reads and writes (the top of a VMDK chain). */
const char *blockdev_path(const struct blockdev *bd);

/*
 * Snapshots and migration (docs/snapshots.md): operations on a block device with nothing in
 * flight (-EBUSY otherwise), done in place so the device model keeps its struct blockdev.
 *
 * blockdev_snapshot: freeze the current image as it is now and go on in a new VMDK delta
 * child created at child_path (which must not exist; its parentFileNameHint names the frozen
 * image, by bare name when both share a folder). The frozen image is flushed and closed for
 * writing: from now on it is only read, as the child's parent, so it keeps exactly the
 * contents of this moment. Only a writable VMDK image with a descriptor can be frozen so
 * (-EROFS for a read-only device, -ENOTSUP for a raw image). On failure the device goes on
 * with its old image and child_path is removed.
 *
 * blockdev_reopen: flush and close the image and open it again from its files, read-only
 * when readonly (writes then fail with -EROFS), else as it was opened: so another process
 * may take the images over (a migration's source lets go of them before the destination
 * runs) and metadata read before another writer changed the files is read again. On failure
 * the device has no usable image: every request fails with -EIO until a reopen succeeds.
 */
MUST_CHECK int blockdev_snapshot(struct blockdev *bd, const char *child_path, struct err *err);
MUST_CHECK int blockdev_reopen(struct blockdev *bd, bool readonly, struct err *err);

/* Synchronous helpers for tools and tests: submit and run the loop until done. */
MUST_CHECK int blockdev_pread(struct blockdev *bd, void *buf, u64 len, u64 off);
MUST_CHECK int blockdev_pwrite(struct blockdev *bd, const void *buf, u64 len, u64 off);
MUST_CHECK int blockdev_flush(struct blockdev *bd);

#endif
