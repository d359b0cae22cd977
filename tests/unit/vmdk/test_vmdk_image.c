// SPDX-License-Identifier: MIT
/*
 * Unit tests of the sparse extent header checks, image create/open, grain allocation and its
 * write order, CID renewal, the unclean flag, delta fall-through, check/repair and the
 * stream-optimized writer and reader (vmdk.c, vmdk_sparse.c, vmdk_stream.c, vmdk_create.c).
 * Images are made by our own create code in a fresh temporary folder per test.
 */
#include "tmpdir.h"
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static int fx_setup(void **state)
{
	return test_tmpdir_setup(state, "test-vmdk", "a.vmdk");
}

static int fx_teardown(void **state)
{
	return test_tmpdir_teardown(state);
}

static u8 sector_hdr[512];

static void make_hdr(void)
{
	struct vmdk_sparse_hdr h = { .version = 1,
				     .flags = 3,
				     .capacity = 2048,
				     .grain_size = 128,
				     .desc_offset = 1,
				     .desc_size = 20,
				     .gtes_per_gt = 512,
				     .rgd_offset = 21,
				     .gd_offset = 23,
				     .overhead = 128 };

	vmdk_sparse_encode_header(&h, sector_hdr);
}

static int hdr_parse(u64 file_size)
{
	struct vmdk_sparse_hdr h;
	struct err e = { 0 };

	return vmdk_sparse_parse_header(sector_hdr, file_size, &h, "t", &e);
}

static void test_header_checks(void **state)
{
	(void)state;
	make_hdr();
	assert_int_equal(hdr_parse(65536), 0);
	assert_int_equal(hdr_parse(60000), -EINVAL); /* overHead past EOF */
	sector_hdr[0] = 'X';
	assert_int_equal(hdr_parse(65536), -EINVAL);
	make_hdr();
	vmdk_put32(sector_hdr + 4, 4);
	assert_int_equal(hdr_parse(65536), -ENOTSUP);
	make_hdr();
	for (u64 g = 0; g < 4100; g++) {
		bool ok = g >= 8 && g <= 2048 && !(g & (g - 1));

		vmdk_put64(sector_hdr + 20, g);
		vmdk_put64(sector_hdr + 12, g ? g * 4 : 8);
		assert_int_equal(hdr_parse(1 << 24) == 0, ok);
	}
	make_hdr();
	vmdk_put32(sector_hdr + 44, 1000);
	assert_int_equal(hdr_parse(65536), -EINVAL);
	make_hdr();
	vmdk_put64(sector_hdr + 12, 1ull << 60);
	assert_int_equal(hdr_parse(65536), -EFBIG);
	make_hdr();
	sector_hdr[75] = '\n'; /* "\n \n\n": text-mode transfer */
	assert_int_equal(hdr_parse(65536), -EINVAL);
	make_hdr();
	vmdk_put64(sector_hdr + 56, 200); /* GD past EOF */
	assert_int_equal(hdr_parse(65536), -EINVAL);
	make_hdr();
	vmdk_put64(sector_hdr + 28, 400); /* descriptor past EOF */
	assert_int_equal(hdr_parse(65536), -EINVAL);
	make_hdr();
	vmdk_put32(sector_hdr + 8, 3 | VMDK_FLAG_COMPRESS); /* compressed, algorithm 0 */
	assert_int_equal(hdr_parse(65536), -ENOTSUP);
}

static struct vmdk_image *open_img(const char *path, bool ro)
{
	struct vmdk_open_opts o = { .readonly = ro };
	struct vmdk_image *img = NULL;
	struct err e = { 0 };

	if (vmdk_image_open(path, &o, &img, &e) < 0)
		print_error("open %s: %s\n", path, e.msg);
	return img;
}

static u8 read_byte_at(int fd, u64 off)
{
	u8 b = 0xee;

	assert_int_equal(pread(fd, &b, 1, (off_t)off), 1);
	return b;
}

