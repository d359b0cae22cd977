// SPDX-License-Identifier: MIT
/*
 * Live migration, pre-copy (migrate.h, docs/snapshots.md): the stream, the source's rounds and
 * the destination's build of the VM.
 *
 * Dirty tracking on the source: every RAM region is mapped again with ACCEL_MEM_LOG_DIRTY
 * (KVM's dirty log; the BT engine's own bitmap, set by its TLB write path) and gmem's
 * on_write hook is wrapped, so pages the VMM itself writes for a device (DMA) are marked in a
 * bitmap of this file's. Both are read, and cleared, once per round. Memory devices own (video
 * RAM: device_ops.memory) goes in the same stream from protocol version 2 on, its pages from
 * the device's own record (device_ops.memory_dirty: the guest's stores through the accelerator's
 * log and the device's own writes), in PAGES frames whose space field names it.
 *
 * The stream is hostile input on both sides: every frame's type and length are checked
 * against what may come at that point and the most that type may carry; pages must lie in
 * one RAM region of the destination's VM; the destination's spec must give the same RAM size
 * and engine, and its state must load (vm_state_load checks every record).
 */
#include "vmm/migrate.h"

#include "vmdk/blockdev.h"
#include "vmm/base/log.h"
#include "vmm/board_disks.h"
#include "vmm/board_pc.h"
#include "vmm/gmem.h"
#include "vmm/loop.h"
#include "vmm/snapshot.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/unix_sock.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"
#include "vmm/vmm.h"
#include "vmm/worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MIG_MAGIC	  "VMMMIGR" /* and a NUL: 8 bytes */
#define MIG_PAGE	  4096u
#define MIG_HDR		  16u
#define MIG_IDLE_MS	  30000 /* a peer silent this long is gone */
#define MIG_POLL_MS	  200	/* between looks at the cancel flag */
#define MIG_CONFIG_MAX	  (1u << 20)
#define MIG_ERROR_MAX	  1024u
#define MIG_BW_DEFAULT	  (1ull << 20) /* bytes per ms before anything was measured */
#define MIG_SETS_MAX	  32
#define BITS_PER_LONG	  (8 * sizeof(unsigned long))
#define MIG_WORDS(pages)  (((pages) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define MIG_PAGES_MAX_LEN (16u + MIGRATE_RUN_PAGES * MIG_PAGE)

enum mig_frame {
	MIG_HELLO = 1,
	MIG_CONFIG,
	MIG_PAGES,
	MIG_STATE,
	MIG_END,
	MIG_READY,
	MIG_GO,
	MIG_ERROR,
};

static const char *const mig_frame_names[] = {
	[MIG_HELLO] = "HELLO", [MIG_CONFIG] = "CONFIG", [MIG_PAGES] = "PAGES",
	[MIG_STATE] = "STATE", [MIG_END] = "END",	[MIG_READY] = "READY",
	[MIG_GO] = "GO",       [MIG_ERROR] = "ERROR",
};

struct mig_addr {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[128]; /* for messages */
};

/* A unix: address's path. */
static const char *mig_unix_path(const struct mig_addr *a)
{
	return ((const struct sockaddr_un *)&a->sa)->sun_path;
}

/* The step the worker asked the main thread for, and its answer. */
enum mig_step {
	MIG_STEP_NONE,
	MIG_STEP_STOP,	 /* source: pause, save the state, let go of the disks */
	MIG_STEP_CREATE, /* destination: create the VM from CONFIG */
	MIG_STEP_LOAD,	 /* destination: take the disks over, load RAM's side effects and state */
};

struct mig_op {
	struct vmm *m;
	bool source;
	struct mig_addr addr;
	int fd, listen_fd;
	unsigned downtime_ms;
	migrate_done_fn done;
	void *opaque;
	struct timespec t0;
	struct migrate_stats stats;
	int ret;
	struct err err;
	bool cancel;	/* set by the main thread: the worker stops */
	bool cancelled; /* the vmm ended it: finish only frees */

	/* worker <-> main thread steps */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum mig_step step;
	bool step_done;
	int step_ret;
	struct err step_err;

	/* source */
	char *config; /* the spec as JSON */
	char engine[16];
	u64 ram_bytes;
	unsigned nr_regions;
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned long *dirty[GMEM_MAX_REGIONS]; /* this round's pages to send */
	unsigned nr_mems;			/* device memory (video RAM) */
	struct platform_mem mems[PLATFORM_MEMS_MAX];
	unsigned long *mem_dirty[PLATFORM_MEMS_MAX];
	bool logging; /* dirty logging and the DMA hook are on */
	bool paused_here, was_running;
	u64 disks_ro; /* bit i: disks[i] reopened read-only for the switch */
	struct state_buf state;
	u32 version; /* agreed */

	/* destination */
	char *in_config;
	char in_engine[16];
	u64 in_ram_bytes;
	u8 *in_state;
	size_t in_state_len;
	char *sets[MIG_SETS_MAX];
	unsigned nr_sets;
	bool created;
	struct unix_sock sock; /* a unix: listener's socket file, removed once accepted */
	bool sock_placed;
};

/* ------------------------------------------------------------------ DMA log */

/*
 * Pages the VMM writes for devices while a migration runs: gmem's on_write is wrapped. One
 * migration per process; old bitmaps are kept until the next migration, since a device thread
 * may still be in the wrapper right after it is unhooked.
 */
static struct {
	void (*old)(void *opaque, u64 gpa, u64 len);
	const struct gmem *mem;
	unsigned long *map[GMEM_MAX_REGIONS];
} mig_dma;

static void mig_dma_written(void *opaque, u64 gpa, u64 len)
{
	const struct gmem *mem = mig_dma.mem;

	for (unsigned i = 0; mem && len && i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];
		u64 first, last;

		if (gpa + len <= r->gpa || gpa >= r->gpa + r->len || !mig_dma.map[i])
			continue;
		first = (MAX(gpa, r->gpa) - r->gpa) / MIG_PAGE;
		last = (MIN(gpa + len, r->gpa + r->len) - 1 - r->gpa) / MIG_PAGE;
		for (u64 p = first; p <= last; p++)
			__atomic_fetch_or(&mig_dma.map[i][p / BITS_PER_LONG],
					  1ul << (p % BITS_PER_LONG), __ATOMIC_RELAXED);
	}
	if (mig_dma.old)
		mig_dma.old(opaque, gpa, len);
}

static u64 mig_elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (u64)(t.tv_sec - t0->tv_sec) * 1000000000ull + (u64)t.tv_nsec - (u64)t0->tv_nsec;
}

/* ----------------------------------------------------------------- addresses */

