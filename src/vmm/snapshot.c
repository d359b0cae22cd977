// SPDX-License-Identifier: MIT
/*
 * Snapshot directories (snapshot.h, docs/snapshots.md): taking one from a paused VM and
 * restoring one into a new VM.
 *
 * The state file, little-endian throughout:
 *
 *   header   "VMMSNAP\0"  u32 format (1)  u32 header bytes (32)  u32 sections  u32 flags (0)
 *            u64 creation time (Unix ns)
 *   section  u8 name length, name  u32 version  u32 flags (bit 0: a reader that does not know
 *            the section may skip it)  u64 length  payload
 *   trailer  u32 CRC-32 (zlib's, ISO 3309) of every byte before it
 *
 * Sections of format 1: "info" v1 (u8-length-prefixed VMM version and engine name, u32 vCPUs,
 * u64 RAM bytes), "memory" v1 (u32 page size, u32 regions, per region u64 guest-physical
 * address, u64 length, u64 offset in the memory file; u64 memory file size, u64 bytes of
 * data written), "devices" v1 (the record set of vm_state_save: the clock, each vCPU and each
 * device with its own version, docs/device-state.md). Format 2 adds "devmem" v1, the memory
 * devices own (video RAM: device_ops.memory) after RAM in the memory file: u32 count, per
 * memory the device's u8-length-prefixed name, u64 length, u64 offset in the memory file. A
 * format 1 snapshot has none: the devices' memory stays as the new VM's board made it.
 *
 * Reading is hostile input: the magic, then the format (newer: "written by a newer VMM"),
 * the CRC before anything else is believed, every length inside the file, every section
 * version known, no section twice, the sections format 1 needs present, the memory layout
 * page-aligned, inside the memory file and not overlapping.
 */
#include "vmm/snapshot.h"

#include "vmdk/blockdev.h"
#include "vmm/base/log.h"
#include "vmm/board_disks.h"
#include "vmm/board_fw.h"
#include "vmm/board_pc.h"
#include "vmm/spec.h"
#include "vmm/state.h"
#include "vmm/vm.h"
#include "vmm/vm_state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#ifndef VMM_VERSION
#define VMM_VERSION "unknown"
#endif

#define SNAPSHOT_HEADER_LEN	32u
#define SNAPSHOT_SEC_SKIPPABLE	1u
#define SNAPSHOT_RUN_MAX	(8ull << 20) /* bytes of RAM written by one pwrite */
#define SNAPSHOT_CONFIG_MAX	(1u << 20)
#define SNAPSHOT_DISK_CHILD_MAX 1000 /* disk-1.vmdk ... disk-1000.vmdk, firmware_vars-N.fd */
#define SNAPSHOT_CANCEL_EVERY	1024 /* pages between looks at the cancel flag */

/* ------------------------------------------------------------- little-endian buffers */

struct snapshot_buf {
	struct state_buf b;
	int error;
};

static void snapshot_put(struct snapshot_buf *w, const void *p, size_t n)
{
	if (!w->error)
		w->error = state_buf_append(&w->b, p, n);
}

static void snapshot_put_le(struct snapshot_buf *w, u64 v, unsigned size)
{
	u8 b[8];

	for (unsigned i = 0; i < size; i++)
		b[i] = (u8)(v >> (8 * i));
	snapshot_put(w, b, size);
}

static void snapshot_put_str(struct snapshot_buf *w, const char *s)
{
	size_t n = strlen(s);

	n = n > 255 ? 255 : n;
	snapshot_put_le(w, n, 1);
	snapshot_put(w, s, n);
}

/* A reader over [p, p+len); once past the end it stays failed. */
struct snapshot_rd {
	const u8 *p;
	size_t len, at;
	bool bad;
};

static const u8 *snapshot_rd_take(struct snapshot_rd *r, size_t n)
{
	const u8 *p;

	if (r->bad || n > r->len - r->at) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->at;
	r->at += n;
	return p;
}