static void test_write_allocates_and_reads_back(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_image *img;
	struct err e = { 0 };
	u8 *buf = malloc(300000), *rd = malloc(300000);
	struct stat st0, st1;

	assert_int_equal(vmdk_create(f->path, 4 << 20, &co, &e), 0);
	assert_int_equal(stat(f->path, &st0), 0);
	img = open_img(f->path, false);
	assert_non_null(img);
	assert_int_equal(read_byte_at(img->ext[0].fd, 72), 1); /* unclean while open rw */
	for (int i = 0; i < 300000; i++)
		buf[i] = (u8)(i * 7 + 1);
	assert_int_equal(vmdk_image_pwrite(img, buf, 300000, 1000), 0); /* 6 grains, partial ends */
	assert_int_equal(vmdk_image_pread(img, rd, 300000, 1000), 0);
	assert_memory_equal(buf, rd, 300000);
	assert_int_equal(vmdk_image_pread(img, rd, 1000, 0), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rd[i], 0);
	assert_int_equal(vmdk_image_pwrite(img, buf, 10, img->size), -EINVAL); /* past the end */
	assert_int_equal(vmdk_image_close(img), 0);
	assert_int_equal(stat(f->path, &st1), 0);
	assert_int_equal(st1.st_size - st0.st_size, 5 * 65536); /* grains 0..4 touched */
	img = open_img(f->path, true);
	assert_int_equal(read_byte_at(img->ext[0].fd, 72), 0); /* cleared on close */
	assert_int_equal(vmdk_image_pread(img, rd, 300000, 1000), 0);
	assert_memory_equal(buf, rd, 300000);
	vmdk_image_close(img);
	free(buf);
	free(rd);
}

static void test_cid_changes_on_first_write(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_image *img;
	struct err e = { 0 };
	u8 buf[512] = { 1 };
	u32 c0, c1;

	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	img = open_img(f->path, true);
	c0 = img->desc.cid;
	vmdk_image_close(img);
	img = open_img(f->path, false);
	assert_int_equal(vmdk_image_pwrite(img, buf, 512, 0), 0);
	c1 = img->desc.cid;
	assert_int_not_equal(c0, c1);
	assert_int_equal(vmdk_image_pwrite(img, buf, 512, 512), 0);
	assert_int_equal(img->desc.cid, c1); /* once per open */
	vmdk_image_close(img);
	img = open_img(f->path, true);
	assert_int_equal(img->desc.cid, c1); /* persisted in the embedded descriptor */
	vmdk_image_close(img);
}

static void test_delta_falls_through_and_masks(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_image *base, *child;
	char cpath[160];
	struct err e = { 0 };
	u8 a[4096], b[4096], rd[8192];

	memset(a, 0xaa, sizeof(a));
	memset(b, 0xbb, sizeof(b));
	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	base = open_img(f->path, false);
	assert_int_equal(vmdk_image_pwrite(base, a, 4096, 65536), 0);
	assert_int_equal(vmdk_image_pwrite(base, a, 4096, 65536 + 4096), 0);
	co.parent = "a.vmdk";
	co.parent_cid = base->desc.cid;
	vmdk_image_close(base);
	snprintf(cpath, sizeof(cpath), "%s/c.vmdk", f->dir);
	assert_int_equal(vmdk_create(cpath, 1 << 20, &co, &e), 0);
	child = open_img(cpath, false);
	assert_non_null(child);
	assert_non_null(child->parent);
	assert_int_equal(vmdk_image_pwrite(child, b, 4096, 65536 + 4096), 0); /* partial grain */
	assert_int_equal(vmdk_image_pread(child, rd, 8192, 65536), 0);
	assert_memory_equal(rd, a, 4096); /* copied up from the parent on allocation */
	assert_memory_equal(rd + 4096, b, 4096);
	vmdk_image_close(child);
	base = open_img(f->path, true); /* the parent is untouched */
	assert_int_equal(vmdk_image_pread(base, rd, 8192, 65536), 0);
	assert_memory_equal(rd + 4096, a, 4096);
	vmdk_image_close(base);
}

static void test_parent_cid_mismatch_refused(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_open_opts o = { .readonly = true };
	struct vmdk_image *img;
	char cpath[160];
	struct err e = { 0 };

	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	co.parent = "a.vmdk";
	co.parent_cid = 0x1234;
	snprintf(cpath, sizeof(cpath), "%s/c.vmdk", f->dir);
	assert_int_equal(vmdk_create(cpath, 1 << 20, &co, &e), 0);
	assert_int_equal(vmdk_image_open(cpath, &o, &img, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "modified"));
	o.no_parent = true; /* check/info of the delta alone still works */
	assert_int_equal(vmdk_image_open(cpath, &o, &img, &e), 0);
	vmdk_image_close(img);
}

