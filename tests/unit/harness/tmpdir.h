/* SPDX-License-Identifier: MIT */
/* Fresh temporary folders for tests that work on files. */
#ifndef TESTS_HARNESS_TMPDIR_H
#define TESTS_HARNESS_TMPDIR_H

#include <stddef.h>

/* Make /tmp/<prefix>-XXXXXX and write its name into dir (cap bytes). 0, or -1. */
int test_tmpdir_make(char *dir, size_t cap, const char *prefix);
/* Remove the folder and everything in it. 0, or -1. */
int test_tmpdir_remove(const char *dir);

/* A cmocka fixture: a fresh folder per test, and a file name in it. */
struct test_tmpdir {
	char dir[64];
	char path[128]; /* dir/name */
};

/* *state = a new struct test_tmpdir (folder made); for cmocka setup functions. 0, or -1. */
int test_tmpdir_setup(void **state, const char *prefix, const char *name);
/* Removes the folder and frees the fixture. 0, or -1. */
int test_tmpdir_teardown(void **state);

#endif