static u64 snapshot_get_le(struct snapshot_rd *r, unsigned size)
{
	const u8 *p = snapshot_rd_take(r, size);
	u64 v = 0;

	for (unsigned i = 0; p && i < size; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

/* A u8-length-prefixed string into out (NUL-terminated, printable ASCII only). */
static bool snapshot_get_str(struct snapshot_rd *r, char *out, size_t cap)
{
	size_t n = (size_t)snapshot_get_le(r, 1);
	const u8 *p = snapshot_rd_take(r, n);

	if (!p || n >= cap)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return false;
		out[i] = (char)p[i];
	}
	out[n] = '\0';
	return true;
}

/* --------------------------------------------------------------------- files */

static int snapshot_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int snapshot_write_all(int fd, const void *buf, size_t len, off_t off)
{
	const u8 *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int snapshot_read_all(int fd, void *buf, size_t len, off_t off)
{
	u8 *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -ENODATA;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/* Write len bytes to DIR/.NAME.tmp (created), fsync'd; the caller renames it. */
static int snapshot_write_file(const char *tmp, const void *buf, size_t len, struct err *err)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret;

	if (fd < 0)
		return err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	ret = snapshot_write_all(fd, buf, len, 0);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret < 0)
		err_set(err, ret, "%s: %s", tmp, strerror(-ret));
	return ret;
}

/* --------------------------------------------------------------- taking one */

struct snapshot_job {
	char dir[PATH_MAX];
	char *config;		  /* config.json's text */
	struct state_buf devices; /* vm_state_save's record set */
	const struct gmem *mem;
	struct snapshot_region regions[SNAPSHOT_MAX_REGIONS];
	unsigned nr_regions;
	struct platform_mem mems[PLATFORM_MEMS_MAX]; /* device memory, after RAM in the file */
	u64 mem_off[PLATFORM_MEMS_MAX];
	unsigned nr_mems;
	u64 file_size, ram_bytes;
	char engine[16];
	unsigned nr_vcpus;
	u8 *vars; /* boot.firmware_vars: the store's bytes at the snapshot, or NULL */
	u64 vars_size;
	bool done; /* every file renamed into place */
	int cancel;
	char tmp[4]
		[PATH_MAX]; /* memory, config, the store (with vars), state: removed unless done */
};

/* DIR: absolute, a directory without a snapshot in it, or missing in a folder that exists. */
static int snapshot_check_dir(const char *dir, struct err *err)
{
	char state[PATH_MAX], parent[PATH_MAX];
	struct stat st;
	char *slash;

	if (dir[0] != '/')
		return err_set(err, -EINVAL, "%s: the snapshot directory must be an absolute path",
			       dir);
	if (stat(dir, &st) < 0) {
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		*(slash == parent ? slash + 1 : slash) = '\0';
		if (errno != ENOENT || stat(parent, &st) < 0 || !S_ISDIR(st.st_mode))
			return err_set(
				err, -ENOENT,
				"%s: cannot create the snapshot directory: %s is not a folder", dir,
				parent);
		return 0; /* snapshot_write creates it */
	}
	if (!S_ISDIR(st.st_mode))
		return err_set(err, -ENOTDIR, "%s: not a directory", dir);
	if (snapshot_path(state, sizeof(state), dir, SNAPSHOT_STATE) < 0)
		return err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
	if (access(state, F_OK) == 0)
		return err_set(err, -EEXIST,
			       "%s holds a snapshot already; remove it or choose another directory",
			       dir);
	return 0;
}

/*
 * The n-th name of a file made after path, in its folder, with extension ext: "disk.vmdk" ->
 * "disk-1.vmdk", "disk-1.vmdk" -> "disk-2.vmdk" (the number after the last '-' goes up).
 */
static int snapshot_child_name(const char *path, const char *ext, unsigned n, char *out, size_t cap)
{
	size_t len, elen = strlen(ext);
	char stem[PATH_MAX];
	char *dash;
	int r;

	r = snprintf(stem, sizeof(stem), "%s", path);
	if (r < 0 || (size_t)r >= sizeof(stem))
		return -ENAMETOOLONG;
	len = strlen(stem);
	if (len > elen && !strcmp(stem + len - elen, ext))
		stem[len - elen] = '\0';
	dash = strrchr(stem, '-');
	if (dash && dash[1] && !strchr(dash, '/') &&
	    strspn(dash + 1, "0123456789") == strlen(dash + 1))
		*dash = '\0';
	r = snprintf(out, cap, "%s-%u%s", stem, n, ext);
	return r < 0 || (size_t)r >= cap ? -ENAMETOOLONG : 0;
}

/* Freeze bd's image under a new delta named after it; *child gets the new path. */
static int snapshot_freeze(struct blockdev *bd, char **child, struct err *err)
{
	char path[PATH_MAX];
	int ret = -EEXIST;

	for (unsigned n = 1; n <= SNAPSHOT_DISK_CHILD_MAX && ret == -EEXIST; n++) {
		if (snapshot_child_name(blockdev_path(bd), ".vmdk", n, path, sizeof(path)) < 0)
			return err_set(err, -ENAMETOOLONG, "%s: name too long", blockdev_path(bd));
		if (access(path, F_OK) == 0)
			continue;
		err_clear(err);
		ret = blockdev_snapshot(bd, path, err);
	}
	if (ret == -EEXIST)
		err_set(err, ret, "%s: no free delta name", blockdev_path(bd));
	if (ret == 0) {
		*child = strdup(path);
		if (!*child)
			return err_set(err, -ENOMEM, "out of memory");
	}
	return ret;
}

/* Writable disks: VMDK only. Checked before anything is frozen. */
static int snapshot_check_disks(struct vm *vm, const struct vm_spec *spec, struct err *err)
{
	struct board_disks *d = board_pc_disks(vm->board);

	for (unsigned i = 0; i < spec->nr_disks; i++) {
		struct blockdev *bd = board_disks_blockdev(d, i);

		if (!bd || spec->disks[i].readonly || blockdev_readonly(bd))
			continue;
		if (blockdev_format(bd) != BLOCKDEV_FORMAT_VMDK)
			return err_set(
				err, -ENOTSUP,
				"disks[%u]: %s is a writable raw image, which a snapshot "
				"cannot freeze: convert it to VMDK (vmm-img convert) or attach "
				"it read-only",
				i, spec->disks[i].path);
	}
	return 0;
}

/* The VM goes on in new deltas; spec's paths follow. */
static int snapshot_freeze_disks(struct vm *vm, struct vm_spec *spec, struct err *err)
{
	struct board_disks *d = board_pc_disks(vm->board);

	for (unsigned i = 0; i < spec->nr_disks; i++) {
		struct blockdev *bd = board_disks_blockdev(d, i);
		char *child = NULL;
		int ret;

		if (!bd || spec->disks[i].readonly || blockdev_readonly(bd))
			continue;
		ret = snapshot_freeze(bd, &child, err);
		if (ret < 0)
			return err_prefix(err, "disks[%u]", i), ret;
		log_info("disks[%u]: %s is frozen for the snapshot; the VM goes on in %s", i,
			 spec->disks[i].path, child);
		free(spec->disks[i].path);
		spec->disks[i].path = child;
		spec->disks[i].format = DISK_FORMAT_VMDK;
	}
	return 0;
}

/*
 * boot.firmware_vars: the store's bytes now (the VM is paused; the file holds the same, every
 * change is written through), for SNAPSHOT_VARS in the snapshot. The VM goes on with its file.
 */
static int snapshot_copy_vars(struct snapshot_job *job, struct vm *vm, const struct vm_spec *spec,
			      struct err *err)
{
	const u8 *vars;

	if (!spec->boot.firmware_vars)
		return 0;
	vars = board_fw_vars(board_pc_fw(vm->board), &job->vars_size);
	if (!vars)
		return err_set(err, -EINVAL, "boot.firmware_vars: %s: the VM has no variable store",
			       spec->boot.firmware_vars);
	job->vars = malloc(job->vars_size);
	if (!job->vars)
		return err_set(err, -ENOMEM, "out of memory");
	memcpy(job->vars, vars, job->vars_size);
	return 0;
}

/* config.json: the spec, its variable store the snapshot's copy (relative: in the snapshot). */
static char *snapshot_config_json(const struct snapshot_job *job, struct vm_spec *spec)
{
	char *vars = spec->boot.firmware_vars, *json;

	if (job->vars)
		spec->boot.firmware_vars = (char *)SNAPSHOT_VARS;
	json = spec_to_json(spec);
	spec->boot.firmware_vars = vars;
	return json;
}

int snapshot_prepare(struct vm *vm, struct vm_spec *spec, const char *dir,
		     struct snapshot_job **out, struct err *err)
{
	struct snapshot_job *job;
	const struct gmem *mem = &vm->plat.mem;
	int ret;

	if (vm_state(vm) != VM_STATE_PAUSED)
		return err_set(err, -EBUSY, "%s: cannot snapshot: the VM is %s (pause it first)",
			       spec->name, vm_state_name(vm_state(vm)));
	if (mem->nr > SNAPSHOT_MAX_REGIONS)
		return err_set(err, -ENOTSUP, "%s: %u RAM regions (at most %u)", spec->name,
			       mem->nr, SNAPSHOT_MAX_REGIONS);
	ret = platform_mems(&vm->plat, (struct platform_mem[PLATFORM_MEMS_MAX]){ 0 });
	if (ret < 0)
		return err_set(err, -ENOTSUP, "%s: more than %u devices with memory of their own",
			       spec->name, PLATFORM_MEMS_MAX);
	ret = snapshot_check_dir(dir, err);
	if (ret == 0)
		ret = snapshot_check_disks(vm, spec, err);
	if (ret < 0)
		return ret;
	job = calloc(1, sizeof(*job));
	if (!job)
		return err_set(err, -ENOMEM, "out of memory");
	snprintf(job->dir, sizeof(job->dir), "%s", dir);
	state_buf_init(&job->devices);
	job->mem = mem;
	job->nr_vcpus = vm->nr_vcpus;
	snprintf(job->engine, sizeof(job->engine), "%s", vm->accel->name);
	for (unsigned i = 0; i < mem->nr; i++) {
		job->regions[i] = (struct snapshot_region){ .gpa = mem->regions[i].gpa,
							    .len = mem->regions[i].len,
							    .file_off = job->file_size };
		job->file_size += mem->regions[i].len;
	}
	job->nr_regions = mem->nr;
	job->ram_bytes = job->file_size;
	job->nr_mems = (unsigned)platform_mems(&vm->plat, job->mems);
	for (unsigned i = 0; i < job->nr_mems; i++) {
		job->mem_off[i] = job->file_size;
		job->file_size += job->mems[i].len;
	}
	if (snapshot_path(job->tmp[0], PATH_MAX, dir, "." SNAPSHOT_MEMORY ".tmp") < 0 ||
	    snapshot_path(job->tmp[1], PATH_MAX, dir, "." SNAPSHOT_CONFIG ".tmp") < 0 ||
	    snapshot_path(job->tmp[2], PATH_MAX, dir, "." SNAPSHOT_VARS ".tmp") < 0 ||
	    snapshot_path(job->tmp[3], PATH_MAX, dir, "." SNAPSHOT_STATE ".tmp") < 0) {
		ret = err_set(err, -ENAMETOOLONG, "%s: path too long", dir);
		goto err_free;
	}
	/* The state first (it drains the disks), config.json before the disks move on. */
	ret = vm_state_save(vm, &job->devices, err);
	if (ret < 0)
		goto err_free;
	ret = snapshot_copy_vars(job, vm, spec, err);
	if (ret < 0)
		goto err_free;
	job->config = snapshot_config_json(job, spec);
	if (!job->config) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	ret = snapshot_freeze_disks(vm, spec, err);
	if (ret < 0)
		goto err_free;
	*out = job;
	return 0;

err_free:
	snapshot_job_free(job);
	return ret;
}

void snapshot_cancel(struct snapshot_job *job)
{
	__atomic_store_n(&job->cancel, 1, __ATOMIC_RELAXED);
}

static bool snapshot_cancelled(struct snapshot_job *job)
{
	return __atomic_load_n(&job->cancel, __ATOMIC_RELAXED);
}

#define BITS_PER_LONG (8 * sizeof(unsigned long))

/* One region into fd at its offset: runs of touched, non-zero pages; the rest stays a hole. */
static int snapshot_write_region(struct snapshot_job *job, int fd, const struct gmem_region *r,
				 u64 file_off, u64 *data_bytes)
{
	u64 pages = r->len / SNAPSHOT_PAGE, run = 0, run_len = 0;
	const u8 *hva = r->hva;
	unsigned long *touched;
	int ret;

	touched = calloc((pages + BITS_PER_LONG - 1) / BITS_PER_LONG, sizeof(*touched));
	if (!touched)
		return -ENOMEM;
	ret = snapshot_mem_touched(r->hva, r->len, touched);
	for (u64 p = 0; ret == 0 && p <= pages; p++) {
		bool data = p < pages && (touched[p / BITS_PER_LONG] >> (p % BITS_PER_LONG) & 1) &&
			    !snapshot_page_is_zero(hva + p * SNAPSHOT_PAGE);

		if (data && run_len < SNAPSHOT_RUN_MAX) {
			if (!run_len)
				run = p;
			run_len += SNAPSHOT_PAGE;
			continue;
		}
		if (run_len) {
			ret = snapshot_write_all(fd, hva + run * SNAPSHOT_PAGE, run_len,
						 (off_t)(file_off + run * SNAPSHOT_PAGE));
			*data_bytes += run_len;
		}
		run_len = data ? SNAPSHOT_PAGE : 0;
		run = p;
		if (ret == 0 && p % SNAPSHOT_CANCEL_EVERY == 0 && snapshot_cancelled(job))
			ret = -ECANCELED;
	}
	free(touched);
	return ret;
}

static int snapshot_write_memory(struct snapshot_job *job, u64 *data_bytes, struct err *err)
{
	int fd = open(job->tmp[0], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), ret = 0;

	if (fd < 0)
		return err_set(err, -errno, "%s: %s", job->tmp[0], strerror(errno));
	if (ftruncate(fd, (off_t)job->file_size) < 0)
		ret = -errno;
	for (unsigned i = 0; ret == 0 && i < job->nr_regions; i++)
		ret = snapshot_write_region(job, fd, &job->mem->regions[i],
					    job->regions[i].file_off, data_bytes);
	for (unsigned i = 0; ret == 0 && i < job->nr_mems; i++) {
		struct gmem_region r = { .hva = job->mems[i].hva, .len = job->mems[i].len };

		ret = snapshot_write_region(job, fd, &r, job->mem_off[i], data_bytes);
	}
	close(fd);
	if (ret == -ECANCELED)
		return err_set(err, ret, "%s: the snapshot was cancelled", job->dir);
	if (ret < 0)
		return err_set(err, ret, "%s: cannot write guest memory: %s", job->tmp[0],
			       strerror(-ret));
	return 0;
}

static size_t snapshot_section_begin(struct snapshot_buf *w, const char *name, u32 version,
				     u32 flags)
{
	size_t at;

	snapshot_put_str(w, name);
	snapshot_put_le(w, version, 4);
	snapshot_put_le(w, flags, 4);
	at = w->b.len;
	snapshot_put_le(w, 0, 8);
	return at;
}

static void snapshot_section_end(struct snapshot_buf *w, size_t at)
{
	u64 len = w->b.len - at - 8;

	if (w->error)
		return;
	for (unsigned i = 0; i < 8; i++)
		w->b.data[at + i] = (u8)(len >> (8 * i));
}

static int snapshot_build_state(struct snapshot_job *job, u64 data_bytes, struct snapshot_buf *w)
{
	struct timespec ts;
	size_t at;

	clock_gettime(CLOCK_REALTIME, &ts);
	snapshot_put(w, SNAPSHOT_MAGIC, 8);
	snapshot_put_le(w, SNAPSHOT_FORMAT, 4);
	snapshot_put_le(w, SNAPSHOT_HEADER_LEN, 4);
	snapshot_put_le(w, 4, 4); /* sections */
	snapshot_put_le(w, 0, 4); /* flags */
	snapshot_put_le(w, (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec, 8);

	at = snapshot_section_begin(w, "info", 1, 0);
	snapshot_put_str(w, VMM_VERSION);
	snapshot_put_str(w, job->engine);
	snapshot_put_le(w, job->nr_vcpus, 4);
	snapshot_put_le(w, job->ram_bytes, 8);
	snapshot_section_end(w, at);

	at = snapshot_section_begin(w, "memory", 1, 0);
	snapshot_put_le(w, SNAPSHOT_PAGE, 4);
	snapshot_put_le(w, job->nr_regions, 4);
	for (unsigned i = 0; i < job->nr_regions; i++) {
		snapshot_put_le(w, job->regions[i].gpa, 8);
		snapshot_put_le(w, job->regions[i].len, 8);
		snapshot_put_le(w, job->regions[i].file_off, 8);
	}
	snapshot_put_le(w, job->file_size, 8);
	snapshot_put_le(w, data_bytes, 8);
	snapshot_section_end(w, at);

	at = snapshot_section_begin(w, "devmem", 1, 0);
	snapshot_put_le(w, job->nr_mems, 4);
	for (unsigned i = 0; i < job->nr_mems; i++) {
		snapshot_put_str(w, job->mems[i].dev->name);
		snapshot_put_le(w, job->mems[i].len, 8);
		snapshot_put_le(w, job->mem_off[i], 8);
	}
	snapshot_section_end(w, at);

	at = snapshot_section_begin(w, "devices", 1, 0);
	snapshot_put(w, job->devices.data, job->devices.len);
	snapshot_section_end(w, at);
	if (!w->error)
		snapshot_put_le(w, crc32(0, w->b.data, (uInt)w->b.len), 4);
	return w->error;
}

int snapshot_write(struct snapshot_job *job, struct snapshot_mem_stats *stats, struct err *err)
{
	struct snapshot_buf w = { 0 };
	static const char *const names[] = { SNAPSHOT_MEMORY, SNAPSHOT_CONFIG, SNAPSHOT_VARS,
					     SNAPSHOT_STATE };
	struct timespec t0, t1;
	u64 data_bytes = 0;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mkdir(job->dir, 0700) < 0 && errno != EEXIST)
		return err_set(err, -errno, "%s: cannot create the snapshot directory: %s",
			       job->dir, strerror(errno));
	ret = snapshot_write_memory(job, &data_bytes, err);
	if (ret == 0)
		ret = snapshot_write_file(job->tmp[1], job->config, strlen(job->config), err);
	if (ret == 0 && job->vars)
		ret = snapshot_write_file(job->tmp[2], job->vars, job->vars_size, err);
	if (ret == 0) {
		ret = snapshot_build_state(job, data_bytes, &w);
		if (ret < 0)
			err_set(err, ret, "out of memory");
	}
	if (ret == 0)
		ret = snapshot_write_file(job->tmp[3], w.b.data, w.b.len, err);
	state_buf_free(&w.b);
	/* The state file last: a directory with one holds a whole snapshot. */
	for (unsigned i = 0; ret == 0 && i < 4; i++) {
		char final[PATH_MAX];

		if (i == 2 && !job->vars)
			continue;
		if (snapshot_path(final, sizeof(final), job->dir, names[i]) < 0 ||
		    rename(job->tmp[i], final) < 0)
			ret = err_set(err, -errno, "%s: cannot rename %s: %s", job->dir, names[i],
				      strerror(errno));
	}
	if (ret < 0)
		return ret;
	job->done = true;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stats) {
		stats->ram_bytes = job->ram_bytes;
		stats->data_bytes = data_bytes;
		stats->ns = (u64)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (u64)t1.tv_nsec -
			    (u64)t0.tv_nsec;
	}
	return 0;
}

