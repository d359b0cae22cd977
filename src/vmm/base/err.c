// SPDX-License-Identifier: MIT
#include "vmm/base/err.h"

#include "vmm/base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int err_set(struct err *err, int code, const char *fmt, ...)
{
	char buf[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!err) {
		log_err("%s", buf);
		return code;
	}
	err->code = code;
	memcpy(err->msg, buf, sizeof(buf));
	return code;
}

void err_prefix(struct err *err, const char *fmt, ...)
{
	char prefix[128], buf[sizeof(err->msg)];
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (snprintf(buf, sizeof(buf), "%s: %s", prefix, err->msg) >= (int)sizeof(buf))
		buf[sizeof(buf) - 1] = '\0'; /* truncated: keep what fits */
	memcpy(err->msg, buf, sizeof(buf));
}

void err_clear(struct err *err)
{
	if (!err)
		return;
	err->code = 0;
	err->msg[0] = '\0';
}
