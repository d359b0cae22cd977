// SPDX-License-Identifier: MIT
/*
 * The generic save/load over device state tables (state.h). The wire format, all little-endian
 * and length-prefixed (docs/device-state.md has the full grammar):
 *
 *   record  = "VMSR" u16 format (1) u16 flags (0) name type name instance object
 *   object  = u32 version u32 length body             (body: length bytes of entries)
 *   entry   = 'f' name u32 length payload            (a field)
 *           | 's' name u32 length u8 flags object    (a section; flags bit 0: skippable)
 *   name    = u8 length (1..63) bytes                (letters, digits, '_', '-', '.')
 *   payload = integers: count * size bytes; bool: count bytes (0/1); timer: u64 deadline;
 *             struct: u32 count, count * object; pointee: u8 present, [object];
 *             custom: count * wire_size bytes
 *
 * Every object carries its own version, so a nested table (the PCI function embedded in each
 * PCI device, a virtqueue) evolves on its own. A load walks the record twice: once only
 * checking (so a refused record changes nothing), once writing; the post_load hooks run as
 * each object is complete, innermost first.
 */
#include "vmm/state.h"

#include "vmm/base/err.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC	 "VMSR"
#define STATE_SET_MAGIC	 "VMSS"
#define STATE_FORMAT	 1
#define STATE_MAX_FIELDS 128
#define STATE_CUSTOM_MAX 256 /* largest element a custom codec decodes into scratch */
#define STATE_KIND_FIELD 'f'
#define STATE_KIND_SECT	 's'
#define STATE_SECT_SKIP	 0x01
#define STATE_PATH_MAX	 160

/* ------------------------------------------------------------------ buffer */