void snapshot_job_free(struct snapshot_job *job)
{
	if (!job)
		return;
	for (unsigned i = 0; i < 4 && !job->done; i++)
		if (job->tmp[i][0])
			unlink(job->tmp[i]);
	free(job->config);
	free(job->vars);
	state_buf_free(&job->devices);
	free(job);
}

/* ------------------------------------------------------------------ restoring one */

struct snapshot {
	char dir[PATH_MAX];
	char *config;
	u8 *file; /* the state file */
	size_t file_len;
	const u8 *devices; /* inside file */
	size_t devices_len;
	struct snapshot_region regions[SNAPSHOT_MAX_REGIONS];
	unsigned nr_regions;

	struct snapshot_devmem {
		char name[32];
		u64 len, file_off;
	} mems[PLATFORM_MEMS_MAX];

	unsigned nr_mems;
	u32 format;
	u64 mem_size, data_bytes, ram_bytes;
	unsigned nr_vcpus;
	char engine[16], vmm_version[64];
};

const char *snapshot_config(const struct snapshot *s)
{
	return s->config;
}

const char *snapshot_dir(const struct snapshot *s)
{
	return s->dir;
}

const char *snapshot_engine(const struct snapshot *s)
{
	return s->engine;
}

/* Read a whole file of at most max bytes; *len its size. */
static int snapshot_slurp(const char *path, size_t max, u8 **out, size_t *len, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;
	struct stat st;
	u8 *buf;

	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(err, -EINVAL, "%s: not a regular file", path);
	}
	if ((u64)st.st_size > max) {
		close(fd);
		return err_set(err, -EFBIG, "%s: %lld bytes, more than the %zu a snapshot has",
			       path, (long long)st.st_size, max);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return err_set(err, -ENOMEM, "out of memory");
	}
	ret = snapshot_read_all(fd, buf, (size_t)st.st_size, 0);
	close(fd);
	if (ret < 0) {
		free(buf);
		return err_set(err, ret, "%s: %s", path, strerror(-ret));
	}
	buf[st.st_size] = '\0';
	*out = buf;
	*len = (size_t)st.st_size;
	return 0;
}

