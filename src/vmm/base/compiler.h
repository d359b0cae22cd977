/* SPDX-License-Identifier: MIT */
/* Compiler helpers shared by every room. Dependency-free. */
#ifndef VMM_BASE_COMPILER_H
#define VMM_BASE_COMPILER_H

#define MUST_CHECK   __attribute__((warn_unused_result))
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#define UNUSED	     __attribute__((unused))
#define NORETURN     __attribute__((noreturn))
#define likely(x)    __builtin_expect(!!(x), 1)
#define unlikely(x)  __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a)			(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)			((a) < (b) ? (a) : (b))
#define MAX(a, b)			((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)			(((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
