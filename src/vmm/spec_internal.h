/* SPDX-License-Identifier: MIT */
/*
 * Internal to the spec parser (spec.c, spec_devices.c): the parse context and the helpers
 * the sections share. Never included outside spec*.c. The JSON tree is only forward-declared
 * (struct json_t is jansson's json_t), so this header needs no jansson include.
 *
 * Every helper that reports a problem records it in the context's struct diag with the JSON
 * path it is given and counts it in nr_errors; parsing goes on after a problem.
 */
#ifndef VMM_SPEC_INTERNAL_H
#define VMM_SPEC_INTERNAL_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"
#include "vmm/spec.h"

#include <stddef.h>

struct json_t;

#define SPEC_PATH_LEN 192 /* a JSON path in a message */
#define SPEC_SHOW_LEN 64  /* user strings are shown up to this many bytes */

struct spec_ctx {
	struct diag *d;
	const char *base_dir; /* absolute */
	bool base_canonical;  /* base_dir came from realpath() */
	unsigned flags;
	unsigned nr_errors; /* problems found by this parse */
	bool oom;
};

void spec_err(struct spec_ctx *c, const char *path, const char *fmt, ...) PRINTF(3, 4);

/* strdup that records an out-of-memory in c (the parse then fails with -ENOMEM). */
char *spec_strdup(struct spec_ctx *c, const char *s);

/* JSON paths for messages, in buf[SPEC_PATH_LEN]: "parent.key" ("key" at the top level), and
 * "parent[i]". */
void spec_path_key(char *buf, const char *parent, const char *key);
void spec_path_index(char *buf, const char *parent, size_t i);

/* Quote a user string for a message: printable ASCII kept, the rest as \xNN, cut at 64. */
const char *spec_show(char *buf, size_t size, const char *s);

#define SPEC_SHOW(s) spec_show((char[SPEC_SHOW_LEN * 4 + 8]){ 0 }, SPEC_SHOW_LEN * 4 + 8, (s))

/* "an object", "a string", ... for "expected X, got Y" messages. */
const char *spec_type_name(const struct json_t *j);

/* [A-Za-z0-9], whatever the process locale. */
bool spec_isalnum(unsigned char ch);

/* The name of enum value v in a NULL-terminated name table of nr entries (with the NULL). */
const char *spec_enum_name(const char *const *names, size_t nr, unsigned v);

#define SPEC_ENUM_NAME(tbl, v) spec_enum_name(tbl, ARRAY_SIZE(tbl), (unsigned)(v))

/* obj must be an object (reports the type otherwise); reports its unknown keys. */
bool spec_check_object(struct spec_ctx *c, const char *path, const struct json_t *obj,
		       const char *const *keys);

/* obj's member key (NULL when absent), with its path written to kpath[SPEC_PATH_LEN]. */
struct json_t *spec_member(const struct json_t *obj, const char *path, const char *key,
			   char *kpath);

/* Typed members: false (reported) when j has another type. */
bool spec_get_string(struct spec_ctx *c, const char *path, const struct json_t *j,
		     const char **out);
bool spec_get_bool(struct spec_ctx *c, const char *path, const struct json_t *j, bool *out);
/* A JSON integer in lo..hi. */
bool spec_get_int_range(struct spec_ctx *c, const char *path, const struct json_t *j, u64 lo,
			u64 hi, u64 *out);

/*
 * The elements of array member arr at path, calloc'ed (elem_size each, freed by spec_free):
 * NULL when arr is empty, or is not an array or has more than max elements (what names them
 * in the message: "at most 16 modules, got 17"), or on out-of-memory (recorded in c).
 */
void *spec_new_array(struct spec_ctx *c, const char *path, const struct json_t *arr, size_t max,
		     const char *what, size_t elem_size);

/* The "target" and "path" members of obj at path (serial, consoles[]): a console back end. */
void spec_parse_target(struct spec_ctx *c, const struct json_t *obj, const char *path,
		       struct serial_spec *se);

/* An optional enum member; *out keeps its default when the member is absent. */
void spec_get_enum(struct spec_ctx *c, const struct json_t *obj, const char *path, const char *key,
		   const char *const *names, unsigned *out);

#define SPEC_GET_ENUM(c, obj, path, key, names, out)          \
	do {                                                  \
		unsigned v_ = (unsigned)*(out);               \
		spec_get_enum(c, obj, path, key, names, &v_); \
		*(out) = v_;                                  \
	} while (0)

/* rel resolved against the spec's folder (absolute, allocated); NULL when out of memory. */
char *spec_resolve(struct spec_ctx *c, const char *rel);

/* A path member resolved against the spec's folder (absolute, allocated); NULL when absent
 * or wrong. */
char *spec_get_path(struct spec_ctx *c, const char *kpath, const struct json_t *j);

/* SPEC_CHECK_FILES: abs must open (read-write when writable) and be a regular file. */
void spec_check_file(struct spec_ctx *c, const char *path, const char *abs, bool writable);

/* A unix socket path must fit sun_path (unix(7)). */
void spec_check_unix_path(struct spec_ctx *c, const char *kpath, const char *abs);

/* The sections of spec_devices.c, called in this order by the top-level parser. */
void spec_parse_disks(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s);
void spec_parse_nics(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s);
void spec_parse_display(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s);
void spec_parse_control(struct spec_ctx *c, const struct json_t *root, struct control_spec *cs);

/* The "cpu" section (spec_cpu.c) and its keys. */
extern const char *const spec_cpu_keys[];
void spec_parse_cpu(struct spec_ctx *c, const struct json_t *root, struct cpu_spec *cs);
/* spec_paravirt.c: uuid, guestinfo, hypercall, consoles, rng (after the other sections). */
void spec_parse_paravirt(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s);

/* Refuse the sections this build cannot run (spec_unbuilt_keys). */
void spec_refuse_unbuilt(struct spec_ctx *c, const struct json_t *root);

#endif