static int snapshot_parse_info(struct snapshot *s, struct snapshot_rd *r, const char *path,
			       struct err *err)
{
	if (!snapshot_get_str(r, s->vmm_version, sizeof(s->vmm_version)) ||
	    !snapshot_get_str(r, s->engine, sizeof(s->engine)))
		return err_set(err, -EINVAL, "%s: the info section is malformed", path);
	s->nr_vcpus = (unsigned)snapshot_get_le(r, 4);
	s->ram_bytes = snapshot_get_le(r, 8);
	return r->bad || r->at != r->len ?
		       err_set(err, -EINVAL, "%s: the info section is malformed", path) :
		       0;
}

static int snapshot_parse_memory(struct snapshot *s, struct snapshot_rd *r, const char *path,
				 struct err *err)
{
	u32 page = (u32)snapshot_get_le(r, 4);
	u32 n = (u32)snapshot_get_le(r, 4);

	if (r->bad || page != SNAPSHOT_PAGE || n == 0 || n > SNAPSHOT_MAX_REGIONS)
		return err_set(err, -EINVAL,
			       "%s: the memory section is malformed (page size %u, %u "
			       "regions)",
			       path, page, n);
	for (u32 i = 0; i < n; i++) {
		struct snapshot_region *g = &s->regions[i];

		g->gpa = snapshot_get_le(r, 8);
		g->len = snapshot_get_le(r, 8);
		g->file_off = snapshot_get_le(r, 8);
	}
	s->nr_regions = n;
	s->mem_size = snapshot_get_le(r, 8);
	s->data_bytes = snapshot_get_le(r, 8);
	if (r->bad || r->at != r->len)
		return err_set(err, -EINVAL, "%s: the memory section is malformed", path);
	for (u32 i = 0; i < n; i++) {
		const struct snapshot_region *g = &s->regions[i];

		if (!g->len || (g->gpa | g->len | g->file_off) % SNAPSHOT_PAGE ||
		    g->gpa + g->len < g->gpa || g->file_off > s->mem_size ||
		    g->len > s->mem_size - g->file_off)
			return err_set(
				err, -EINVAL,
				"%s: memory region %u (%#llx, %llu bytes at file offset %llu) "
				"is not page-aligned or lies outside the memory file of %llu "
				"bytes",
				path, i, (unsigned long long)g->gpa, (unsigned long long)g->len,
				(unsigned long long)g->file_off, (unsigned long long)s->mem_size);
		for (u32 j = 0; j < i; j++) {
			const struct snapshot_region *h = &s->regions[j];

			if (g->gpa < h->gpa + h->len && h->gpa < g->gpa + g->len)
				return err_set(err, -EINVAL, "%s: memory regions %u and %u overlap",
					       path, j, i);
			if (g->file_off < h->file_off + h->len &&
			    h->file_off < g->file_off + g->len)
				return err_set(err, -EINVAL,
					       "%s: memory regions %u and %u share file bytes",
					       path, j, i);
		}
	}
	return 0;
}

