/* SPDX-License-Identifier: MIT */
/* Helpers for the boot loader unit tests: temporary files and a PC-like guest memory. */
#ifndef TESTS_UNIT_BOOT_TEST_UTIL_H
#define TESTS_UNIT_BOOT_TEST_UTIL_H

#include "vmm/base/types.h"
#include "vmm/gmem.h"

#include <stddef.h>

/* Write len bytes to a new temporary file; returns its malloc'ed path. Aborts the test on error. */
char *bt_write_temp(const void *data, size_t len);
/* A sparse temporary file of len bytes. */
char *bt_sparse_temp(u64 len);
/* Remove and free a path from bt_write_temp/bt_sparse_temp. */
void bt_remove_temp(char *path);
/* gmem_init_pc with the test failing on error. */
void bt_gmem_init(struct gmem *mem, u64 ram_bytes);
/* Read guest memory with the test failing on error. */
void bt_read(const struct gmem *mem, u64 gpa, void *buf, size_t len);
u32 bt_read32(const struct gmem *mem, u64 gpa);
u64 bt_read64(const struct gmem *mem, u64 gpa);

#endif
