// SPDX-License-Identifier: MIT
/* Helpers for the boot loader unit tests (see boot_test_util.h). */
#include "boot_test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static char *bt_new_temp(int *fd)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char buf[4096], *path;

	snprintf(buf, sizeof(buf), "%s/vmm-boot-test-XXXXXX", dir);
	*fd = mkstemp(buf);
	path = strdup(buf);
	assert_non_null(path);
	assert_true(*fd >= 0);
	return path;
}

char *bt_write_temp(const void *data, size_t len)
{
	int fd;
	char *path = bt_new_temp(&fd);

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

char *bt_sparse_temp(u64 len)
{
	int fd;
	char *path = bt_new_temp(&fd);

	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
	return path;
}

void bt_remove_temp(char *path)
{
	unlink(path);
	free(path);
}

void bt_gmem_init(struct gmem *mem, u64 ram_bytes)
{
	assert_int_equal(gmem_init_pc(mem, ram_bytes), 0);
}

void bt_read(const struct gmem *mem, u64 gpa, void *buf, size_t len)
{
	assert_int_equal(gmem_read(mem, gpa, buf, len), 0);
}

u32 bt_read32(const struct gmem *mem, u64 gpa)
{
	u32 v;

	bt_read(mem, gpa, &v, sizeof(v));
	return v;
}

u64 bt_read64(const struct gmem *mem, u64 gpa)
{
	u64 v;

	bt_read(mem, gpa, &v, sizeof(v));
	return v;
}