/* Two byte ranges [a, a+alen) and [b, b+blen) overlap. */
static bool snapshot_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

static int snapshot_parse_devmem(struct snapshot *s, struct snapshot_rd *r, const char *path,
				 struct err *err)
{
	u32 n = (u32)snapshot_get_le(r, 4);

	if (r->bad || n > PLATFORM_MEMS_MAX)
		return err_set(err, -EINVAL, "%s: the devmem section is malformed (%u memories)",
			       path, n);
	for (u32 i = 0; i < n; i++) {
		struct snapshot_devmem *d = &s->mems[i];

		if (!snapshot_get_str(r, d->name, sizeof(d->name)))
			return err_set(err, -EINVAL, "%s: the devmem section is malformed", path);
		d->len = snapshot_get_le(r, 8);
		d->file_off = snapshot_get_le(r, 8);
	}
	s->nr_mems = n;
	if (r->bad || r->at != r->len)
		return err_set(err, -EINVAL, "%s: the devmem section is malformed", path);
	return 0;
}

/* Device memory inside the memory file, sharing its bytes with nothing else. */
static int snapshot_check_devmem(const struct snapshot *s, const char *path, struct err *err)
{
	for (unsigned i = 0; i < s->nr_mems; i++) {
		const struct snapshot_devmem *d = &s->mems[i];

		if (!d->len || (d->len | d->file_off) % SNAPSHOT_PAGE ||
		    d->file_off > s->mem_size || d->len > s->mem_size - d->file_off)
			return err_set(err, -EINVAL,
				       "%s: %s's memory (%llu bytes at file offset %llu) is not "
				       "page-aligned or lies outside the memory file of %llu bytes",
				       path, d->name, (unsigned long long)d->len,
				       (unsigned long long)d->file_off,
				       (unsigned long long)s->mem_size);
		for (unsigned j = 0; j < s->nr_regions; j++)
			if (snapshot_overlap(d->file_off, d->len, s->regions[j].file_off,
					     s->regions[j].len))
				return err_set(
					err, -EINVAL,
					"%s: %s's memory shares file bytes with RAM region %u",
					path, d->name, j);
		for (unsigned j = 0; j < i; j++)
			if (snapshot_overlap(d->file_off, d->len, s->mems[j].file_off,
					     s->mems[j].len) ||
			    !strcmp(d->name, s->mems[j].name))
				return err_set(
					err, -EINVAL,
					"%s: the memories of %s and %s share file bytes or a "
					"name",
					path, s->mems[j].name, d->name);
	}
	return 0;
}