void state_buf_init(struct state_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void state_buf_free(struct state_buf *b)
{
	free(b->data);
	state_buf_init(b);
}

int state_buf_append(struct state_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		u8 *d;

		while (cap < b->len + n)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

/* The writer: a buffer and the first error (-ENOMEM, -E2BIG), after which nothing is added. */
struct state_writer {
	struct state_buf *b;
	int error;
};

static void state_put(struct state_writer *w, const void *p, size_t n)
{
	struct state_buf *b = w->b;

	if (w->error)
		return;
	if (b->len + n > STATE_RECORD_MAX) {
		w->error = -E2BIG;
		return;
	}
	w->error = state_buf_append(b, p, n);
}

static void state_put_le(struct state_writer *w, u64 v, unsigned n)
{
	u8 bytes[8];

	for (unsigned i = 0; i < n; i++)
		bytes[i] = (u8)(v >> (8 * i));
	state_put(w, bytes, n);
}

static void state_put_name(struct state_writer *w, const char *s)
{
	size_t n = strlen(s);

	state_put_le(w, n, 1);
	state_put(w, s, n);
}

/* Reserve a u32 length to fill in later; returns its position. */
static size_t state_put_len_slot(struct state_writer *w)
{
	size_t at = w->b->len;

	state_put_le(w, 0, 4);
	return at;
}

static void state_fill_len(struct state_writer *w, size_t at)
{
	size_t n = w->b->len - at - 4;

	if (w->error)
		return;
	for (unsigned i = 0; i < 4; i++)
		w->b->data[at + i] = (u8)(n >> (8 * i));
}

/* ------------------------------------------------------------ integer cells */

static u64 state_cell_get(const u8 *p, size_t size)
{
	u64 v = 0;

	memcpy(&v, p, size); /* little-endian host (x86): the low bytes */
	return v;
}

static void state_cell_set(u8 *p, size_t size, u64 v)
{
	memcpy(p, &v, size);
}

static bool state_is_int(u8 type)
{
	return type >= STATE_T_U8 && type <= STATE_T_BOOL;
}

static size_t state_int_size(u8 type)
{
	switch (type) {
	case STATE_T_U8:
		return 1;
	case STATE_T_U16:
		return 2;
	case STATE_T_U32:
	case STATE_T_S32:
		return 4;
	case STATE_T_U64:
	case STATE_T_S64:
		return 8;
	case STATE_T_BOOL:
		return sizeof(bool);
	default:
		return 0;
	}
}

/* ------------------------------------------------------------------- save */

static void state_save_object(struct state_writer *w, const struct state_desc *d, void *obj,
			      struct err *err, unsigned depth);

static void state_save_payload(struct state_writer *w, const struct state_field *f, void *obj,
			       struct err *err, unsigned depth)
{
	u8 *m = (u8 *)obj + f->offset;
	u8 wire[STATE_CUSTOM_MAX];
	void *ptr;

	switch (f->type) {
	case STATE_T_BOOL:
		for (u32 i = 0; i < f->count; i++)
			state_put_le(w, ((const bool *)m)[i] ? 1 : 0, 1);
		break;
	case STATE_T_TIMER:
		state_put_le(w, ((const struct timer *)m)->deadline_ns, 8);
		break;
	case STATE_T_STRUCT:
		state_put_le(w, f->count, 4);
		for (u32 i = 0; i < f->count; i++)
			state_save_object(w, f->sub, m + i * f->elem_size, err, depth + 1);
		break;
	case STATE_T_POINTEE:
		memcpy(&ptr, m, sizeof(ptr));
		state_put_le(w, ptr != NULL, 1);
		if (ptr)
			state_save_object(w, f->sub, ptr, err, depth + 1);
		break;
	case STATE_T_CUSTOM:
		for (u32 i = 0; i < f->count; i++) {
			f->encode(m + i * f->elem_size, wire);
			state_put(w, wire, f->wire_size);
		}
		break;
	default: /* integers */
		for (u32 i = 0; i < f->count; i++)
			state_put_le(w, state_cell_get(m + i * f->elem_size, f->elem_size),
				     (unsigned)f->elem_size);
		break;
	}
}

static void state_save_object(struct state_writer *w, const struct state_desc *d, void *obj,
			      struct err *err, unsigned depth)
{
	size_t body;
	int ret;

	if (w->error)
		return;
	if (depth > STATE_MAX_DEPTH) {
		w->error = err_set(err, -ELOOP, "%s: tables nested deeper than %u", d->name,
				   STATE_MAX_DEPTH);
		return;
	}
	if (d->pre_save) {
		ret = d->pre_save(obj, err);
		if (ret < 0) {
			w->error = ret;
			return;
		}
	}
	state_put_le(w, d->version, 4);
	body = state_put_len_slot(w);
	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++) {
		size_t len;

		if (f->type == STATE_T_HOST)
			continue;
		if (f->type == STATE_T_SECTION) {
			if (f->needed && !f->needed(obj))
				continue;
			state_put_le(w, STATE_KIND_SECT, 1);
			state_put_name(w, f->name);
			len = state_put_len_slot(w);
			state_put_le(w, f->skippable ? STATE_SECT_SKIP : 0, 1);
			state_save_object(w, f->sub, obj, err, depth + 1);
			state_fill_len(w, len);
			continue;
		}
		state_put_le(w, STATE_KIND_FIELD, 1);
		state_put_name(w, f->name);
		len = state_put_len_slot(w);
		state_save_payload(w, f, obj, err, depth);
		state_fill_len(w, len);
	}
	state_fill_len(w, body);
}

int state_save(const struct state_desc *d, const char *instance, void *obj, struct state_buf *out,
	       struct err *err)
{
	struct state_writer w = { .b = out };
	size_t start = out->len;

	if (!instance[0] || strlen(instance) > STATE_NAME_MAX)
		return err_set(err, -EINVAL, "%s: instance name '%s' unusable in a state record",
			       d->name, instance);
	err_clear(err);
	state_put(&w, STATE_MAGIC, 4);
	state_put_le(&w, STATE_FORMAT, 2);
	state_put_le(&w, 0, 2);
	state_put_name(&w, d->name);
	state_put_name(&w, instance);
	state_save_object(&w, d, obj, err, 0);
	if (w.error) {
		out->len = start;
		if (err && err->code)
			return w.error;
		return err_set(err, w.error, "%s: cannot save the state: %s", instance,
			       strerror(-w.error));
	}
	return 0;
}

/* ------------------------------------------------------------------ reader */

struct state_reader {
	const u8 *p;
	size_t len, pos;
};

static bool state_get(struct state_reader *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return false;
	memcpy(out, r->p + r->pos, n);
	r->pos += n;
	return true;
}

static bool state_get_le(struct state_reader *r, unsigned n, u64 *v)
{
	u8 bytes[8];

	if (!state_get(r, bytes, n))
		return false;
	*v = 0;
	for (unsigned i = 0; i < n; i++)
		*v |= (u64)bytes[i] << (8 * i);
	return true;
}

static bool state_name_char_ok(u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* A name: 1..STATE_NAME_MAX characters of [A-Za-z0-9_.-], so it is safe to print. */
static bool state_get_name(struct state_reader *r, char *out)
{
	u64 n;

	if (!state_get_le(r, 1, &n) || n == 0 || n > STATE_NAME_MAX || !state_get(r, out, n))
		return false;
	out[n] = '\0';
	for (u64 i = 0; i < n; i++)
		if (!state_name_char_ok((u8)out[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------------- load */

struct state_loader {
	struct err *err;
	const char *instance;
	bool apply;
	char path[STATE_PATH_MAX];
};

static int state_fail(struct state_loader *l, int code, const char *fmt, ...) PRINTF(3, 4);

static int state_fail(struct state_loader *l, int code, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->path[0])
		return err_set(l->err, code, "%s: state record: %s: %s", l->instance, l->path, msg);
	return err_set(l->err, code, "%s: state record: %s", l->instance, msg);
}

/* Append ".name" or "[i]" to the path; returns the old length to restore. */
static size_t state_path_push(struct state_loader *l, const char *name, long index)
{
	size_t old = strlen(l->path);
	int n;

	if (index >= 0)
		n = snprintf(l->path + old, sizeof(l->path) - old, "[%ld]", index);
	else
		n = snprintf(l->path + old, sizeof(l->path) - old, "%s%s", old ? "." : "", name);
	(void)n;
	return old;
}

static void state_path_pop(struct state_loader *l, size_t old)
{
	l->path[old] = '\0';
}

static int state_load_object(struct state_loader *l, const struct state_desc *d, void *obj,
			     struct state_reader *r, unsigned depth);

static int state_load_ints(struct state_loader *l, const struct state_field *f, void *obj,
			   struct state_reader *r)
{
	u8 *m = (u8 *)obj + f->offset;
	size_t wsize = f->type == STATE_T_BOOL ? 1 : f->elem_size;

	if (r->len != (size_t)f->count * wsize)
		return state_fail(l, -EINVAL, "%zu bytes in the record, %zu expected", r->len,
				  (size_t)f->count * wsize);
	for (u32 i = 0; i < f->count; i++) {
		u64 v, cur;

		if (!state_get_le(r, (unsigned)wsize, &v))
			return state_fail(l, -EPROTO, "truncated");
		if (f->type == STATE_T_BOOL && v > 1)
			return state_fail(l, -EINVAL, "%llu is not a boolean",
					  (unsigned long long)v);
		if (f->has_max && v > f->max)
			return state_fail(l, -EINVAL, "%llu is above the limit %llu",
					  (unsigned long long)v, (unsigned long long)f->max);
		if (f->check) {
			cur = f->type == STATE_T_BOOL ?
				      ((const bool *)m)[i] :
				      state_cell_get(m + i * f->elem_size, f->elem_size);
			if (cur != v)
				return state_fail(l, -EINVAL,
						  "%#llx in the record, %#llx in this VM (the VM "
						  "must be created from the same spec)",
						  (unsigned long long)v, (unsigned long long)cur);
			continue;
		}
		if (!l->apply)
			continue;
		if (f->type == STATE_T_BOOL)
			((bool *)m)[i] = v;
		else
			state_cell_set(m + i * f->elem_size, f->elem_size, v);
	}
	return 0;
}

static int state_load_timer(struct state_loader *l, const struct state_field *f, void *obj,
			    struct state_reader *r)
{
	struct timer *t = (struct timer *)((u8 *)obj + f->offset);
	u64 deadline;

	if (r->len != 8 || !state_get_le(r, 8, &deadline))
		return state_fail(l, -EINVAL, "%zu bytes in the record, 8 expected", r->len);
	if (!l->apply)
		return 0;
	if (deadline == TIMER_NEVER)
		timer_cancel(t);
	else
		timer_arm(t, deadline);
	return 0;
}

/* An object that must fill the reader exactly. */
static int state_load_whole_object(struct state_loader *l, const struct state_desc *d, void *obj,
				   struct state_reader *r, unsigned depth)
{
	int ret = state_load_object(l, d, obj, r, depth);

	if (ret == 0 && r->pos != r->len)
		return state_fail(l, -EPROTO, "%zu bytes after the end", r->len - r->pos);
	return ret;
}

static int state_load_structs(struct state_loader *l, const struct state_field *f, void *obj,
			      struct state_reader *r, unsigned depth)
{
	u8 *m = (u8 *)obj + f->offset;
	u64 n;
	int ret;

	if (!state_get_le(r, 4, &n))
		return state_fail(l, -EPROTO, "truncated");
	if (n != f->count)
		return state_fail(l, -EINVAL, "%llu elements in the record, %u in this VM",
				  (unsigned long long)n, f->count);
	for (u32 i = 0; i < f->count; i++) {
		size_t old = f->count > 1 ? state_path_push(l, NULL, i) : strlen(l->path);

		ret = state_load_object(l, f->sub, m + i * f->elem_size, r, depth + 1);
		if (ret < 0)
			return ret;
		state_path_pop(l, old);
	}
	if (r->pos != r->len)
		return state_fail(l, -EPROTO, "%zu bytes after the last element", r->len - r->pos);
	return 0;
}

static int state_load_pointee(struct state_loader *l, const struct state_field *f, void *obj,
			      struct state_reader *r, unsigned depth)
{
	void *ptr;
	u64 present;

	memcpy(&ptr, (u8 *)obj + f->offset, sizeof(ptr));
	if (!state_get_le(r, 1, &present) || present > 1)
		return state_fail(l, -EPROTO, "bad presence byte");
	if (present && !ptr)
		return state_fail(l, -EINVAL, "the record has one, this VM has none");
	if (!present && ptr)
		return state_fail(l, -EINVAL, "this VM has one, the record has none");
	if (!present)
		return r->pos == r->len ? 0 : state_fail(l, -EPROTO, "bytes after an absent one");
	return state_load_whole_object(l, f->sub, ptr, r, depth + 1);
}

static int state_load_custom(struct state_loader *l, const struct state_field *f, void *obj,
			     struct state_reader *r)
{
	u8 *m = (u8 *)obj + f->offset;
	u8 scratch[STATE_CUSTOM_MAX];

	if (f->elem_size > sizeof(scratch))
		return state_fail(l, -EINVAL, "element of %zu bytes: the table is broken",
				  f->elem_size);
	if (r->len != (size_t)f->count * f->wire_size)
		return state_fail(l, -EINVAL, "%zu bytes in the record, %zu expected", r->len,
				  (size_t)f->count * f->wire_size);
	for (u32 i = 0; i < f->count; i++) {
		const u8 *in = r->p + r->pos + (size_t)i * f->wire_size;
		void *elem = m + i * f->elem_size;

		if (!l->apply) {
			memcpy(scratch, elem, f->elem_size);
			elem = scratch;
		}
		if (f->decode(obj, elem, in) < 0)
			return state_fail(l, -EINVAL, "element %u is not valid", i);
	}
	r->pos = r->len;
	return 0;
}

static int state_load_field(struct state_loader *l, const struct state_field *f, void *obj,
			    struct state_reader *r, unsigned depth)
{
	switch (f->type) {
	case STATE_T_TIMER:
		return state_load_timer(l, f, obj, r);
	case STATE_T_STRUCT:
		return state_load_structs(l, f, obj, r, depth);
	case STATE_T_POINTEE:
		return state_load_pointee(l, f, obj, r, depth);
	case STATE_T_CUSTOM:
		return state_load_custom(l, f, obj, r);
	default:
		return state_load_ints(l, f, obj, r);
	}
}

static const struct state_field *state_find(const struct state_desc *d, const char *name,
					    bool section, unsigned *index)
{
	unsigned i = 0;

	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++, i++) {
		if (f->type == STATE_T_HOST || (f->type == STATE_T_SECTION) != section)
			continue;
		if (!strcmp(f->name, name)) {
			*index = i;
			return f;
		}
	}
	return NULL;
}

/* A section's payload: flags, then the object (fields of the same struct). */
static int state_load_section(struct state_loader *l, const struct state_field *f, void *obj,
			      struct state_reader *r, unsigned depth)
{
	u64 flags;

	if (!state_get_le(r, 1, &flags))
		return state_fail(l, -EPROTO, "truncated");
	return state_load_whole_object(l, f->sub, obj, r, depth + 1);
}

/* One entry of a body. seen[] marks the fields met. */
static int state_load_entry(struct state_loader *l, const struct state_desc *d, void *obj,
			    struct state_reader *r, u32 version, bool *seen, unsigned depth)
{
	char name[STATE_NAME_MAX + 1];
	u64 kind, len, flags;
	struct state_reader sub;
	const struct state_field *f;
	unsigned index = 0;
	size_t old;
	int ret;

	if (!state_get_le(r, 1, &kind) || (kind != STATE_KIND_FIELD && kind != STATE_KIND_SECT))
		return state_fail(l, -EPROTO, "not a field or section at byte %zu", r->pos);
	if (!state_get_name(r, name))
		return state_fail(l, -EPROTO, "unreadable entry name at byte %zu", r->pos);
	if (!state_get_le(r, 4, &len) || len > r->len - r->pos)
		return state_fail(l, -EPROTO, "entry '%s' runs past the end", name);
	sub = (struct state_reader){ .p = r->p + r->pos, .len = len };
	r->pos += len;
	f = state_find(d, name, kind == STATE_KIND_SECT, &index);
	if (f && index >= STATE_MAX_FIELDS)
		return state_fail(l, -EINVAL, "'%s' has more than %u fields: the table is broken",
				  d->name, STATE_MAX_FIELDS);
	if (!f && kind == STATE_KIND_SECT) {
		if (!state_get_le(&sub, 1, &flags))
			return state_fail(l, -EPROTO, "section '%s' truncated", name);
		if (flags & STATE_SECT_SKIP)
			return 0;
		return state_fail(l, -EINVAL,
				  "unknown section '%s' (written by a newer VMM; it cannot be "
				  "skipped)",
				  name);
	}
	if (!f)
		return state_fail(l, -EINVAL, "unknown field '%s' in version %u of '%s'", name,
				  version, d->name);
	if (seen[index])
		return state_fail(l, -EINVAL, "'%s' appears twice", name);
	seen[index] = true;
	if (f->since > version)
		return state_fail(l, -EINVAL, "field '%s' does not exist in version %u of '%s'",
				  name, version, d->name);
	old = state_path_push(l, f->name, -1);
	if (f->type == STATE_T_SECTION)
		ret = state_load_section(l, f, obj, &sub, depth);
	else
		ret = state_load_field(l, f, obj, &sub, depth);
	if (ret < 0)
		return ret;
	state_path_pop(l, old);
	return 0;
}

/* An object: version, length, body. */
static int state_load_object(struct state_loader *l, const struct state_desc *d, void *obj,
			     struct state_reader *r, unsigned depth)
{
	bool seen[STATE_MAX_FIELDS] = { false };
	struct state_reader body;
	u64 version, len;
	unsigned i = 0;
	int ret;

	if (depth > STATE_MAX_DEPTH)
		return state_fail(l, -ELOOP, "nested deeper than %u", STATE_MAX_DEPTH);
	if (!state_get_le(r, 4, &version) || !state_get_le(r, 4, &len) || len > r->len - r->pos)
		return state_fail(l, -EPROTO, "truncated '%s' object", d->name);
	if (version > d->version)
		return state_fail(l, -EINVAL,
				  "'%s' version %llu is newer than this VMM's (%u): a newer VMM "
				  "wrote it",
				  d->name, (unsigned long long)version, d->version);
	if (version < d->min_version)
		return state_fail(l, -EINVAL,
				  "'%s' version %llu is older than this VMM loads (%u to %u)",
				  d->name, (unsigned long long)version, d->min_version, d->version);
	body = (struct state_reader){ .p = r->p + r->pos, .len = len };
	r->pos += len;
	while (body.pos < body.len) {
		ret = state_load_entry(l, d, obj, &body, (u32)version, seen, depth);
		if (ret < 0)
			return ret;
	}
	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++, i++) {
		if (f->type == STATE_T_HOST || f->type == STATE_T_SECTION || seen[i] ||
		    f->since > version)
			continue;
		return state_fail(l, -EINVAL, "field '%s' of '%s' version %llu missing", f->name,
				  d->name, (unsigned long long)version);
	}
	if (l->apply && d->post_load) {
		ret = d->post_load(obj, (u32)version, l->err);
		if (ret < 0) {
			if (l->err && l->err->code)
				err_prefix(l->err, "%s: state record%s%s", l->instance,
					   l->path[0] ? ": " : "", l->path);
			else
				state_fail(l, ret, "'%s' refused the state", d->name);
			return ret;
		}
	}
	return 0;
}

int state_record_parse(const void *buf, size_t len, struct state_record *out, struct err *err)
{
	struct state_reader r = { .p = buf, .len = len };
	u64 format, flags, version, body;
	char magic[4];

	memset(out, 0, sizeof(*out));
	if (!state_get(&r, magic, 4) || memcmp(magic, STATE_MAGIC, 4))
		return err_set(err, -EPROTO, "not a device state record (bad magic)");
	if (!state_get_le(&r, 2, &format) || !state_get_le(&r, 2, &flags))
		return err_set(err, -EPROTO, "state record header truncated");
	if (format != STATE_FORMAT || flags)
		return err_set(err, -EPROTO,
			       "state record format %llu (flags %#llx): this VMM reads format %u",
			       (unsigned long long)format, (unsigned long long)flags, STATE_FORMAT);
	if (!state_get_name(&r, out->type) || !state_get_name(&r, out->instance))
		return err_set(err, -EPROTO, "state record: unreadable type or instance name");
	if (!state_get_le(&r, 4, &version) || !state_get_le(&r, 4, &body) || body > r.len - r.pos)
		return err_set(err, -EPROTO, "%s: state record truncated (%zu bytes)",
			       out->instance, len);
	out->version = (u32)version;
	out->len = r.pos + body;
	return 0;
}

static int state_load_run(const struct state_desc *d, const char *instance, void *obj,
			  const void *rec, size_t len, bool apply, struct err *err)
{
	struct state_loader l = { .err = err, .instance = instance, .apply = apply };
	struct state_record hdr;
	struct state_reader r;
	int ret;

	err_clear(err);
	ret = state_record_parse(rec, len, &hdr, err);
	if (ret < 0)
		return ret;
	if (strcmp(hdr.type, d->name) || strcmp(hdr.instance, instance))
		return err_set(err, -EINVAL, "%s: the state record is for %s '%s', not %s '%s'",
			       instance, hdr.type, hdr.instance, d->name, instance);
	if (hdr.len != len)
		return err_set(err, -EPROTO, "%s: %zu bytes after the state record", instance,
			       len - hdr.len);
	r = (struct state_reader){ .p = rec, .len = len };
	r.pos = 8 + 1 + strlen(hdr.type) + 1 + strlen(hdr.instance); /* magic..instance */
	return state_load_whole_object(&l, d, obj, &r, 0);
}

int state_check(const struct state_desc *d, const char *instance, const void *obj, const void *rec,
		size_t len, struct err *err)
{
	return state_load_run(d, instance, (void *)obj, rec, len, false, err);
}

int state_load(const struct state_desc *d, const char *instance, void *obj, const void *rec,
	       size_t len, struct err *err)
{
	int ret = state_load_run(d, instance, obj, rec, len, false, err);

	return ret < 0 ? ret : state_load_run(d, instance, obj, rec, len, true, err);
}

/* ----------------------------------------------------------------- verify */

struct state_span {
	size_t start, end;
	u32 align;
	const char *name;
};

struct state_spans {
	struct state_span v[STATE_MAX_FIELDS * 2];
	unsigned n;
};

static int state_verify_desc(const struct state_desc *d, struct err *err, unsigned depth,
			     bool coverage);

static bool state_name_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > STATE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!state_name_char_ok((u8)s[i]))
			return false;
	return true;
}

static int state_verify_field(const struct state_desc *d, const struct state_field *f,
			      struct err *err, unsigned depth)
{
	const char *what = NULL;

	if (!state_name_ok(f->name))
		return err_set(err, -EINVAL, "%s: a field name is empty or unusable", d->name);
	if (f->since > d->version)
		what = "is newer than its table";
	else if (state_is_int(f->type) &&
		 (f->elem_size != state_int_size(f->type) || f->size != f->count * f->elem_size))
		what = "has a size that does not match its type";
	else if (f->has_max && !state_is_int(f->type))
		what = "has a limit but is not an integer";
	else if (f->check && !state_is_int(f->type))
		what = "is checked but is not an integer";
	else if (f->type == STATE_T_TIMER && f->size != sizeof(struct timer))
		what = "is not a struct timer";
	else if ((f->type == STATE_T_STRUCT || f->type == STATE_T_POINTEE ||
		  f->type == STATE_T_SECTION) &&
		 !f->sub)
		what = "has no table";
	else if (f->type == STATE_T_STRUCT &&
		 (f->sub->size != f->elem_size || f->size != f->count * f->elem_size))
		what = "is not the size of its table's struct";
	else if (f->type == STATE_T_POINTEE && f->size != sizeof(void *))
		what = "is not a pointer";
	else if (f->type == STATE_T_SECTION && f->sub->size != d->size)
		what = "is a section of another struct";
	else if (f->type == STATE_T_CUSTOM &&
		 (!f->encode || !f->decode || !f->wire_size || f->wire_size > STATE_CUSTOM_MAX ||
		  f->elem_size > STATE_CUSTOM_MAX || f->size != f->count * f->elem_size))
		what = "is a custom field without a usable codec";
	else if (f->type == STATE_T_HOST && (!f->why || !f->why[0]))
		what = "is not state but says not why";
	else if (f->type > STATE_T_HOST)
		what = "has an unknown type";
	if (what)
		return err_set(err, -EINVAL, "%s: field '%s' %s", d->name, f->name, what);
	if (f->type == STATE_T_STRUCT || f->type == STATE_T_POINTEE || f->type == STATE_T_SECTION)
		/* A section's table covers part of this struct: checked with it, not alone. */
		return state_verify_desc(f->sub, err, depth + 1, f->type != STATE_T_SECTION);
	return 0;
}

/* The member spans of d's entries, sections flattened into them. */
static void state_collect_spans(const struct state_desc *d, struct state_spans *s)
{
	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++) {
		if (f->type == STATE_T_SECTION) {
			state_collect_spans(f->sub, s);
			continue;
		}
		if (s->n == ARRAY_SIZE(s->v))
			return;
		s->v[s->n++] =
			(struct state_span){ f->offset, f->offset + f->size, f->align, f->name };
	}
}

