// SPDX-License-Identifier: MIT
/*
 * A page-walking counter for the Linux guest of linux_migrate.py, built static on the host:
 * `memwalk MIB SLEEP_MS` maps MIB MiB and, round after round, writes every page in order:
 * word 0 the round number, word 1 the page's index. Before it writes a page it checks that
 * the page still holds the previous round's values, so a page lost or torn by a migration
 * (or any memory corruption) shows as "BAD ..." and exit 1. After each round it prints
 * "w=ROUND" and sleeps SLEEP_MS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	size_t pages, mib;
	long sleep_ms;
	unsigned long *m;

	if (argc != 3)
		return 2;
	mib = strtoul(argv[1], NULL, 10);
	sleep_ms = strtol(argv[2], NULL, 10);
	pages = mib * 256;
	m = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		perror("memwalk: mmap");
		return 1;
	}
	for (unsigned long r = 1;; r++) {
		struct timespec ts = { .tv_sec = sleep_ms / 1000,
				       .tv_nsec = sleep_ms % 1000 * 1000000 };

		for (size_t i = 0; i < pages; i++) {
			unsigned long *p = m + i * 512;

			if (p[0] != r - 1 || p[1] != (r == 1 ? 0 : i)) {
				printf("BAD page %zu in round %lu holds %lu/%lu\n", i, r, p[0],
				       p[1]);
				fflush(stdout);
				return 1;
			}
			p[1] = i;
			p[0] = r;
		}
		printf("w=%lu\n", r);
		fflush(stdout);
		nanosleep(&ts, NULL);
	}
}