/* Parse s->file: header, sections, trailer. */
static int snapshot_parse(struct snapshot *s, const char *path, struct err *err)
{
	struct snapshot_rd r = { .p = s->file, .len = s->file_len };
	bool have_info = false, have_mem = false, have_dev = false, have_devmem = false;
	u32 format, hlen, nr, crc;
	const u8 *magic;

	magic = snapshot_rd_take(&r, 8);
	if (!magic || memcmp(magic, SNAPSHOT_MAGIC, 8))
		return err_set(err, -EINVAL, "%s: not a snapshot state file (no VMMSNAP magic)",
			       path);
	format = (u32)snapshot_get_le(&r, 4);
	if (format > SNAPSHOT_FORMAT)
		return err_set(
			err, -EPROTONOSUPPORT,
			"%s: format %u was written by a newer VMM; this one reads formats %u "
			"to %u",
			path, format, SNAPSHOT_FORMAT_MIN, SNAPSHOT_FORMAT);
	if (format < SNAPSHOT_FORMAT_MIN)
		return err_set(err, -EPROTONOSUPPORT,
			       "%s: format %u is older than this VMM reads (formats %u to %u)",
			       path, format, SNAPSHOT_FORMAT_MIN, SNAPSHOT_FORMAT);
	s->format = format;
	if (s->file_len < SNAPSHOT_HEADER_LEN + 4)
		return err_set(err, -EINVAL, "%s: truncated (%zu bytes)", path, s->file_len);
	crc = (u32)s->file[s->file_len - 4] | (u32)s->file[s->file_len - 3] << 8 |
	      (u32)s->file[s->file_len - 2] << 16 | (u32)s->file[s->file_len - 1] << 24;
	if (crc != (u32)crc32(0, s->file, (uInt)(s->file_len - 4)))
		return err_set(err, -EBADMSG,
			       "%s: checksum mismatch: the file is damaged or was changed", path);
	hlen = (u32)snapshot_get_le(&r, 4);
	nr = (u32)snapshot_get_le(&r, 4);
	if (hlen != SNAPSHOT_HEADER_LEN || snapshot_get_le(&r, 4) != 0)
		return err_set(err, -EINVAL, "%s: unknown header (length %u) or flags", path, hlen);
	snapshot_get_le(&r, 8); /* creation time */
	r.len = s->file_len - 4;
	for (u32 i = 0; i < nr; i++) {
		char name[64];
		u32 version, flags;
		struct snapshot_rd sec;
		u64 len;
		int ret = 0;

		if (!snapshot_get_str(&r, name, sizeof(name)))
			return err_set(err, -EINVAL, "%s: section %u: malformed name", path, i);
		version = (u32)snapshot_get_le(&r, 4);
		flags = (u32)snapshot_get_le(&r, 4);
		len = snapshot_get_le(&r, 8);
		if (!r.bad && len <= r.len - r.at)
			sec = (struct snapshot_rd){ .p = snapshot_rd_take(&r, (size_t)len),
						    .len = (size_t)len };
		else
			sec = (struct snapshot_rd){ 0 };
		if (!sec.p)
			return err_set(err, -EINVAL, "%s: section %s: %llu bytes past the end",
				       path, name, (unsigned long long)len);
		if ((!strcmp(name, "info") && have_info) || (!strcmp(name, "memory") && have_mem) ||
		    (!strcmp(name, "devices") && have_dev) ||
		    (!strcmp(name, "devmem") && have_devmem))
			return err_set(err, -EINVAL, "%s: two %s sections", path, name);
		if ((!strcmp(name, "info") || !strcmp(name, "memory") || !strcmp(name, "devices") ||
		     !strcmp(name, "devmem")) &&
		    version != 1)
			return err_set(
				err, -EPROTONOSUPPORT,
				"%s: section %s version %u is not known to this VMM (it reads "
				"version 1)",
				path, name, version);
		if (!strcmp(name, "info")) {
			have_info = true;
			ret = snapshot_parse_info(s, &sec, path, err);
		} else if (!strcmp(name, "memory")) {
			have_mem = true;
			ret = snapshot_parse_memory(s, &sec, path, err);
		} else if (!strcmp(name, "devmem") && format >= 2) {
			have_devmem = true;
			ret = snapshot_parse_devmem(s, &sec, path, err);
		} else if (!strcmp(name, "devices")) {
			have_dev = true;
			s->devices = sec.p;
			s->devices_len = sec.len;
		} else if (!(flags & SNAPSHOT_SEC_SKIPPABLE)) {
			return err_set(err, -EPROTONOSUPPORT,
				       "%s: section %s is not known to this VMM (a newer VMM wrote "
				       "it)",
				       path, name);
		}
		if (ret < 0)
			return ret;
	}
	if (r.bad || r.at != r.len)
		return err_set(err, -EINVAL, "%s: bytes after the last section", path);
	if (!have_info || !have_mem || !have_dev || (format >= 2 && !have_devmem))
		return err_set(err, -EINVAL, "%s: the %s section is missing", path,
			       !have_info ? "info" :
			       !have_mem  ? "memory" :
			       !have_dev  ? "devices" :
					    "devmem");
	return snapshot_check_devmem(s, path, err);
}