static int mig_parse_url(const char *url, struct mig_addr *a, struct err *err)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->text, sizeof(a->text), "%s", url);
	if (!strncmp(url, "unix:", 5)) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&a->sa;

		if (!url[5] || strlen(url + 5) >= sizeof(sun->sun_path))
			return err_set(err, -EINVAL, "%s: expected unix:PATH (at most %zu bytes)",
				       url, sizeof(sun->sun_path) - 1);
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, url + 5, strlen(url + 5) + 1);
		a->len = sizeof(*sun);
		return 0;
	}
	if (!strncmp(url, "tcp:", 4)) {
		const char *host = url + 4, *colon;
		char h[64];
		char *end;
		unsigned long port;

		if (*host == '[') {
			const char *close = strchr(host, ']');

			if (!close || close[1] != ':')
				goto bad_tcp;
			colon = close + 1;
			host++;
			if ((size_t)(close - host) >= sizeof(h))
				goto bad_tcp;
			memcpy(h, host, (size_t)(close - host));
			h[close - host] = 0;
		} else {
			colon = strrchr(host, ':');
			if (!colon || (size_t)(colon - host) >= sizeof(h))
				goto bad_tcp;
			memcpy(h, host, (size_t)(colon - host));
			h[colon - host] = 0;
		}
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (errno || *end || !colon[1] || port == 0 || port > 65535)
			goto bad_tcp;
		if (inet_pton(AF_INET, h, &((struct sockaddr_in *)&a->sa)->sin_addr) == 1) {
			struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;

			in->sin_family = AF_INET;
			in->sin_port = htons((u16)port);
			a->len = sizeof(*in);
			return 0;
		}
		if (inet_pton(AF_INET6, h, &((struct sockaddr_in6 *)&a->sa)->sin6_addr) == 1) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((u16)port);
			a->len = sizeof(*in6);
			return 0;
		}
bad_tcp:
		return err_set(err, -EINVAL,
			       "%s: expected tcp:HOST:PORT with a numeric IPv4 address or a "
			       "bracketed IPv6 one, like tcp:192.0.2.1:4444 or tcp:[::1]:4444",
			       url);
	}
	return err_set(err, -EINVAL, "%s: expected unix:PATH or tcp:HOST:PORT", url);
}

/* -------------------------------------------------------------------- stream */

static bool mig_cancelled(struct mig_op *op)
{
	return __atomic_load_n(&op->cancel, __ATOMIC_ACQUIRE);
}