static int state_span_cmp(const void *a, const void *b)
{
	const struct state_span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int state_verify_coverage(const struct state_desc *d, struct err *err)
{
	struct state_spans *s = calloc(1, sizeof(*s));
	size_t pos = 0;
	const char *prev = NULL;
	int ret = 0;

	if (!s)
		return err_set(err, -ENOMEM, "out of memory");
	state_collect_spans(d, s);
	qsort(s->v, s->n, sizeof(s->v[0]), state_span_cmp);
	for (unsigned i = 0; i < s->n && !ret; i++) {
		const struct state_span *sp = &s->v[i];
		u32 a = sp->align ? sp->align : 1;

		if (sp->start < pos)
			ret = err_set(err, -EINVAL, "%s: '%s' overlaps '%s'", d->name, sp->name,
				      prev ? prev : "?");
		else if (sp->start != ALIGN_UP(pos, (size_t)a) || sp->start % a)
			ret = err_set(err, -EINVAL,
				      "%s: bytes %zu..%zu (before '%s') are in no table entry: a "
				      "member without one?",
				      d->name, pos, sp->start - 1, sp->name);
		pos = sp->end;
		prev = sp->name;
	}
	if (!ret && d->size != ALIGN_UP(pos, (size_t)(d->align ? d->align : 1)))
		ret = err_set(err, -EINVAL,
			      "%s: bytes %zu..%zu (after '%s') are in no table entry: a member "
			      "without one?",
			      d->name, pos, d->size - 1, prev ? prev : "the start");
	free(s);
	return ret;
}

static int state_verify_desc(const struct state_desc *d, struct err *err, unsigned depth,
			     bool coverage)
{
	unsigned n = 0;
	int ret;

	if (depth > STATE_MAX_DEPTH)
		return err_set(err, -ELOOP, "%s: tables nested deeper than %u", d->name,
			       STATE_MAX_DEPTH);
	if (!state_name_ok(d->name) || !d->version || !d->min_version ||
	    d->min_version > d->version || !d->fields || !d->size)
		return err_set(err, -EINVAL, "%s: bad name, versions, size or field list",
			       d->name ? d->name : "?");
	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++, n++) {
		if (n + 1 >= STATE_MAX_FIELDS)
			return err_set(err, -EINVAL, "%s: more than %u fields", d->name,
				       STATE_MAX_FIELDS - 1);
		ret = state_verify_field(d, f, err, depth);
		if (ret < 0)
			return ret;
		for (const struct state_field *g = d->fields; g != f; g++)
			if (g->name && !strcmp(g->name, f->name))
				return err_set(err, -EINVAL, "%s: two fields named '%s'", d->name,
					       f->name);
	}
	return coverage ? state_verify_coverage(d, err) : 0;
}