int snapshot_open(const char *dir, struct snapshot **out, struct err *err)
{
	char path[PATH_MAX];
	struct snapshot *s = calloc(1, sizeof(*s));
	struct stat st;
	size_t len;
	int ret;

	if (!s)
		return err_set(err, -ENOMEM, "out of memory");
	if (!realpath(dir, s->dir)) {
		ret = err_set(err, -errno, "%s: %s", dir, strerror(errno));
		goto err_free;
	}
	ret = snapshot_path(path, sizeof(path), s->dir, SNAPSHOT_STATE);
	if (ret == 0)
		ret = snapshot_slurp(path, SNAPSHOT_STATE_MAX, &s->file, &s->file_len, err);
	else
		err_set(err, ret, "%s: path too long", dir);
	if (ret == 0)
		ret = snapshot_parse(s, path, err);
	if (ret < 0)
		goto err_free;
	ret = snapshot_path(path, sizeof(path), s->dir, SNAPSHOT_CONFIG);
	if (ret == 0)
		ret = snapshot_slurp(path, SNAPSHOT_CONFIG_MAX, (u8 **)&s->config, &len, err);
	if (ret < 0)
		goto err_free;
	if (strlen(s->config) != len) {
		ret = err_set(err, -EINVAL, "%s: a NUL byte in the spec", path);
		goto err_free;
	}
	ret = snapshot_path(path, sizeof(path), s->dir, SNAPSHOT_MEMORY);
	if (ret == 0 && stat(path, &st) < 0)
		ret = err_set(err, -errno, "%s: the snapshot's guest memory file is missing: %s",
			      path, strerror(errno));
	else if (ret == 0 && (!S_ISREG(st.st_mode) || (u64)st.st_size != s->mem_size))
		ret = err_set(err, -EINVAL,
			      "%s: %lld bytes, but the state says the memory file has %llu", path,
			      (long long)st.st_size, (unsigned long long)s->mem_size);
	if (ret < 0)
		goto err_free;
	*out = s;
	return 0;

err_free:
	snapshot_close(s);
	return ret;
}

void snapshot_close(struct snapshot *s)
{
	if (!s)
		return;
	free(s->config);
	free(s->file);
	free(s);
}

int snapshot_restore_disks(struct vm_spec *spec, char **created, struct err *err)
{
	for (unsigned i = 0; i < spec->nr_disks; i++)
		created[i] = NULL;
	for (unsigned i = 0; i < spec->nr_disks; i++) {
		struct disk_spec *ds = &spec->disks[i];
		struct blockdev_spec bs = { .path = ds->path,
					    .format = ds->format == DISK_FORMAT_RAW ?
							      BLOCKDEV_FORMAT_RAW :
							      BLOCKDEV_FORMAT_AUTO,
					    .readonly = false,
					    .engine = "sync" };
		struct blockdev *bd;
		char *child = NULL;
		int ret;

		if (ds->readonly || ds->cdrom)
			continue;
		/* Open the frozen image only to put a new delta on it; the VM opens the delta. */
		ret = blockdev_open(&bs, &bd, err);
		if (ret < 0)
			return err_prefix(err, "disks[%u]", i), ret;
		if (blockdev_format(bd) != BLOCKDEV_FORMAT_VMDK) {
			blockdev_close(bd);
			return err_set(
				err, -ENOTSUP,
				"disks[%u]: %s is a raw image: a snapshot's writable disks are "
				"VMDK images it froze",
				i, ds->path);
		}
		ret = snapshot_freeze(bd, &child, err);
		blockdev_close(bd);
		if (ret < 0)
			return err_prefix(err, "disks[%u]", i), ret;
		log_info("disks[%u]: the restored VM writes to %s, a new delta on %s (which stays "
			 "as the snapshot left it)",
			 i, child, ds->path);
		free(ds->path);
		ds->path = child;
		ds->format = DISK_FORMAT_VMDK;
		created[i] = strdup(child);
		if (!created[i])
			return err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The store at path, whole: a regular file of at most SPEC_FLASH_MAX bytes. */
static int snapshot_read_vars(const char *path, u8 **out, size_t *len, struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), ret;
	struct stat st;

	*out = NULL;
	if (fd < 0)
		return err_set(err, -errno, "boot.firmware_vars: cannot open %s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (u64)st.st_size > SPEC_FLASH_MAX) {
		ret = err_set(err, -EINVAL, "boot.firmware_vars: %s is not a variable store", path);
		goto out;
	}
	*len = (size_t)st.st_size;
	*out = malloc(*len);
	ret = *out ? snapshot_read_all(fd, *out, *len, 0) : -ENOMEM;
	if (ret < 0)
		err_set(err, ret, "boot.firmware_vars: cannot read %s: %s", path, strerror(-ret));
out:
	close(fd);
	return ret;
}

int snapshot_restore_vars(struct vm_spec *spec, char **created, struct err *err)
{
	const char *from = spec->boot.firmware_vars, *ext;
	char path[PATH_MAX];
	size_t len = 0;
	u8 *data;
	int ret, fd = -1;

	*created = NULL;
	if (!from)
		return 0;
	ret = snapshot_read_vars(from, &data, &len, err);
	if (ret < 0)
		return ret;
	ext = strrchr(from, '.');
	if (!ext || strchr(ext, '/'))
		ext = "";
	for (unsigned n = 1; n <= SNAPSHOT_DISK_CHILD_MAX && fd < 0; n++) {
		if (snapshot_child_name(from, ext, n, path, sizeof(path)) < 0) {
			ret = err_set(err, -ENAMETOOLONG, "boot.firmware_vars: %s: name too long",
				      from);
			goto out;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0 && errno != EEXIST) {
			ret = err_set(err, -errno, "boot.firmware_vars: cannot create %s: %s", path,
				      strerror(errno));
			goto out;
		}
	}
	if (fd < 0) {
		ret = err_set(err, -EEXIST, "boot.firmware_vars: %s: no free name for a copy",
			      from);
		goto out;
	}
	ret = snapshot_write_all(fd, data, len, 0);
	if (ret == 0 && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (ret < 0) {
		unlink(path);
		err_set(err, ret, "boot.firmware_vars: cannot write %s: %s", path, strerror(-ret));
		goto out;
	}
	*created = strdup(path);
	if (!*created) {
		unlink(path);
		ret = err_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	log_info("boot.firmware_vars: the restored VM writes to %s, a copy of %s (which stays as "
		 "the snapshot left it)",
		 path, from);
	free(spec->boot.firmware_vars);
	spec->boot.firmware_vars = strdup(path);
	if (!spec->boot.firmware_vars) {
		spec->boot.firmware_vars = NULL;
		unlink(path);
		free(*created);
		*created = NULL;
		ret = err_set(err, -ENOMEM, "out of memory");
	}
out:
	free(data);
	return ret;
}

/* Read the memory file's data extents of one region into RAM. */
static int snapshot_read_region(int fd, const struct snapshot_region *g, void *hva, u64 *data_bytes)
{
	u64 end = g->file_off + g->len, pos = g->file_off;

	while (pos < end) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA), hole;
		int ret;

		if (data < 0 && errno == ENXIO)
			return 0; /* only holes from here on */
		if (data < 0)	  /* no SEEK_DATA here: read it all */
			return snapshot_read_all(fd, (u8 *)hva + (pos - g->file_off), end - pos,
						 (off_t)pos);
		if ((u64)data >= end)
			return 0;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || (u64)hole > end)
			hole = (off_t)end;
		ret = snapshot_read_all(fd, (u8 *)hva + ((u64)data - g->file_off),
					(size_t)(hole - data), data);
		if (ret < 0)
			return ret;
		*data_bytes += (u64)(hole - data);
		pos = (u64)hole;
	}
	return 0;
}