/* Wait until fd is ready for events; -ECANCELED, -ETIMEDOUT after MIG_IDLE_MS. */
static int mig_wait(struct mig_op *op, int fd, short events)
{
	for (int waited = 0; waited < MIG_IDLE_MS; waited += MIG_POLL_MS) {
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (mig_cancelled(op))
			return -ECANCELED;
		n = poll(&p, 1, MIG_POLL_MS);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
	return -ETIMEDOUT;
}

static int mig_send_all(struct mig_op *op, const void *buf, size_t len)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = send(op->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = mig_wait(op, op->fd, POLLOUT);

			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int mig_recv_all(struct mig_op *op, void *buf, size_t len)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = recv(op->fd, p, len, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			int ret = mig_wait(op, op->fd, POLLIN);

			if (ret < 0)
				return ret;
			continue;
		}
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void mig_put_u32(u8 *p, u32 v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (u8)(v >> (8 * i));
}

static void mig_put_u64(u8 *p, u64 v)
{
	for (unsigned i = 0; i < 8; i++)
		p[i] = (u8)(v >> (8 * i));
}

static u32 mig_get_u32(const u8 *p)
{
	return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

static u64 mig_get_u64(const u8 *p)
{
	return (u64)mig_get_u32(p) | (u64)mig_get_u32(p + 4) << 32;
}

/* A frame: header, then head (the small fixed part) and body (e.g. page data). */
static int mig_send_frame(struct mig_op *op, enum mig_frame type, const void *head, size_t head_len,
			  const void *body, size_t body_len)
{
	u8 hdr[MIG_HDR];
	int ret;

	mig_put_u32(hdr, type);
	mig_put_u32(hdr + 4, 0);
	mig_put_u64(hdr + 8, head_len + body_len);
	ret = mig_send_all(op, hdr, sizeof(hdr));
	if (ret == 0 && head_len)
		ret = mig_send_all(op, head, head_len);
	if (ret == 0 && body_len)
		ret = mig_send_all(op, body, body_len);
	return ret;
}

static const char *mig_frame_name(u32 type)
{
	return type < ARRAY_SIZE(mig_frame_names) && mig_frame_names[type] ? mig_frame_names[type] :
									     "unknown";
}

/* The most a frame of type may carry. */
static u64 mig_frame_max(u32 type)
{
	switch (type) {
	case MIG_HELLO:
		return 16;
	case MIG_CONFIG:
		return MIG_CONFIG_MAX;
	case MIG_PAGES:
		return MIG_PAGES_MAX_LEN;
	case MIG_STATE:
		return SNAPSHOT_STATE_MAX;
	case MIG_ERROR:
		return MIG_ERROR_MAX;
	default:
		return 0;
	}
}

/*
 * Read a frame header; an ERROR frame from the peer becomes -EPROTO with its text in err, a
 * type not in want (a bit per type) or too long a payload a refusal.
 */
static int mig_recv_header(struct mig_op *op, unsigned want, u32 *type, u64 *len, struct err *err)
{
	u8 hdr[MIG_HDR];
	int ret = mig_recv_all(op, hdr, sizeof(hdr));

	if (ret < 0)
		return err_set(err, ret, "%s: the connection ended: %s", op->addr.text,
			       strerror(-ret));
	*type = mig_get_u32(hdr);
	*len = mig_get_u64(hdr + 8);
	if (*type == MIG_ERROR && *len <= MIG_ERROR_MAX) {
		char text[MIG_ERROR_MAX + 1];

		ret = mig_recv_all(op, text, *len);
		text[ret < 0 ? 0 : *len] = 0;
		return err_set(err, -EPROTO, "%s: the peer refused: %s", op->addr.text,
			       ret < 0 ? "(its message was cut)" : text);
	}
	if (*type >= 32 || !(want & (1u << *type)) || mig_get_u32(hdr + 4) != 0)
		return err_set(err, -EPROTO, "%s: unexpected %s frame (type %u, flags %#x)",
			       op->addr.text, mig_frame_name(*type), *type, mig_get_u32(hdr + 4));
	if (*len > mig_frame_max(*type))
		return err_set(err, -EPROTO, "%s: a %s frame of %llu bytes (at most %llu)",
			       op->addr.text, mig_frame_name(*type), (unsigned long long)*len,
			       (unsigned long long)mig_frame_max(*type));
	return 0;
}

/* Tell the peer why (best effort) before the connection ends. */
static void mig_send_error(struct mig_op *op, const char *msg)
{
	size_t n = strlen(msg);

	if (op->fd >= 0 && !mig_cancelled(op))
		(void)mig_send_frame(op, MIG_ERROR, msg, MIN(n, (size_t)MIG_ERROR_MAX), NULL, 0);
}

static int mig_hello(struct mig_op *op, struct err *err)
{
	u8 mine[16], theirs[16];
	u32 type, v, vmin;
	u64 len;
	int ret;

	memcpy(mine, MIG_MAGIC, 8);
	mig_put_u32(mine + 8, MIGRATE_VERSION);
	mig_put_u32(mine + 12, MIGRATE_VERSION_MIN);
	ret = mig_send_frame(op, MIG_HELLO, mine, sizeof(mine), NULL, 0);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot send: %s", op->addr.text, strerror(-ret));
	ret = mig_recv_header(op, 1u << MIG_HELLO, &type, &len, err);
	if (ret < 0)
		return ret;
	if (len != sizeof(theirs))
		return err_set(err, -EPROTO, "%s: a HELLO of %llu bytes", op->addr.text,
			       (unsigned long long)len);
	ret = mig_recv_all(op, theirs, sizeof(theirs));
	if (ret < 0)
		return err_set(err, ret, "%s: the connection ended: %s", op->addr.text,
			       strerror(-ret));
	if (memcmp(theirs, MIG_MAGIC, 8))
		return err_set(err, -EPROTO, "%s: the peer is not a vmm migration stream",
			       op->addr.text);
	v = mig_get_u32(theirs + 8);
	vmin = mig_get_u32(theirs + 12);
	if (vmin > MIGRATE_VERSION || v < MIGRATE_VERSION_MIN || vmin > v)
		return err_set(err, -EPROTONOSUPPORT,
			       "%s: the peer speaks migration versions %u to %u, this VMM %u to "
			       "%u",
			       op->addr.text, vmin, v, MIGRATE_VERSION_MIN, MIGRATE_VERSION);
	op->version = MIN(v, MIGRATE_VERSION);
	return 0;
}

/* ------------------------------------------------------- worker <-> main steps */

static void mig_step_run(void *opaque);

/* On the worker: have the main thread run step and wait for its answer. */
static int mig_step(struct mig_op *op, enum mig_step step, struct err *err)
{
	int ret;

	pthread_mutex_lock(&op->lock);
	op->step = step;
	op->step_done = false;
	pthread_mutex_unlock(&op->lock);
	while (loop_post(vmm_loop(op->m), mig_step_run, op) < 0)
		usleep(1000);
	pthread_mutex_lock(&op->lock);
	while (!op->step_done && !op->cancel)
		pthread_cond_wait(&op->cond, &op->lock);
	ret = op->step_done ? op->step_ret : -ECANCELED;
	if (op->step_done && ret < 0)
		*err = op->step_err;
	else if (!op->step_done)
		err_set(err, ret, "the migration was cancelled");
	pthread_mutex_unlock(&op->lock);
	return ret;
}

/* ------------------------------------------------------------------- source */

static struct vm *mig_vm(struct mig_op *op)
{
	return vmm_vm(op->m);
}

/* Dirty logging and the DMA hook on (main thread). */
static int mig_log_start(struct mig_op *op, struct err *err)
{
	struct vm *vm = mig_vm(op);
	struct gmem *mem = &vm->plat.mem;
	int ret = 0;

	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++) {
		free(mig_dma.map[i]);
		mig_dma.map[i] = NULL;
	}
	for (unsigned i = 0; i < mem->nr; i++) {
		u64 pages = mem->regions[i].len / MIG_PAGE;

		op->dirty[i] = calloc(MIG_WORDS(pages), sizeof(unsigned long));
		mig_dma.map[i] = calloc(MIG_WORDS(pages), sizeof(unsigned long));
		if (!op->dirty[i] || !mig_dma.map[i])
			return err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < op->nr_mems; i++) {
		op->mem_dirty[i] =
			calloc(MIG_WORDS(op->mems[i].len / MIG_PAGE), sizeof(unsigned long));
		if (!op->mem_dirty[i])
			return err_set(err, -ENOMEM, "out of memory");
		/* What the device wrote so far goes in the first pass: forget it. */
		ret = platform_mem_dirty(&vm->plat, &op->mems[i], op->mem_dirty[i]);
		if (ret < 0)
			return err_set(err, ret, "cannot read what changed in %s's memory: %s",
				       op->mems[i].dev->name, strerror(-ret));
		memset(op->mem_dirty[i], 0,
		       MIG_WORDS(op->mems[i].len / MIG_PAGE) * sizeof(unsigned long));
	}
	for (unsigned i = 0; i < mem->nr && ret == 0; i++) {
		const struct gmem_region *r = &mem->regions[i];

		ret = vm->accel->map_ram(vm->avm, r->gpa, r->len, r->hva, ACCEL_MEM_LOG_DIRTY);
		if (ret < 0) {
			err_set(err, ret, "%s: cannot log dirty pages of RAM at %#llx: %s",
				vm->spec->name, (unsigned long long)r->gpa, strerror(-ret));
			while (i--)
				(void)vm->accel->map_ram(vm->avm, mem->regions[i].gpa,
							 mem->regions[i].len, mem->regions[i].hva,
							 0);
			return ret;
		}
	}
	mig_dma.old = mem->on_write;
	mig_dma.mem = mem;
	__atomic_store_n(&mem->on_write, mig_dma_written, __ATOMIC_RELEASE);
	op->logging = true;
	return 0;
}

/* Dirty logging and the DMA hook off (main thread; the VM paused, or paused for it). */
static void mig_log_stop(struct mig_op *op)
{
	struct vm *vm = mig_vm(op);
	struct gmem *mem;
	struct err err = { 0 };
	bool pause = false;

	if (!op->logging || !vm)
		return;
	mem = &vm->plat.mem;
	pause = vm_state(vm) == VM_STATE_RUNNING;
	if (pause && vm_pause(vm, &err) < 0) {
		log_err("%s", err.msg);
		pause = false;
	}
	__atomic_store_n(&mem->on_write, mig_dma.old, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < mem->nr; i++) {
		const struct gmem_region *r = &mem->regions[i];
		int ret = vm->accel->map_ram(vm->avm, r->gpa, r->len, r->hva, 0);

		if (ret < 0)
			log_err("%s: dirty logging of RAM at %#llx stays on: %s", vm->spec->name,
				(unsigned long long)r->gpa, strerror(-ret));
	}
	if (pause && vm_resume(vm, &err) < 0)
		log_err("%s", err.msg);
	op->logging = false;
}

/* The source's disks back to writable after a failed switch (main thread). */
static void mig_disks_back(struct mig_op *op)
{
	struct vm *vm = mig_vm(op);
	struct board_disks *d = vm ? board_pc_disks(vm->board) : NULL;

	for (unsigned i = 0; d && i < 64; i++) {
		struct blockdev *bd = board_disks_blockdev(d, i);
		struct err err = { 0 };

		if (!(op->disks_ro & (1ull << i)) || !bd)
			continue;
		if (blockdev_reopen(bd, false, &err) < 0)
			log_err("disks[%u]: %s", i, err.msg);
		op->disks_ro &= ~(1ull << i);
	}
}

/* MIG_STEP_STOP on the main thread. */
static int mig_stop_main(struct mig_op *op, struct err *err)
{
	struct vm *vm = mig_vm(op);
	struct board_disks *d;
	int ret;

	if (!vm)
		return err_set(err, -ENOENT, "the VM is gone");
	op->was_running = vm_state(vm) == VM_STATE_RUNNING;
	if (op->was_running) {
		ret = vm_pause(vm, err);
		if (ret < 0)
			return ret;
		op->paused_here = true;
	}
	state_buf_free(&op->state);
	state_buf_init(&op->state);
	ret = vm_state_save(vm, &op->state, err); /* drains the disks */
	if (ret < 0)
		return ret;
	d = board_pc_disks(vm->board);
	for (unsigned i = 0; i < vm->spec->nr_disks; i++) {
		struct blockdev *bd = board_disks_blockdev(d, i);

		if (!bd || vm->spec->disks[i].readonly || blockdev_readonly(bd))
			continue;
		ret = blockdev_reopen(bd, true, err);
		if (ret < 0)
			return err_prefix(err, "disks[%u]", i), ret;
		op->disks_ro |= 1ull << i;
	}
	return 0;
}

/* Collect the pages dirtied since the last call into op->dirty; returns how many. */
static int mig_collect(struct mig_op *op, u64 *pages, struct err *err)
{
	struct vm *vm = mig_vm(op);

	*pages = 0;
	for (unsigned i = 0; i < op->nr_regions; i++) {
		const struct gmem_region *r = &op->regions[i];
		u64 words = MIG_WORDS(r->len / MIG_PAGE);
		unsigned long *log = calloc(words, sizeof(unsigned long));
		int ret;

		if (!log)
			return err_set(err, -ENOMEM, "out of memory");
		ret = vm->accel->dirty_log(vm->avm, r->gpa, r->len, log);
		if (ret < 0) {
			free(log);
			return err_set(err, ret, "cannot read the dirty log of RAM at %#llx: %s",
				       (unsigned long long)r->gpa, strerror(-ret));
		}
		for (u64 w = 0; w < words; w++) {
			op->dirty[i][w] |= log[w] | __atomic_exchange_n(&mig_dma.map[i][w], 0,
									__ATOMIC_RELAXED);
			*pages += (u64)__builtin_popcountl(op->dirty[i][w]);
		}
		free(log);
	}
	for (unsigned i = 0; op->version >= 2 && i < op->nr_mems; i++) {
		u64 words = MIG_WORDS(op->mems[i].len / MIG_PAGE);
		int ret = platform_mem_dirty(&vm->plat, &op->mems[i], op->mem_dirty[i]);

		if (ret < 0)
			return err_set(err, ret, "cannot read what changed in %s's memory: %s",
				       op->mems[i].dev->name, strerror(-ret));
		for (u64 w = 0; w < words; w++)
			*pages += (u64)__builtin_popcountl(op->mem_dirty[i][w]);
	}
	/* A store that had passed its check as a log was read lands before this returns. */
	if (vm->accel->dirty_sync)
		vm->accel->dirty_sync(vm->avm);
	return 0;
}

static bool mig_bit(const unsigned long *map, u64 p)
{
	return map[p / BITS_PER_LONG] & (1ul << (p % BITS_PER_LONG));
}

/*
 * Send the pages of one area set in dirty (cleared as they go), in runs of at most
 * MIGRATE_RUN_PAGES: RAM (space 0, base its guest-physical address) or device memory (space
 * 1 + its index, base 0); skip_zero: leave out pages that are all zeros (the first pass: the
 * destination's memory is zeros).
 */
static int mig_send_area(struct mig_op *op, u32 space, u64 base, u8 *hva, u64 len,
			 unsigned long *dirty, bool skip_zero, struct err *err)
{
	u64 pages = len / MIG_PAGE;

	for (u64 p = 0; p < pages;) {
		u8 head[16];
		u64 n = 0;
		int ret;

		if (!mig_bit(dirty, p) ||
		    (skip_zero && snapshot_page_is_zero(hva + p * MIG_PAGE))) {
			p++;
			continue;
		}
		while (p + n < pages && n < MIGRATE_RUN_PAGES && mig_bit(dirty, p + n) &&
		       !(skip_zero && snapshot_page_is_zero(hva + (p + n) * MIG_PAGE)))
			n++;
		mig_put_u64(head, base + p * MIG_PAGE);
		mig_put_u32(head + 8, (u32)n);
		mig_put_u32(head + 12, space);
		ret = mig_send_frame(op, MIG_PAGES, head, sizeof(head), hva + p * MIG_PAGE,
				     n * MIG_PAGE);
		if (ret < 0)
			return err_set(err, ret, "%s: cannot send: %s", op->addr.text,
				       strerror(-ret));
		op->stats.bytes += n * MIG_PAGE;
		p += n;
	}
	memset(dirty, 0, MIG_WORDS(pages) * sizeof(unsigned long));
	return 0;
}

/* Send the pages set in op->dirty and op->mem_dirty (mig_send_area). */
static int mig_send_dirty(struct mig_op *op, bool skip_zero, struct err *err)
{
	int ret = 0;

	for (unsigned i = 0; ret == 0 && i < op->nr_regions; i++)
		ret = mig_send_area(op, 0, op->regions[i].gpa, op->regions[i].hva,
				    op->regions[i].len, op->dirty[i], skip_zero, err);
	for (unsigned i = 0; ret == 0 && op->version >= 2 && i < op->nr_mems; i++)
		ret = mig_send_area(op, 1 + i, 0, op->mems[i].hva, op->mems[i].len,
				    op->mem_dirty[i], skip_zero, err);
	return ret;
}

static int mig_connect(struct mig_op *op, struct err *err)
{
	int one = 1, ret;

	op->fd = socket(op->addr.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (op->fd < 0)
		return err_set(err, -errno, "%s: socket: %s", op->addr.text, strerror(errno));
	if (op->addr.sa.ss_family != AF_UNIX)
		(void)setsockopt(op->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(op->fd, (struct sockaddr *)&op->addr.sa, op->addr.len) < 0) {
		ret = -errno;
		return err_set(err, ret, "%s: cannot connect: %s", op->addr.text, strerror(-ret));
	}
	return 0;
}

/* The source's whole stream, on the worker. */
static int mig_source_run(struct mig_op *op, struct err *err)
{
	u8 head[9 + 16];
	size_t elen = strlen(op->engine);
	struct timespec t;
	u64 pages, ns, bw;
	u32 type;
	u64 len;
	int ret;

	ret = mig_connect(op, err);
	if (ret == 0)
		ret = mig_hello(op, err);
	if (ret < 0)
		return ret;
	head[0] = (u8)elen;
	memcpy(head + 1, op->engine, elen);
	mig_put_u64(head + 1 + elen, op->ram_bytes);
	ret = mig_send_frame(op, MIG_CONFIG, head, 1 + elen + 8, op->config, strlen(op->config));
	if (ret < 0)
		return err_set(err, ret, "%s: cannot send: %s", op->addr.text, strerror(-ret));
	/* The first pass: every page ever touched; the log has run since before this. */
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (unsigned i = 0; i < op->nr_regions; i++) {
		ret = snapshot_mem_touched(op->regions[i].hva, op->regions[i].len, op->dirty[i]);
		if (ret < 0)
			return err_set(err, ret, "out of memory");
	}
	for (unsigned i = 0; i < op->nr_mems; i++) {
		ret = snapshot_mem_touched(op->mems[i].hva, op->mems[i].len, op->mem_dirty[i]);
		if (ret < 0)
			return err_set(err, ret, "out of memory");
	}
	if (op->nr_mems && op->version < 2)
		log_warn("migration to %s: the destination's VMM speaks protocol version %u, "
			 "which carries no video RAM: its screen is blank until the guest draws "
			 "it again",
			 op->addr.text, op->version);
	ret = mig_send_dirty(op, true, err);
	if (ret < 0)
		return ret;
	ns = mig_elapsed_ns(&t);
	bw = op->stats.bytes >= (4u << 20) && ns ? op->stats.bytes * 1000000 / ns : MIG_BW_DEFAULT;
	/* Rounds until what is left fits the downtime target. */
	for (;;) {
		ret = mig_collect(op, &pages, err);
		if (ret < 0)
			return ret;
		if (pages * MIG_PAGE <= (u64)op->downtime_ms * bw) {
			op->stats.converged = true;
			break;
		}
		if (op->stats.rounds == MIGRATE_MAX_ROUNDS)
			break;
		op->stats.rounds++;
		clock_gettime(CLOCK_MONOTONIC, &t);
		len = op->stats.bytes;
		ret = mig_send_dirty(op, false, err);
		if (ret < 0)
			return ret;
		ns = mig_elapsed_ns(&t);
		if (op->stats.bytes - len >= (4u << 20) && ns)
			bw = (op->stats.bytes - len) * 1000000 / ns;
	}
	if (!op->stats.converged)
		log_warn("migration to %s: %llu pages still dirty after %u rounds (about %llu ms "
			 "at %llu MB/s): finishing with the downtime it takes",
			 op->addr.text, (unsigned long long)pages, op->stats.rounds,
			 (unsigned long long)(pages * MIG_PAGE / bw),
			 (unsigned long long)(bw * 1000 / 1000000));
	/* The switch: pause, state, disks; the rest; the state; wait for the destination. */
	clock_gettime(CLOCK_MONOTONIC, &t);
	ret = mig_step(op, MIG_STEP_STOP, err);
	if (ret == 0)
		ret = mig_collect(op, &pages, err);
	if (ret == 0)
		ret = mig_send_dirty(op, false, err);
	if (ret < 0)
		return ret;
	ret = mig_send_frame(op, MIG_STATE, op->state.data, op->state.len, NULL, 0);
	if (ret == 0)
		ret = mig_send_frame(op, MIG_END, NULL, 0, NULL, 0);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot send: %s", op->addr.text, strerror(-ret));
	ret = mig_recv_header(op, 1u << MIG_READY, &type, &len, err);
	if (ret == 0 && len)
		ret = err_set(err, -EPROTO, "%s: a READY with a payload", op->addr.text);
	if (ret < 0)
		return ret;
	ret = mig_send_frame(op, MIG_GO, NULL, 0, NULL, 0);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot send GO: %s", op->addr.text, strerror(-ret));
	op->stats.downtime_ns = mig_elapsed_ns(&t);
	return 0;
}

/* ------------------------------------------------------------- destination */

/* MIG_STEP_CREATE on the main thread. */
static int mig_create_main(struct mig_op *op, struct err *err)
{
	struct vm_spec spec = { 0 };
	char what[160];
	struct vm *vm;
	int ret;

	snprintf(what, sizeof(what), "the migrated spec from %s", op->addr.text);
	ret = snapshot_parse_spec(op->in_config, NULL, what, op->in_engine,
				  (const char *const *)op->sets, op->nr_sets, &spec, err);
	if (ret < 0)
		return ret;
	ret = vmm_create_vm(op->m, &spec, VM_CREATE_FOR_STATE, err);
	spec_free(&spec);
	if (ret < 0)
		return ret;
	op->created = true;
	vm = vmm_vm(op->m);
	/* What the boot loader put in RAM goes: pages the source does not send are zeros. */
	snapshot_mem_zero(&vm->plat.mem);
	ret = platform_mems(&vm->plat, op->mems);
	if (ret < 0)
		return err_set(err, -ENOTSUP, "more than %u devices with memory of their own",
			       PLATFORM_MEMS_MAX);
	op->nr_mems = (unsigned)ret;
	for (unsigned i = 0; i < op->nr_mems; i++)
		snapshot_mem_zero_range(op->mems[i].hva, op->mems[i].len);
	if (strcmp(vm->accel->name, op->in_engine))
		return err_set(err, -EINVAL,
			       "the VM runs on the %s engine at the source and would run on %s "
			       "here: the interrupt controllers and timers are the VMM's under bt "
			       "and in the kernel under kvm, and their state does not move "
			       "between the two",
			       op->in_engine, vm->accel->name);
	if (vm->plat.mem.ram_bytes != op->in_ram_bytes)
		return err_set(err, -EINVAL, "the source has %llu MiB of RAM, this spec %llu MiB",
			       (unsigned long long)(op->in_ram_bytes >> 20),
			       (unsigned long long)(vm->plat.mem.ram_bytes >> 20));
	return 0;
}

/* MIG_STEP_LOAD on the main thread. */
static int mig_load_main(struct mig_op *op, struct err *err)
{
	struct vm *vm = vmm_vm(op->m);
	struct board_disks *d = board_pc_disks(vm->board);
	struct gmem *mem = &vm->plat.mem;

	/* The source flushed and let go of the disks: read their metadata again. */
	for (unsigned i = 0; i < vm->spec->nr_disks; i++) {
		struct blockdev *bd = board_disks_blockdev(d, i);
		int ret;

		if (!bd || vm->spec->disks[i].readonly || blockdev_readonly(bd))
			continue;
		ret = blockdev_reopen(bd, false, err);
		if (ret < 0)
			return err_prefix(err, "disks[%u]", i), ret;
	}
	for (unsigned i = 0; vm->accel->mem_written && i < mem->nr; i++)
		vm->accel->mem_written(vm->avm, mem->regions[i].gpa, mem->regions[i].len);
	return vm_state_load(vm, op->in_state, op->in_state_len, err);
}

static int mig_recv_payload(struct mig_op *op, void *buf, u64 len, struct err *err)
{
	int ret = mig_recv_all(op, buf, len);

	return ret < 0 ? err_set(err, ret, "%s: the connection ended: %s", op->addr.text,
				 strerror(-ret)) :
			 0;
}

/* CONFIG: u8 engine length, engine, u64 RAM bytes, JSON. */
static int mig_recv_config(struct mig_op *op, u64 len, struct err *err)
{
	u8 *buf = malloc(len + 1);
	u64 elen;
	int ret;

	if (!buf)
		return err_set(err, -ENOMEM, "out of memory");
	ret = mig_recv_payload(op, buf, len, err);
	elen = len ? buf[0] : 0;
	if (ret == 0 && (len < 1 + elen + 8 + 2 || elen == 0 || elen >= sizeof(op->in_engine)))
		ret = err_set(err, -EPROTO, "%s: a malformed CONFIG", op->addr.text);
	if (ret == 0) {
		memcpy(op->in_engine, buf + 1, elen);
		op->in_engine[elen] = 0;
		op->in_ram_bytes = mig_get_u64(buf + 1 + elen);
		buf[len] = 0;
		op->in_config = strdup((char *)buf + 1 + elen + 8);
		if (!op->in_config)
			ret = err_set(err, -ENOMEM, "out of memory");
	}
	free(buf);
	return ret;
}

static int mig_recv_pages(struct mig_op *op, u64 len, struct err *err)
{
	const struct gmem *mem = &vmm_vm(op->m)->plat.mem;
	u8 head[16];
	u64 gpa, n;
	u32 space;
	void *dst;
	int ret;

	if (len < sizeof(head))
		return err_set(err, -EPROTO, "%s: a PAGES frame of %llu bytes", op->addr.text,
			       (unsigned long long)len);
	ret = mig_recv_payload(op, head, sizeof(head), err);
	if (ret < 0)
		return ret;
	gpa = mig_get_u64(head);
	n = mig_get_u32(head + 8);
	space = mig_get_u32(head + 12);
	if (n == 0 || n > MIGRATE_RUN_PAGES || len != sizeof(head) + n * MIG_PAGE ||
	    gpa % MIG_PAGE || (space && op->version < 2))
		return err_set(err, -EPROTO, "%s: a malformed PAGES frame (%llu pages at %#llx)",
			       op->addr.text, (unsigned long long)n, (unsigned long long)gpa);
	if (space) {
		const struct platform_mem *pm = space <= op->nr_mems ? &op->mems[space - 1] : NULL;

		if (!pm || gpa > pm->len || n * MIG_PAGE > pm->len - gpa)
			return err_set(err, -EPROTO,
				       "%s: pages at %#llx (%llu) of device memory %u are not in "
				       "this VM's",
				       op->addr.text, (unsigned long long)gpa,
				       (unsigned long long)n, space);
		ret = mig_recv_payload(op, pm->hva + gpa, n * MIG_PAGE, err);
		if (ret == 0)
			op->stats.bytes += n * MIG_PAGE;
		return ret;
	}
	dst = gmem_ptr(mem, gpa, n * MIG_PAGE);
	if (!dst)
		return err_set(err, -EPROTO, "%s: pages at %#llx (%llu) are not in this VM's RAM",
			       op->addr.text, (unsigned long long)gpa, (unsigned long long)n);
	ret = mig_recv_payload(op, dst, n * MIG_PAGE, err);
	if (ret == 0)
		op->stats.bytes += n * MIG_PAGE;
	return ret;
}

static int mig_accept(struct mig_op *op, struct err *err)
{
	int one = 1;

	for (;;) {
		struct pollfd p = { .fd = op->listen_fd, .events = POLLIN };
		int n;

		if (mig_cancelled(op))
			return err_set(err, -ECANCELED, "the migration was cancelled");
		n = poll(&p, 1, MIG_POLL_MS);
		if (n < 0 && errno != EINTR)
			return err_set(err, -errno, "%s: poll: %s", op->addr.text, strerror(errno));
		if (n <= 0)
			continue;
		op->fd = accept4(op->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (op->fd >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			return err_set(err, -errno, "%s: accept: %s", op->addr.text,
				       strerror(errno));
	}
	if (op->addr.sa.ss_family != AF_UNIX)
		(void)setsockopt(op->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(op->listen_fd);
	op->listen_fd = -1;
	if (op->sock_placed) {
		unix_sock_unlink(&op->sock, mig_unix_path(&op->addr));
		op->sock_placed = false;
	}
	clock_gettime(CLOCK_MONOTONIC, &op->t0); /* the migration starts now */
	return 0;
}

/* The destination's whole stream, on the worker. */
static int mig_dest_run(struct mig_op *op, struct err *err)
{
	u32 type;
	u64 len;
	int ret;

	ret = mig_accept(op, err);
	if (ret == 0)
		ret = mig_hello(op, err);
	if (ret == 0)
		ret = mig_recv_header(op, 1u << MIG_CONFIG, &type, &len, err);
	if (ret == 0)
		ret = mig_recv_config(op, len, err);
	if (ret == 0)
		ret = mig_step(op, MIG_STEP_CREATE, err);
	if (ret == 0)
		ret = worker_lockdown(); /* a VM exists now */
	if (ret < 0)
		return ret;
	for (;;) {
		ret = mig_recv_header(op, 1u << MIG_PAGES | 1u << MIG_STATE | 1u << MIG_END, &type,
				      &len, err);
		if (ret < 0)
			return ret;
		if (type == MIG_PAGES) {
			ret = mig_recv_pages(op, len, err);
		} else if (type == MIG_STATE) {
			free(op->in_state);
			op->in_state = malloc(len ? len : 1);
			op->in_state_len = len;
			ret = op->in_state ? mig_recv_payload(op, op->in_state, len, err) :
					     err_set(err, -ENOMEM, "out of memory");
		} else {
			break;
		}
		if (ret < 0)
			return ret;
	}
	if (len)
		return err_set(err, -EPROTO, "%s: an END with a payload", op->addr.text);
	if (!op->in_state)
		return err_set(err, -EPROTO, "%s: END before the state", op->addr.text);
	ret = mig_step(op, MIG_STEP_LOAD, err);
	if (ret < 0)
		return ret;
	ret = mig_send_frame(op, MIG_READY, NULL, 0, NULL, 0);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot send: %s", op->addr.text, strerror(-ret));
	ret = mig_recv_header(op, 1u << MIG_GO, &type, &len, err);
	if (ret == 0 && len)
		ret = err_set(err, -EPROTO, "%s: a GO with a payload", op->addr.text);
	return ret;
}

/* --------------------------------------------------------------- operation */

static void mig_op_free(struct mig_op *op)
{
	if (op->fd >= 0)
		close(op->fd);
	if (op->listen_fd >= 0)
		close(op->listen_fd);
	if (op->sock_placed)
		unix_sock_unlink(&op->sock, mig_unix_path(&op->addr));
	for (unsigned i = 0; i < GMEM_MAX_REGIONS; i++)
		free(op->dirty[i]);
	for (unsigned i = 0; i < PLATFORM_MEMS_MAX; i++)
		free(op->mem_dirty[i]);
	for (unsigned i = 0; i < op->nr_sets; i++)
		free(op->sets[i]);
	state_buf_free(&op->state);
	free(op->config);
	free(op->in_config);
	free(op->in_state);
	pthread_cond_destroy(&op->cond);
	pthread_mutex_destroy(&op->lock);
	free(op);
}

static void mig_step_run(void *opaque)
{
	struct mig_op *op = opaque;
	struct err err = { 0 };
	int ret = -ECANCELED;

	if (!op->cancel) {
		switch (op->step) {
		case MIG_STEP_STOP:
			ret = mig_stop_main(op, &err);
			break;
		case MIG_STEP_CREATE:
			ret = mig_create_main(op, &err);
			break;
		case MIG_STEP_LOAD:
			ret = mig_load_main(op, &err);
			break;
		default:
			ret = err_set(&err, -EINVAL, "no step");
		}
	}
	pthread_mutex_lock(&op->lock);
	op->step_ret = ret;
	op->step_err = err;
	op->step_done = true;
	pthread_cond_broadcast(&op->cond);
	pthread_mutex_unlock(&op->lock);
}

/* Undo what a failed or cancelled migration changed; tell the caller (main thread). */
static void mig_op_report(struct mig_op *op)
{
	struct vm *vm = vmm_vm(op->m);
	char msg[400];

	op->stats.total_ns = mig_elapsed_ns(&op->t0);
	if (op->source) {
		if (op->ret < 0) {
			mig_disks_back(op);
			mig_log_stop(op);
			if (vm)
				vm_set_hold(vm, VM_HOLD_NONE, NULL);
			if (vm && op->paused_here && !op->cancelled) {
				struct err rerr = { 0 };

				if (vm_resume(vm, &rerr) < 0)
					log_err("%s", rerr.msg);
			}
			log_err("migration to %s failed; the VM goes on here: %s", op->addr.text,
				op->err.msg);
			if (vm)
				vmm_event(op->m, "migration-failed", "api", op->err.msg);
		} else {
			mig_log_stop(op);
			vm_set_hold(vm, VM_HOLD_NONE, NULL);
			snprintf(msg, sizeof(msg),
				 "migrated to %s: %llu MiB sent in %u rounds (%s), %llu ms in all, "
				 "%llu ms paused",
				 op->addr.text, (unsigned long long)(op->stats.bytes >> 20),
				 op->stats.rounds,
				 op->stats.converged ? "converged" : "not converged",
				 (unsigned long long)(op->stats.total_ns / 1000000),
				 (unsigned long long)(op->stats.downtime_ns / 1000000));
			log_info("%s: %s; this VMM exits", vm ? vm->spec->name : "vmm", msg);
			vmm_event(op->m, "migration-completed", "api", msg);
		}
	} else if (op->ret < 0) {
		log_err("migration from %s failed: %s", op->addr.text, op->err.msg);
		if (op->created && vm && !op->cancelled) {
			struct err derr = { 0 };

			if (vmm_delete_vm(op->m, &derr) < 0)
				log_err("%s", derr.msg);
		}
	}
	if (op->done)
		op->done(op->opaque, op->ret, &op->err, &op->stats);
	if (op->source && op->ret == 0)
		vmm_request_exit(op->m, 0);
}

/* The destination runs the VM it received (main thread). */
static void mig_dest_start(struct mig_op *op)
{
	struct vm *vm = vmm_vm(op->m);
	char msg[400];

	op->ret = vm_start_loaded(vm, true, &op->err);
	if (op->ret < 0)
		return;
	op->stats.total_ns = mig_elapsed_ns(&op->t0);
	snprintf(msg, sizeof(msg), "migrated from %s: %llu MiB received in %llu ms", op->addr.text,
		 (unsigned long long)(op->stats.bytes >> 20),
		 (unsigned long long)(op->stats.total_ns / 1000000));
	log_info("%s: %s", vm->spec->name, msg);
	vmm_event(op->m, "migration-completed", "api", msg);
}

static void mig_op_finish(void *opaque)
{
	struct mig_op *op = opaque;

	if (!op->cancelled) {
		vmm_end_operation(op->m);
		if (!op->source && op->ret == 0)
			mig_dest_start(op);
		mig_op_report(op);
	}
	mig_op_free(op);
}

/* On the worker. */
static void mig_op_job(void *arg)
{
	struct mig_op *op = arg;

	op->ret = worker_lockdown();
	if (op->ret < 0)
		err_set(&op->err, op->ret, "the worker thread cannot lock itself down");
	else
		op->ret = op->source ? mig_source_run(op, &op->err) : mig_dest_run(op, &op->err);
	if (op->ret < 0)
		mig_send_error(op, op->err.msg);
	while (loop_post(vmm_loop(op->m), mig_op_finish, op) < 0)
		usleep(1000);
}

/* The vmm ends the operation (the VM or the process is going). */
static void mig_op_cancel(void *opaque)
{
	struct mig_op *op = opaque;

	pthread_mutex_lock(&op->lock);
	__atomic_store_n(&op->cancel, true, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&op->cond);
	pthread_mutex_unlock(&op->lock);
	worker_wait(vmm_worker(op->m));
	op->cancelled = true;
	if (op->ret == 0)
		op->ret = err_set(&op->err, -ECANCELED, "the migration was cancelled");
	mig_op_report(op);
}

static struct mig_op *mig_op_new(struct vmm *m, const char *url, migrate_done_fn done, void *opaque,
				 struct err *err)
{
	struct mig_op *op = calloc(1, sizeof(*op));

	if (!op) {
		err_set(err, -ENOMEM, "out of memory");
		return NULL;
	}
	op->m = m;
	op->fd = op->listen_fd = -1;
	op->done = done;
	op->opaque = opaque;
	pthread_mutex_init(&op->lock, NULL);
	pthread_cond_init(&op->cond, NULL);
	state_buf_init(&op->state);
	clock_gettime(CLOCK_MONOTONIC, &op->t0);
	if (mig_parse_url(url, &op->addr, err) < 0) {
		mig_op_free(op);
		return NULL;
	}
	return op;
}

int migrate_send(struct vmm *m, const char *url, unsigned downtime_ms, migrate_done_fn done,
		 void *opaque, struct err *err)
{
	struct vm *vm = vmm_vm(m);
	const struct gmem *mem;
	struct mig_op *op;
	int ret;

	if (!vm)
		return err_set(err, -ENOENT, "no VM to migrate");
	if (!vmm_worker(m))
		return err_set(err, -ENOTSUP, "migrations go through the control API");
	if (vmm_operation(m))
		return err_set(err, -EBUSY, "%s: cannot migrate: %s is in progress",
			       vmm_spec(m)->name, vmm_operation(m));
	if (vm_state(vm) != VM_STATE_RUNNING && vm_state(vm) != VM_STATE_PAUSED)
		return err_set(err, -EBUSY, "%s: cannot migrate: the VM is %s", vmm_spec(m)->name,
			       vm_state_name(vm_state(vm)));
	if (downtime_ms == 0 || downtime_ms > MIGRATE_DOWNTIME_MS_MAX)
		return err_set(err, -EINVAL, "downtime_ms: %u is not 1 to %u", downtime_ms,
			       MIGRATE_DOWNTIME_MS_MAX);
	if (vmm_spec(m)->nr_disks > 64)
		return err_set(err, -ENOTSUP, "%s: cannot migrate more than 64 disks",
			       vmm_spec(m)->name);
	if (!vm->accel->dirty_log)
		return err_set(err, -ENOTSUP, "%s: the %s engine logs no dirty pages",
			       vmm_spec(m)->name, vm->accel->name);
	op = mig_op_new(m, url, done, opaque, err);
	if (!op)
		return -EINVAL;
	op->source = true;
	op->downtime_ms = downtime_ms;
	op->config = spec_to_json(vmm_spec(m));
	if (!op->config) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	snprintf(op->engine, sizeof(op->engine), "%s", vm->accel->name);
	mem = &vm->plat.mem;
	op->ram_bytes = mem->ram_bytes;
	op->nr_regions = mem->nr;
	memcpy(op->regions, mem->regions, sizeof(op->regions));
	ret = platform_mems(&vm->plat, op->mems);
	if (ret < 0) {
		ret = err_set(err, -ENOTSUP, "%s: more than %u devices with memory of their own",
			      vmm_spec(m)->name, PLATFORM_MEMS_MAX);
		goto err_free;
	}
	op->nr_mems = (unsigned)ret;
	ret = mig_log_start(op, err);
	if (ret < 0)
		goto err_free;
	ret = vmm_begin_operation(m, "a migration", mig_op_cancel, op, err);
	if (ret < 0)
		goto err_log;
	vm_set_hold(vm, VM_HOLD_RUNNING, "a migration is in progress");
	ret = worker_run(vmm_worker(m), mig_op_job, op);
	if (ret < 0) {
		err_set(err, ret, "the worker thread is busy");
		vm_set_hold(vm, VM_HOLD_NONE, NULL);
		vmm_end_operation(m);
		goto err_log;
	}
	log_info("%s: migrating to %s (downtime target %u ms)", vmm_spec(m)->name, url,
		 downtime_ms);
	return 0;

err_log:
	mig_log_stop(op);
err_free:
	mig_op_free(op);
	return ret;
}

static int mig_listen(struct mig_op *op, struct err *err)
{
	int one = 1, ret;

	if (op->addr.sa.ss_family == AF_UNIX) {
		/* In a private folder first, like every local socket (vmm/unix_sock.h). */
		ret = unix_sock_listen(mig_unix_path(&op->addr), "migration", 1, &op->sock, err);
		if (ret < 0)
			return ret;
		op->listen_fd = op->sock.fd;
		op->sock_placed = true;
		return 0;
	}
	op->listen_fd = socket(op->addr.sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (op->listen_fd < 0)
		return err_set(err, -errno, "%s: socket: %s", op->addr.text, strerror(errno));
	(void)setsockopt(op->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(op->listen_fd, (struct sockaddr *)&op->addr.sa, op->addr.len) < 0 ||
	    listen(op->listen_fd, 1) < 0) {
		ret = -errno;
		return err_set(err, ret, "%s: cannot listen: %s", op->addr.text, strerror(-ret));
	}
	return 0;
}

int migrate_receive(struct vmm *m, const char *url, const char *const *sets, unsigned nr_sets,
		    migrate_done_fn done, void *opaque, struct err *err)
{
	struct mig_op *op;
	int ret;

	if (vmm_vm(m))
		return err_set(err, -EEXIST, "a VM exists already: vm.delete it first");
	if (!vmm_worker(m))
		return err_set(err, -ENOTSUP, "migrations go through the control API");
	if (vmm_operation(m))
		return err_set(err, -EBUSY, "cannot receive a migration: %s is in progress",
			       vmm_operation(m));
	if (nr_sets > MIG_SETS_MAX)
		return err_set(err, -EINVAL, "at most %u overrides", MIG_SETS_MAX);
	op = mig_op_new(m, url, done, opaque, err);
	if (!op)
		return -EINVAL;
	for (unsigned i = 0; i < nr_sets; i++) {
		op->sets[i] = strdup(sets[i]);
		if (!op->sets[i]) {
			ret = err_set(err, -ENOMEM, "out of memory");
			goto err_free;
		}
		op->nr_sets++;
	}
	ret = mig_listen(op, err);
	if (ret == 0)
		ret = vmm_begin_operation(m, "a migration", mig_op_cancel, op, err);
	if (ret < 0)
		goto err_free;
	ret = worker_run(vmm_worker(m), mig_op_job, op);
	if (ret < 0) {
		err_set(err, ret, "the worker thread is busy");
		vmm_end_operation(m);
		goto err_free;
	}
	log_info("vmm: waiting for a migration at %s", url);
	return 0;

err_free:
	mig_op_free(op);
	return ret;
}