int state_desc_verify(const struct state_desc *d, struct err *err)
{
	err_clear(err);
	return state_verify_desc(d, err, 0, true);
}

size_t state_desc_covered(const struct state_desc *d)
{
	size_t n = 0;

	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++)
		n += f->type == STATE_T_SECTION ? 0 : f->size;
	for (const struct state_field *f = d->fields; f->type != STATE_T_END; f++)
		if (f->type == STATE_T_SECTION)
			n += state_desc_covered(f->sub);
	return n;
}

/* ------------------------------------------------------------ record sets */

int state_set_begin(struct state_buf *out, size_t *at)
{
	struct state_writer w = { .b = out };

	*at = out->len;
	state_put(&w, STATE_SET_MAGIC, 4);
	state_put_le(&w, STATE_FORMAT, 2);
	state_put_le(&w, 0, 2);
	state_put_le(&w, 0, 4);
	return w.error;
}

void state_set_end(struct state_buf *out, size_t at, u32 count)
{
	for (unsigned i = 0; i < 4; i++)
		out->data[at + 8 + i] = (u8)(count >> (8 * i));
}

int state_set_parse(const void *buf, size_t len, struct state_set *set, struct err *err)
{
	struct state_reader r = { .p = buf, .len = len };
	u64 format, flags, count;
	char magic[4];

	memset(set, 0, sizeof(*set));
	if (!state_get(&r, magic, 4) || memcmp(magic, STATE_SET_MAGIC, 4))
		return err_set(err, -EPROTO, "not a machine state (bad magic)");
	if (!state_get_le(&r, 2, &format) || !state_get_le(&r, 2, &flags) ||
	    !state_get_le(&r, 4, &count))
		return err_set(err, -EPROTO, "machine state header truncated");
	if (format != STATE_FORMAT || flags)
		return err_set(err, -EPROTO, "machine state format %llu: this VMM reads format %u",
			       (unsigned long long)format, STATE_FORMAT);
	if (count > STATE_SET_MAX)
		return err_set(err, -EPROTO, "machine state claims %llu records (at most %u)",
			       (unsigned long long)count, STATE_SET_MAX);
	set->v = calloc(count ? count : 1, sizeof(set->v[0]));
	if (!set->v)
		return err_set(err, -ENOMEM, "out of memory");
	for (u64 i = 0; i < count; i++) {
		struct state_set_entry *e = &set->v[set->n];
		int ret = state_record_parse(r.p + r.pos, r.len - r.pos, &e->hdr, err);

		if (ret < 0) {
			err_prefix(err, "machine state record %llu", (unsigned long long)i);
			state_set_free(set);
			return ret;
		}
		if (state_set_find(set, e->hdr.instance)) {
			ret = err_set(err, -EINVAL, "machine state: two records for '%s'",
				      e->hdr.instance);
			state_set_free(set);
			return ret;
		}
		e->data = r.p + r.pos;
		r.pos += e->hdr.len;
		set->n++;
	}
	for (unsigned i = 0; i < set->n; i++)
		set->v[i].used = false;
	if (r.pos != r.len) {
		state_set_free(set);
		return err_set(err, -EPROTO, "machine state: %zu bytes after the last record",
			       r.len - r.pos);
	}
	return 0;
}

void state_set_free(struct state_set *set)
{
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

struct state_set_entry *state_set_find(struct state_set *set, const char *instance)
{
	for (unsigned i = 0; i < set->n; i++) {
		if (!strcmp(set->v[i].hdr.instance, instance)) {
			set->v[i].used = true;
			return &set->v[i];
		}
	}
	return NULL;
}

int state_set_check_used(const struct state_set *set, struct err *err)
{
	for (unsigned i = 0; i < set->n; i++)
		if (!set->v[i].used)
			return err_set(err, -EINVAL,
				       "the state has a record for %s '%s', which this VM does not "
				       "have (is it created from the same spec?)",
				       set->v[i].hdr.type, set->v[i].hdr.instance);
	return 0;
}
