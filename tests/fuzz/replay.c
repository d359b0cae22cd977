// SPDX-License-Identifier: MIT
/*
 * The main() of a fuzz target built without libFuzzer (the replay builds, any compiler): runs
 * every file named on the command line, and every regular file of every folder named there
 * (in name order), through LLVMFuzzerTestOneInput once. Suite 'fuzz-smoke' replays each
 * target's seed corpus this way in the normal and the sanitizer trees, so the seeds, and the
 * crashes fixed since, are checked by every build. Exit status 1 if a file cannot be read or
 * there was nothing to replay; a failed invariant traps.
 */
#include "fuzz.h"

#include <dirent.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int replay_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	u8 *data = NULL;
	size_t size = 0, cap = 0, n;

	if (!fp) {
		perror(path);
		return -1;
	}
	do {
		if (size == cap) {
			u8 *p = realloc(data, cap = cap ? cap * 2 : 4096);

			if (!p) {
				free(data);
				fclose(fp);
				return -1;
			}
			data = p;
		}
		n = fread(data + size, 1, cap - size, fp);
		size += n;
	} while (n);
	fclose(fp);
	if (getenv("FUZZ_REPLAY_VERBOSE"))
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, size);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

/* Replay a folder's regular files in name order; -1 if it is not a folder. */
static int replay_dir(const char *dir, unsigned *nr)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), ret = 0;

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
		if (!ret && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			ret = replay_file(path) ? 1 : 0;
			*nr += !ret;
		}
		free(ents[i]);
	}
	free(ents);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned nr = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		int ret = replay_dir(argv[i], &nr);

		if (ret < 0) {
			if (replay_file(argv[i]) < 0)
				return 1;
			nr++;
		} else if (ret) {
			return 1;
		}
	}
	printf("%s: replayed %u inputs\n", basename(argv[0]), nr);
	return nr ? 0 : 1;
}
