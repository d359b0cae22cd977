/* SPDX-License-Identifier: MIT */
/*
 * User-facing error messages (docs/conventions.md section 8): functions
 * return 0 or a negative errno and, where the cause can be the user's, fill a struct err
 * with a one-line message. err may be NULL, in which case the message is
 * logged at error level instead.
 */
#ifndef VMM_BASE_ERR_H
#define VMM_BASE_ERR_H

#include "vmm/base/compiler.h"

struct err {
	int code;
	char msg[256];
};

/* Store a formatted message and return code (a negative errno). Any thread. */
int err_set(struct err *err, int code, const char *fmt, ...) PRINTF(3, 4);

/* Prepend "prefix: " to the stored message. Any thread. */
void err_prefix(struct err *err, const char *fmt, ...) PRINTF(2, 3);

/* Reset to "no error". */
void err_clear(struct err *err);

#endif
