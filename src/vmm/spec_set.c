// SPDX-License-Identifier: MIT
/*
 * --set key=value overrides, applied to the spec's JSON tree before validation so that an
 * override gets exactly the checks and messages a value in the file gets
 * (docs/conventions.md section 10).
 *
 * key: names separated by '.', each optionally followed by [index] ("boot.cmdline",
 * "disks[0].readonly", "nics[1].mac"). Objects missing on the way are created; an index
 * equal to an array's length appends (so "disks[0].path=a.img" works on a spec without
 * disks). value: JSON when it parses as JSON (RFC 8259 value: 1024, true, {"target":"pty"},
 * "quoted"), otherwise the text itself as a string ("quiet console=ttyS0"); the value null
 * removes the key, so the parser's default applies.
 *
 * Not supported: keys containing '.', '[', ']' or '=' (the spec has none).
 */
#include "vmm/spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_SET_MAX_DEPTH 16

struct spec_set_seg {
	const char *name; /* NULL for an [index] */
	size_t name_len;
	size_t index;
	size_t end; /* offset in the key just after this segment, for messages */
};

/* Split key into segments. Returns the count, or -1 with a diag. */
static int spec_set_split(const char *key, size_t key_len, struct spec_set_seg *segs,
			  struct diag *d)
{
	size_t o = 0;
	int n = 0;

	while (o < key_len) {
		struct spec_set_seg *s;

		if (n == SPEC_SET_MAX_DEPTH) {
			diag_add(d, "--set", "key %.*s is nested too deeply", (int)key_len, key);
			return -1;
		}
		s = &segs[n];
		memset(s, 0, sizeof(*s));
		if (key[o] == '[') {
			char *end;

			if (o == 0 || key[o + 1] < '0' || key[o + 1] > '9')
				goto err_bad;
			errno = 0;
			s->index = strtoul(key + o + 1, &end, 10);
			if (errno || (size_t)(end - key) >= key_len || *end != ']' ||
			    s->index > 1u << 20)
				goto err_bad;
			o = (size_t)(end - key) + 1;
		} else {
			if (n > 0) {
				if (key[o] != '.')
					goto err_bad;
				o++;
			}
			s->name = key + o;
			while (o < key_len && key[o] != '.' && key[o] != '[' && key[o] != ']')
				o++;
			s->name_len = (size_t)(key + o - s->name);
			if (!s->name_len)
				goto err_bad;
		}
		s->end = o;
		n++;
	}
	if (!n)
		goto err_bad;
	return n;

err_bad:
	diag_add(d, "--set", "bad key \"%.*s\" (expected names joined by '.', with [N] indexes)",
		 (int)key_len, key);
	return -1;
}

/* The value text as JSON if it parses, else as a string (already checked to be UTF-8). */
static json_t *spec_set_value(const char *text)
{
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	return v ? v : json_string(text);
}

static const char *spec_set_type(const json_t *j)
{
	return json_is_object(j) ? "an object" : json_is_array(j) ? "an array" : "a single value";
}

/* Step from container *cur through segment s, creating what is missing (as an object when
 * the next segment is a name, an array otherwise). Returns 0, -EINVAL with a diag, -ENOMEM. */
static int spec_set_step(json_t **cur, const struct spec_set_seg *s, bool next_is_name,
			 const char *key, struct diag *d)
{
	json_t *child;

	if (s->name) {
		child = json_object_getn(*cur, s->name, s->name_len);
		if (!child) {
			child = next_is_name ? json_object() : json_array();
			if (!child || json_object_setn_new(*cur, s->name, s->name_len, child))
				return -ENOMEM;
		}
		*cur = child;
		return 0;
	}
	if (s->index < json_array_size(*cur)) {
		*cur = json_array_get(*cur, s->index);
		return 0;
	}
	if (s->index > json_array_size(*cur)) {
		diag_add(d, "--set",
			 "%.*s: index out of range (the array's length is %zu; [%zu] appends)",
			 (int)s->end, key, json_array_size(*cur), json_array_size(*cur));
		return -EINVAL;
	}
	child = next_is_name ? json_object() : json_array();
	if (!child || json_array_append_new(*cur, child))
		return -ENOMEM;
	*cur = child;
	return 0;
}

/* cur must be the container segment s indexes: an object for a name, an array for [N]. */
static bool spec_set_fits(const json_t *cur, const struct spec_set_seg *s, const char *key,
			  size_t prefix_len, struct diag *d)
{
	if (s->name ? json_is_object(cur) : json_is_array(cur))
		return true;
	diag_add(d, "--set", "%.*s is %s, not %s", prefix_len ? (int)prefix_len : 4,
		 prefix_len ? key : "spec", spec_set_type(cur), s->name ? "an object" : "an array");
	return false;
}

static int spec_set_store(json_t *cur, const struct spec_set_seg *s, json_t *val, const char *key,
			  struct diag *d)
{
	if (s->name) {
		if (json_is_null(val)) {
			json_object_deln(cur, s->name, s->name_len);
			json_decref(val);
			return 0;
		}
		return json_object_setn_new(cur, s->name, s->name_len, val) ? -ENOMEM : 0;
	}
	if (s->index > json_array_size(cur) ||
	    (json_is_null(val) && s->index == json_array_size(cur))) {
		diag_add(d, "--set",
			 "%.*s: index out of range (the array's length is %zu; [%zu] appends)",
			 (int)s->end, key, json_array_size(cur), json_array_size(cur));
		json_decref(val);
		return -EINVAL;
	}
	if (json_is_null(val)) {
		json_decref(val);
		return json_array_remove(cur, s->index) ? -ENOMEM : 0;
	}
	if (s->index == json_array_size(cur))
		return json_array_append_new(cur, val) ? -ENOMEM : 0;
	return json_array_set_new(cur, s->index, val) ? -ENOMEM : 0;
}

int spec_set_apply(struct json_t *root, const char *set, struct diag *d)
{
	struct spec_set_seg segs[SPEC_SET_MAX_DEPTH];
	const char *eq = strchr(set, '=');
	size_t key_len;
	json_t *cur = root, *val;
	int n, ret;

	val = json_string(set); /* jansson checks UTF-8; keys and values must be valid */
	if (!val) {
		diag_add(d, "--set", "not valid UTF-8");
		return -EINVAL;
	}
	json_decref(val);
	if (!eq || eq == set) {
		diag_add(d, "--set", "expected key=value, got \"%s\"", set);
		return -EINVAL;
	}
	key_len = (size_t)(eq - set);
	n = spec_set_split(set, key_len, segs, d);
	if (n < 0)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		if (!spec_set_fits(cur, &segs[i], set, i ? segs[i - 1].end : 0, d))
			return -EINVAL;
		if (i == n - 1)
			break;
		ret = spec_set_step(&cur, &segs[i], segs[i + 1].name != NULL, set, d);
		if (ret)
			return ret;
	}
	val = spec_set_value(eq + 1);
	if (!val)
		return -ENOMEM;
	return spec_set_store(cur, &segs[n - 1], val, set, d);
}
