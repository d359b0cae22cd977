// SPDX-License-Identifier: MIT
/* stderr logger: journald priority prefixes under systemd, timestamps otherwise. */
#include "vmm/base/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

unsigned log_categories;
int log_min_level = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	unsigned bit;
} log_cat_names[] = {
	{ "pio", LOG_CAT_PIO }, { "mmio", LOG_CAT_MMIO },     { "irq", LOG_CAT_IRQ },
	{ "bt", LOG_CAT_BT },	{ "virtio", LOG_CAT_VIRTIO }, { "block", LOG_CAT_BLOCK },
	{ "kvm", LOG_CAT_KVM }, { "boot", LOG_CAT_BOOT },     { "dev", LOG_CAT_DEV },
};

static u64 log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}

static bool log_journal_check(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!env || sscanf(env, "%llu:%llu%c", &dev, &ino, &end) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

bool log_journal_stream(void)
{
	/* 0: not decided yet, 1: no, 2: yes. Racing first calls decide the same way. */
	static int decided;
	int v = __atomic_load_n(&decided, __ATOMIC_RELAXED);

	if (!v) {
		v = log_journal_check() ? 2 : 1;
		__atomic_store_n(&decided, v, __ATOMIC_RELAXED);
	}
	return v == 2;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { [LOG_LEVEL_ERR] = "error",
					     [LOG_LEVEL_WARN] = "warning",
					     [LOG_LEVEL_INFO] = "info",
					     [LOG_LEVEL_DEBUG] = "debug" };
	static u64 start_ns;
	char line[1024];
	int n;
	va_list ap;

	if ((int)level > log_min_level && level != LOG_LEVEL_DEBUG)
		return;
	if (!start_ns)
		start_ns = log_now_ns();
	if (log_journal_stream()) {
		n = snprintf(line, sizeof(line), "<%d>", (int)level);
	} else {
		u64 t = log_now_ns() - start_ns;

		n = snprintf(line, sizeof(line),
			     "[%5llu.%06llu] %s: ", (unsigned long long)(t / 1000000000ull),
			     (unsigned long long)(t % 1000000000ull / 1000), names[level]);
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

int log_set_categories(const char *list)
{
	char buf[256], *save = NULL, *tok;
	unsigned mask = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		bool found = false;

		if (!strcmp(tok, "all")) {
			mask = ~0u;
			continue;
		}
		for (i = 0; i < sizeof(log_cat_names) / sizeof(log_cat_names[0]); i++) {
			if (!strcmp(tok, log_cat_names[i].name)) {
				mask |= log_cat_names[i].bit;
				found = true;
			}
		}
		if (!found)
			return -EINVAL;
	}
	log_categories = mask;
	return 0;
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	const unsigned burst = 10;
	u64 now = log_now_ns();

	if (now - rl->window_start_ns > 1000000000ull) {
		if (rl->suppressed)
			log_msg(LOG_LEVEL_WARN, "(%u similar guest messages suppressed)",
				rl->suppressed);
		rl->window_start_ns = now;
		rl->count = 0;
		rl->suppressed = 0;
	}
	if (rl->count++ < burst)
		return true;
	rl->suppressed++;
	return false;
}
