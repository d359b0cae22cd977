// SPDX-License-Identifier: MIT
/*
 * The spec's paravirtual sections (spec.h, docs/spec.md, docs/hypercall.md): uuid,
 * guestinfo, hypercall, consoles, rng. Checks that come from specifications rather than
 * taste:
 *  - uuid: RFC 9562 section 4 text form (8-4-4-4-12 hexadecimal digits); without one the VM
 *    gets a UUID derived from its name (RFC 9562 version 8, "custom"), the same on every run.
 *  - guestinfo: the backdoor stores at most 64 variables (keys of 1..63 of [A-Za-z0-9._-],
 *    values of at most 1023 bytes: devices/vmport.h).
 *  - hypercall.identity "vmware" needs the backdoor: Linux's VMware platform code asks it for
 *    the TSC frequency (arch/x86/kernel/cpu/vmware.c GETHZ).
 *  - consoles[].name: the port name Linux shows as /dev/virtio-ports/NAME (virtio 1.2 section
 *    5.3.6.2 VIRTIO_CONSOLE_PORT_NAME); at most 7 ports (the device's queue pairs beside the
 *    control pair); at most one stdio back end in all of serial and consoles (stdin has one
 *    reader).
 *  - rng.bytes_per_second: 1..2^32 (the device's budget per 100 ms window, src/virtio/rng.h).
 */
#include "vmm/spec_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hypercall_identity_names[] = { "default", "vmware", NULL };

const char *hypercall_identity_name(enum hypercall_identity i)
{
	return SPEC_ENUM_NAME(hypercall_identity_names, i);
}

void spec_uuid_format(const u8 u[16], char out[37])
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
		 u[13], u[14], u[15]);
}

static int spec_hex(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool spec_uuid_parse(const char *s, u8 out[16])
{
	unsigned n = 0;

	if (strlen(s) != 36)
		return false;
	for (unsigned i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
			continue;
		}
		hi = spec_hex(s[i]);
		lo = spec_hex(s[++i]);
		if (hi < 0 || lo < 0)
			return false;
		out[n++] = (u8)(hi << 4 | lo);
	}
	return n == 16;
}

/* A version 8 UUID from the VM's name: FNV-1a 64 twice, with the RFC 9562 bits set. */
static void spec_uuid_derive(const char *name, u8 out[16])
{
	for (unsigned half = 0; half < 2; half++) {
		u64 h = 0xcbf29ce484222325ull ^ (half ? 0x9e3779b97f4a7c15ull : 0);

		for (const char *p = "vmm-uuid:"; *p; p++)
			h = (h ^ (u8)*p) * 0x100000001b3ull;
		for (const char *p = name; *p; p++)
			h = (h ^ (u8)*p) * 0x100000001b3ull;
		for (unsigned i = 0; i < 8; i++)
			out[half * 8 + i] = (u8)(h >> (56 - 8 * i));
	}
	out[6] = (u8)((out[6] & 0x0f) | 0x80); /* version 8 */
	out[8] = (u8)((out[8] & 0x3f) | 0x80); /* variant 10 */
}

static bool spec_name_ok(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (!len || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!spec_isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
			return false;
	}
	return true;
}

static void spec_parse_uuid(struct spec_ctx *c, const json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];
	json_t *j = spec_member(root, "", "uuid", kpath);
	const char *text;

	if (j && spec_get_string(c, kpath, j, &text)) {
		if (spec_uuid_parse(text, s->uuid))
			s->uuid_set = true;
		else
			spec_err(
				c, kpath,
				"expected a UUID such as \"564d0f6c-3a4e-4b12-8f00-2d0c7a1e9b55\", "
				"got %s",
				SPEC_SHOW(text));
	}
	if (!s->uuid_set && s->name)
		spec_uuid_derive(s->name, s->uuid);
}

static void spec_parse_guestinfo(struct spec_ctx *c, const json_t *root, struct guestinfo_spec *g)
{
	char kpath[SPEC_PATH_LEN], vpath[SPEC_PATH_LEN];
	json_t *obj = spec_member(root, "", "guestinfo", kpath), *v;
	const char *key, *value;

	if (!obj)
		return;
	if (!json_is_object(obj)) {
		spec_err(c, kpath, "expected an object, got %s", spec_type_name(obj));
		return;
	}
	if (json_object_size(obj) > SPEC_GUESTINFO_MAX) {
		spec_err(c, kpath, "at most %u variables, got %zu", SPEC_GUESTINFO_MAX,
			 json_object_size(obj));
		return;
	}
	if (!json_object_size(obj))
		return;
	g->keys = calloc(json_object_size(obj), sizeof(*g->keys));
	g->values = calloc(json_object_size(obj), sizeof(*g->values));
	if (!g->keys || !g->values) {
		c->oom = true;
		return;
	}
	json_object_foreach(obj, key, v)
	{
		spec_path_key(vpath, "guestinfo", key);
		if (!spec_name_ok(key, SPEC_GUESTINFO_KEY_MAX)) {
			spec_err(c, vpath, "a key must be 1..%u characters of [A-Za-z0-9._-]",
				 SPEC_GUESTINFO_KEY_MAX);
			continue;
		}
		if (!spec_get_string(c, vpath, v, &value))
			continue;
		if (strlen(value) > SPEC_GUESTINFO_VALUE_MAX) {
			spec_err(c, vpath, "too long (%zu bytes, at most %u)", strlen(value),
				 SPEC_GUESTINFO_VALUE_MAX);
			continue;
		}
		g->keys[g->nr] = spec_strdup(c, key);
		g->values[g->nr] = spec_strdup(c, value);
		g->nr++;
	}
}