static void test_check_leak_and_stale_rgt_repair(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_open_opts o = { .no_auto_repair = true };
	struct vmdk_check_result r;
	struct vmdk_image *img;
	struct err e = { 0 };
	u8 buf[65536];
	u32 gte;
	int fd;

	memset(buf, 0x42, sizeof(buf));
	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	img = open_img(f->path, false);
	assert_int_equal(vmdk_image_pwrite(img, buf, sizeof(buf), 0), 0);
	assert_int_equal(vmdk_sparse_check(img->ext[0].sp, false, &r, &e), 0);
	assert_int_equal(r.allocated_grains, 1);
	assert_int_equal(r.leaked_clusters + r.corruptions + r.rgd_mismatch, 0);
	gte = img->ext[0].sp->gt[0][0];
	vmdk_image_close(img);
	/* crash after data, before any table entry: a leaked grain at the end */
	fd = open(f->path, O_WRONLY);
	assert_int_equal(pwrite(fd, buf, sizeof(buf), lseek(fd, 0, SEEK_END)), sizeof(buf));
	/* crash between the redundant and the primary entry: primary still 0 */
	assert_int_equal(pwrite(fd, "\0\0\0\0", 4, 27 * 512), 4); /* GT of a 1 MiB image */
	close(fd);
	assert_int_equal(vmdk_image_open(f->path, &o, &img, &e), 0);
	assert_int_equal(img->ext[0].sp->h.gd_offset, 26);
	assert_int_equal(vmdk_sparse_lookup(img->ext[0].sp, 0, &gte), 0);
	assert_int_not_equal(gte, 0); /* the redundant copy is used */
	assert_int_equal(vmdk_sparse_check(img->ext[0].sp, false, &r, &e), 0);
	assert_int_equal(r.leaked_clusters, 1);
	assert_int_equal(r.rgd_mismatch, 1);
	assert_int_equal(vmdk_sparse_check(img->ext[0].sp, true, &r, &e), 0);
	assert_int_equal(vmdk_sparse_check(img->ext[0].sp, false, &r, &e), 0);
	assert_int_equal(r.leaked_clusters + r.rgd_mismatch + r.corruptions, 0);
	vmdk_image_close(img);
}

static void test_unclean_open_rw_repairs(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_check_result r;
	struct vmdk_image *img;
	struct err e = { 0 };
	u8 buf[65536] = { 1 };
	int fd;

	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	fd = open(f->path, O_WRONLY);
	assert_int_equal(pwrite(fd, "\1", 1, 72), 1);
	assert_int_equal(pwrite(fd, buf, sizeof(buf), 65536 * 3), sizeof(buf)); /* a leak */
	close(fd);
	img = open_img(f->path, false); /* unclean + rw: reconciled and repaired on open */
	assert_int_equal(vmdk_sparse_check(img->ext[0].sp, false, &r, &e), 0);
	assert_int_equal(r.leaked_clusters, 0);
	vmdk_image_close(img);
}

static void test_stream_roundtrip(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { .subformat = "streamOptimized" };
	struct vmdk_stream_writer *w;
	struct vmdk_image *img;
	struct vmdk_open_opts o = { 0 };
	struct err e = { 0 };
	u8 g[65536], rd[65536];
	int fd;

	co.stream_out = &w;
	co.stream_fd = &fd;
	assert_int_equal(vmdk_create(f->path, 40 << 20, &co, &e), 0);
	for (u64 i = 0; i < 640; i += 37) {
		memset(g, (int)(i + 1), sizeof(g));
		assert_int_equal(vmdk_stream_writer_grain(w, i, g, sizeof(g)), 0);
	}
	assert_int_equal(vmdk_stream_writer_grain(w, 3, g, sizeof(g)), -EINVAL); /* order */
	assert_int_equal(vmdk_stream_writer_close(w, &e), 0);
	close(fd);
	assert_int_equal(vmdk_image_open(f->path, &o, &img, &e), -EROFS); /* read-only only */
	img = open_img(f->path, true);
	assert_non_null(img);
	assert_true(img->ext[0].sp->hdr_is_footer);
	for (u64 i = 0; i < 640; i++) {
		assert_int_equal(vmdk_image_pread(img, rd, sizeof(rd), i * 65536), 0);
		memset(g, i % 37 == 0 ? (int)(i + 1) : 0, sizeof(g));
		assert_memory_equal(rd, g, sizeof(g));
	}
	vmdk_image_close(img);
}

