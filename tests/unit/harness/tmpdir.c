// SPDX-License-Identifier: MIT
/* Temporary folders for tests: see tmpdir.h. */
#include "tmpdir.h"

#include <stdio.h>
#include <stdlib.h>

int test_tmpdir_make(char *dir, size_t cap, const char *prefix)
{
	if ((size_t)snprintf(dir, cap, "/tmp/%s-XXXXXX", prefix) >= cap)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

int test_tmpdir_remove(const char *dir)
{
	char cmd[320];

	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) >= sizeof(cmd))
		return -1;
	return system(cmd) ? -1 : 0;
}

int test_tmpdir_setup(void **state, const char *prefix, const char *name)
{
	struct test_tmpdir *t = calloc(1, sizeof(*t));

	if (!t || test_tmpdir_make(t->dir, sizeof(t->dir), prefix) < 0) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	*state = t;
	return 0;
}

int test_tmpdir_teardown(void **state)
{
	struct test_tmpdir *t = *state;
	int ret = test_tmpdir_remove(t->dir);

	free(t);
	return ret;
}