/* The VM's RAM must have the snapshot's layout. */
static int snapshot_check_layout(const struct snapshot *s, const struct gmem *mem, struct err *err)
{
	bool same = mem->nr == s->nr_regions;

	for (unsigned i = 0; same && i < mem->nr; i++)
		same = mem->regions[i].gpa == s->regions[i].gpa &&
		       mem->regions[i].len == s->regions[i].len;
	if (same)
		return 0;
	return err_set(err, -EINVAL,
		       "%s: the snapshot's guest memory (%llu MiB in %u regions) does not match "
		       "this VM's (%llu MiB in %u regions): the spec must be the snapshot's",
		       s->dir, (unsigned long long)(s->ram_bytes >> 20), s->nr_regions,
		       (unsigned long long)(mem->ram_bytes >> 20), mem->nr);
}

/*
 * The devices' memory (video RAM) from the memory file: the VM's must be the snapshot's, each
 * by name and length. A format 1 snapshot has none: it gets what a direct boot's board puts
 * there (the VM was made without its boot payload, VM_CREATE_FOR_STATE), as when it was taken.
 */
static int snapshot_read_devmem(const struct snapshot *s, struct vm *vm, int fd, u64 *data_bytes,
				struct err *err)
{
	struct platform_mem mems[PLATFORM_MEMS_MAX];
	int n = platform_mems(&vm->plat, mems), ret = 0;

	if (n < 0)
		return err_set(err, -ENOTSUP, "%s: more than %u devices with memory of their own",
			       vm->spec->name, PLATFORM_MEMS_MAX);
	if (s->format < 2) {
		if (n) {
			vm_boot_screen(vm);
			log_info("%s: a format %u snapshot holds no video RAM: the screen shows "
				 "what the new VM's board put there until the guest draws it again",
				 s->dir, s->format);
		}
		return 0;
	}
	for (int i = 0; i < n || (unsigned)i < s->nr_mems; i++) {
		const struct snapshot_devmem *d = (unsigned)i < s->nr_mems ? &s->mems[i] : NULL;

		if (i >= n || !d || strcmp(d->name, mems[i].dev->name) || d->len != mems[i].len)
			return err_set(err, -EINVAL,
				       "%s: the snapshot's device memory (%s, %llu KiB) does not "
				       "match this VM's (%s, %llu KiB): the spec must be the "
				       "snapshot's",
				       s->dir, d ? d->name : "none",
				       d ? (unsigned long long)(d->len >> 10) : 0ull,
				       i < n ? mems[i].dev->name : "none",
				       i < n ? (unsigned long long)(mems[i].len >> 10) : 0ull);
	}
	for (int i = 0; ret == 0 && i < n; i++) {
		struct snapshot_region g = { .len = s->mems[i].len,
					     .file_off = s->mems[i].file_off };

		snapshot_mem_zero_range(mems[i].hva, mems[i].len);
		ret = snapshot_read_region(fd, &g, mems[i].hva, data_bytes);
	}
	if (ret < 0)
		return err_set(err, ret, "%s: cannot read the devices' memory: %s", s->dir,
			       strerror(-ret));
	return 0;
}

int snapshot_restore(struct snapshot *s, struct vm *vm, struct snapshot_mem_stats *stats,
		     struct err *err)
{
	struct gmem *mem = &vm->plat.mem;
	char path[PATH_MAX];
	struct timespec t0, t1;
	u64 data_bytes = 0;
	int fd, ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Another engine's snapshot: vm_state_load converts its chips or says why it cannot. */
	if (strcmp(s->engine, vm->accel->name))
		log_info("%s: the snapshot was taken under the %s engine; this VM runs on %s",
			 s->dir, s->engine, vm->accel->name);
	ret = snapshot_check_layout(s, mem, err);
	if (ret < 0)
		return ret;
	if (s->nr_vcpus != vm->nr_vcpus)
		return err_set(err, -EINVAL,
			       "%s: the snapshot has %u vCPUs, this VM %u: the spec must be the "
			       "snapshot's",
			       s->dir, s->nr_vcpus, vm->nr_vcpus);
	if (snapshot_path(path, sizeof(path), s->dir, SNAPSHOT_MEMORY) < 0)
		return err_set(err, -ENAMETOOLONG, "%s: path too long", s->dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "%s: %s", path, strerror(errno));
	/* What the boot loader put in RAM goes: the snapshot's holes are zeros. */
	snapshot_mem_zero(mem);
	for (unsigned i = 0; ret == 0 && i < s->nr_regions; i++)
		ret = snapshot_read_region(fd, &s->regions[i], mem->regions[i].hva, &data_bytes);
	if (ret < 0) {
		close(fd);
		return err_set(err, ret, "%s: cannot read guest memory: %s", path, strerror(-ret));
	}
	if (ret == 0)
		ret = snapshot_read_devmem(s, vm, fd, &data_bytes, err);
	close(fd);
	if (ret < 0)
		return ret;
	/* Code the engine translated from the old bytes must go. */
	for (unsigned i = 0; vm->accel->mem_written && i < mem->nr; i++)
		vm->accel->mem_written(vm->avm, mem->regions[i].gpa, mem->regions[i].len);
	ret = vm_state_load(vm, s->devices, s->devices_len, err);
	if (ret < 0)
		return err_prefix(err, "%s", s->dir), ret;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (stats) {
		stats->ram_bytes = mem->ram_bytes;
		stats->data_bytes = data_bytes;
		stats->ns = (u64)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (u64)t1.tv_nsec -
			    (u64)t0.tv_nsec;
	}
	return 0;
}