static void spec_parse_hypercall(struct spec_ctx *c, const json_t *root, struct hypercall_spec *h)
{
	char kpath[SPEC_PATH_LEN];
	json_t *obj = spec_member(root, "", "hypercall", kpath), *j;

	if (!obj || !spec_check_object(c, "hypercall", obj, spec_section_keys("hypercall")))
		return;
	j = spec_member(obj, "hypercall", "vmware_backdoor", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &h->vmware_backdoor);
	SPEC_GET_ENUM(c, obj, "hypercall", "identity", hypercall_identity_names, &h->identity);
	if (h->identity == HYPERCALL_IDENTITY_VMWARE && !h->vmware_backdoor)
		spec_err(c, "hypercall.identity",
			 "\"vmware\" needs \"vmware_backdoor\": true (a VMware guest asks the "
			 "backdoor for its TSC frequency)");
}

static void spec_parse_console(struct spec_ctx *c, const json_t *o, const char *ipath,
			       struct console_port_spec *cp)
{
	char kpath[SPEC_PATH_LEN];
	const char *name;
	json_t *j;

	cp->target.target = SERIAL_PTY;
	if (!spec_check_object(c, ipath, o, spec_section_keys("consoles[]")))
		return;
	j = spec_member(o, ipath, "name", kpath);
	if (j && spec_get_string(c, kpath, j, &name)) {
		if (spec_name_ok(name, SPEC_CONSOLE_NAME_MAX))
			cp->name = spec_strdup(c, name);
		else
			spec_err(c, kpath, "must be 1..%u characters of [A-Za-z0-9._-], got %s",
				 SPEC_CONSOLE_NAME_MAX, SPEC_SHOW(name));
	}
	spec_parse_target(c, o, ipath, &cp->target);
}

static void spec_parse_consoles(struct spec_ctx *c, const json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN], ipath[SPEC_PATH_LEN];
	json_t *arr = spec_member(root, "", "consoles", kpath);
	unsigned stdio = s->serial.target == SERIAL_STDIO;
	size_t i;
	json_t *o;

	if (!arr)
		return;
	s->consoles = spec_new_array(c, kpath, arr, SPEC_CONSOLES_MAX, "console ports",
				     sizeof(*s->consoles));
	if (!s->consoles)
		return;
	json_array_foreach(arr, i, o)
	{
		struct console_port_spec *cp = &s->consoles[s->nr_consoles++];

		spec_path_index(ipath, "consoles", i);
		spec_parse_console(c, o, ipath, cp);
		if (cp->target.target == SERIAL_STDIO && stdio++)
			spec_err(
				c, ipath,
				"target \"stdio\" is already taken (by serial or an earlier port); "
				"use \"pty\" or \"unix\"");
		for (unsigned k = 0; cp->name && k + 1 < s->nr_consoles; k++) {
			if (s->consoles[k].name && !strcmp(s->consoles[k].name, cp->name))
				spec_err(c, ipath, "the name %s is already consoles[%u]'s",
					 SPEC_SHOW(cp->name), k);
		}
	}
}

static void spec_parse_rng(struct spec_ctx *c, const json_t *root, struct rng_spec *r)
{
	char kpath[SPEC_PATH_LEN];
	json_t *obj = spec_member(root, "", "rng", kpath), *j;

	if (!obj || !spec_check_object(c, "rng", obj, spec_section_keys("rng")))
		return;
	r->present = true;
	j = spec_member(obj, "rng", "bytes_per_second", kpath);
	if (j)
		spec_get_int_range(c, kpath, j, 1, SPEC_RNG_RATE_MAX, &r->bytes_per_second);
}

void spec_parse_paravirt(struct spec_ctx *c, const json_t *root, struct vm_spec *s)
{
	spec_parse_uuid(c, root, s);
	spec_parse_guestinfo(c, root, &s->guestinfo);
	spec_parse_hypercall(c, root, &s->hypercall);
	spec_parse_consoles(c, root, s);
	spec_parse_rng(c, root, &s->rng);
}