static void test_confinement(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_open_opts o = { .readonly = true };
	struct vmdk_image *img;
	struct err e = { 0 };
	char p[160], sub[160];
	FILE *fp;

	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(p, sizeof(p), "%s/data", f->dir);
	fp = fopen(p, "w");
	assert_int_equal(ftruncate(fileno(fp), 4096), 0);
	fclose(fp);
	snprintf(p, sizeof(p), "%s/sub/d.vmdk", f->dir);
	fp = fopen(p, "w");
	fputs("# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
	      "createType=\"monolithicFlat\"\nRW 8 FLAT \"../data\" 0\n",
	      fp);
	fclose(fp);
	assert_int_equal(vmdk_image_open(p, &o, &img, &e), -EPERM);
	o.allow_outside = true;
	assert_int_equal(vmdk_image_open(p, &o, &img, &e), 0);
	assert_int_equal(img->size, 4096);
	vmdk_image_close(img);
}

/* How many times the file at path was opened while child was opened and closed (inotify
 * IN_OPEN on its inode; accesses and closes are watched too, because inotify merges an event
 * identical to the one before it). */
static unsigned count_opens(const char *path, const char *child, const struct vmdk_open_opts *o)
{
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	char evbuf[4096] __attribute__((aligned(8)));
	struct vmdk_image *img;
	struct err e = { 0 };
	unsigned opens = 0;
	ssize_t n;

	assert_true(in >= 0);
	assert_true(inotify_add_watch(in, path, IN_OPEN | IN_ACCESS | IN_MODIFY | IN_CLOSE) >= 0);
	assert_int_equal(vmdk_image_open(child, o, &img, &e), 0);
	assert_non_null(img->parent);
	vmdk_image_close(img);
	while ((n = read(in, evbuf, sizeof(evbuf))) > 0)
		for (char *p = evbuf; p < evbuf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			opens += !!(ev->mask & IN_OPEN);
			p += sizeof(*ev) + ev->len;
		}
	close(in);
	return opens;
}

/*
 * The parent named by a delta is opened once, and that descriptor is the one used: nothing
 * re-opens it by name after the confinement check, so the file cannot be swapped (for a
 * symlink, for another file) in between. Before, it was opened twice.
 */
static void test_parent_opened_once(void **state)
{
	struct test_tmpdir *f = *state;
	struct vmdk_create_opts co = { 0 };
	struct vmdk_open_opts o = { .readonly = true };
	struct vmdk_image *base;
	char cpath[160];
	struct err e = { 0 };

	assert_int_equal(vmdk_create(f->path, 1 << 20, &co, &e), 0);
	base = open_img(f->path, true);
	co.parent = "a.vmdk";
	co.parent_cid = base->desc.cid;
	vmdk_image_close(base);
	snprintf(cpath, sizeof(cpath), "%s/c.vmdk", f->dir);
	assert_int_equal(vmdk_create(cpath, 1 << 20, &co, &e), 0);
	assert_int_equal(count_opens(f->path, cpath, &o), 1);
	o.readonly = false; /* the child read-write: the parent still read-only, once */
	assert_int_equal(count_opens(f->path, cpath, &o), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test_setup_teardown(test_write_allocates_and_reads_back, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_cid_changes_on_first_write, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_delta_falls_through_and_masks, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_parent_cid_mismatch_refused, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_check_leak_and_stale_rgt_repair, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_unclean_open_rw_repairs, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_stream_roundtrip, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_confinement, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_parent_opened_once, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests_name("vmdk_image", tests, NULL, NULL);
}
