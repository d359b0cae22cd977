// SPDX-License-Identifier: MIT
/* Helpers shared by the fuzz targets (fuzz.h). */
#include "fuzz.h"

#include "vmm/base/log.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FUZZ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FUZZ_ASAN 1
#endif
#endif

#ifdef FUZZ_ASAN
/* From the sanitizer runtime (clang and gcc alike; gcc ships no allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

u64 fuzz_uint(struct fuzz_in *in, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes; i++) {
		u64 b = in->pos < in->n ? in->p[in->pos++] : 0;

		v |= b << (8 * i);
	}
	return v;
}

size_t fuzz_bytes(struct fuzz_in *in, void *buf, size_t len)
{
	size_t n = len < fuzz_left(in) ? len : fuzz_left(in);

	memcpy(buf, in->p + in->pos, n);
	memset((u8 *)buf + n, 0, len - n);
	in->pos += n;
	return len;
}

size_t fuzz_heap_bytes(void)
{
#ifdef FUZZ_ASAN
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
#endif
}

int fuzz_memfd(const char *name, const void *data, size_t len, char *path)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t done = 0;

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)len) < 0)
		goto err_close;
	while (done < len) {
		ssize_t n = pwrite(fd, (const u8 *)data + done, len - done, (off_t)done);

		if (n <= 0)
			goto err_close;
		done += (size_t)n;
	}
	snprintf(path, FUZZ_PATH_MAX, "/proc/self/fd/%d", fd);
	return fd;

err_close:
	close(fd);
	return -1;
}

void fuzz_quiet_logs(void)
{
	if (!fuzz_verbose())
		log_min_level = LOG_LEVEL_ERR - 1;
}

bool fuzz_verbose(void)
{
	return getenv("FUZZ_LOG") != NULL;
}
