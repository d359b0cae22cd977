// SPDX-License-Identifier: MIT
/* Replaying a corpus without libFuzzer (fuzz_replay.h). */
#include "fuzz_replay.h"

#include "vmm/base/types.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const u8 *data, size_t size);

static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	u8 *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int fuzz_replay_main(int argc, char **argv)
{
	unsigned replayed = 0;

	for (int i = 1; i < argc; i++) {
		DIR *dir = opendir(argv[i]);
		struct dirent *de;

		if (!dir) {
			if (fuzz_replay_file(argv[i]) < 0)
				return fprintf(stderr, "cannot read %s\n", argv[i]), 1;
			replayed++;
			continue;
		}
		while ((de = readdir(dir))) {
			char path[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (fuzz_replay_file(path) < 0) {
				closedir(dir);
				return fprintf(stderr, "cannot read %s\n", path), 1;
			}
			replayed++;
		}
		closedir(dir);
	}
	printf("replayed %u inputs\n", replayed);
	return replayed ? 0 : 1;
}
