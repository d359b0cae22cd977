/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr (docs/conventions.md section 9). Messages name their
 * object first ("uart0: ..."). Debug categories are a run-time bitmask chosen with
 * --log=pio,mmio,...; log_dbg() checks it before evaluating its arguments.
 * Under systemd (JOURNAL_STREAM set) lines carry <N> priority prefixes,
 * otherwise a monotonic timestamp. Any thread.
 */
#ifndef VMM_BASE_LOG_H
#define VMM_BASE_LOG_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

enum log_cat {
	LOG_CAT_PIO = 1u << 0,
	LOG_CAT_MMIO = 1u << 1,
	LOG_CAT_IRQ = 1u << 2,
	LOG_CAT_BT = 1u << 3,
	LOG_CAT_VIRTIO = 1u << 4,
	LOG_CAT_BLOCK = 1u << 5,
	LOG_CAT_KVM = 1u << 6,
	LOG_CAT_BOOT = 1u << 7,
	LOG_CAT_DEV = 1u << 8,
};

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARN = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

extern unsigned log_categories; /* enabled debug categories */
extern int log_min_level;	/* messages above this level are dropped */

void log_msg(enum log_level level, const char *fmt, ...) PRINTF(2, 3);

/*
 * Is stderr the journal? True when $JOURNAL_STREAM names the device and inode of stderr
 * (systemd.exec(5)): a child whose stderr went elsewhere inherits the variable but not the
 * stream. Decided once, on the first call. Any thread.
 */
bool log_journal_stream(void);

/* Parse "pio,mmio,all" into log_categories; returns -EINVAL on an unknown name. */
int log_set_categories(const char *list);

/* Rate-limited message for guest-triggerable events: at most a burst per second per call site. */
struct log_ratelimit {
	u64 window_start_ns;
	unsigned count;
	unsigned suppressed;
};

bool log_ratelimit_ok(struct log_ratelimit *rl);

#define log_err(...)  log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_dbg(cat, ...)                                      \
	do {                                                   \
		if (unlikely(log_categories & (cat)))          \
			log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); \
	} while (0)

/* Guest-caused or unimplemented-feature messages: rate-limited warnings. */
#define log_guest(...)                                        \
	do {                                                  \
		static struct log_ratelimit log_rl_;          \
		if (log_ratelimit_ok(&log_rl_))               \
			log_msg(LOG_LEVEL_WARN, __VA_ARGS__); \
	} while (0)
#define log_unimp(...) log_guest(__VA_ARGS__)

#define LOG_ONCE(level, ...)                                                  \
	do {                                                                  \
		static bool log_once_;                                        \
		if (!__atomic_exchange_n(&log_once_, true, __ATOMIC_RELAXED)) \
			log_msg(level, __VA_ARGS__);                          \
	} while (0)

#endif
