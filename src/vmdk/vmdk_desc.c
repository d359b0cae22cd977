// SPDX-License-Identifier: MIT
/*
 * The VMDK text descriptor: parsing, formatting and CID rewriting.
 *
 * Spec: VMware "Virtual Disk Format 1.1", section 3 "The Descriptor File" (header fields
 * version/CID/parentCID/createType/parentFileNameHint, extent lines "ACCESS SECTORS TYPE
 * "file" [offset]", the disk database ddb.*). Keys are case-insensitive, '#' starts a comment.
 *
 * Deliberately strict (hostile-image table in research/platform.md 1.9): a quote must close on
 * its own line with nothing after it, every extent needs a size, file names may not contain
 * control characters, and sizes are bounded. Unknown keys are ignored.
 * Not implemented: the version-3 changeTrackPath and encodings other than ASCII/UTF-8.
 */
#include "vmdk/vmdk_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct desc_line {
	const char *p; /* current position */
	const char *end;
	unsigned lineno;
};

static void desc_skip_ws(struct desc_line *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t'))
		l->p++;
}

/* Read a token: a quoted string or a run of non-blank characters. */
static int desc_token(struct desc_line *l, char *out, size_t cap, bool *quoted)
{
	size_t n = 0;

	desc_skip_ws(l);
	*quoted = false;
	if (l->p >= l->end)
		return -ENOENT;
	if (*l->p == '"') {
		*quoted = true;
		l->p++;
		while (l->p < l->end && *l->p != '"') {
			if ((unsigned char)*l->p < 0x20 || n + 1 >= cap)
				return -EINVAL;
			out[n++] = *l->p++;
		}
		if (l->p >= l->end)
			return -EINVAL; /* unterminated quote */
		l->p++;
	} else {
		while (l->p < l->end && *l->p != ' ' && *l->p != '\t') {
			if ((unsigned char)*l->p < 0x20 || n + 1 >= cap)
				return -EINVAL;
			out[n++] = *l->p++;
		}
	}
	out[n] = 0;
	return 0;
}

static int desc_parse_u64(const char *s, int base, u64 *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*v = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	return 0;
}

static int desc_parse_extent(struct desc_line *l, struct vmdk_desc *d, struct err *err)
{
	char tok[4096];
	struct vmdk_desc_extent *e, *grown;
	bool q;
	u64 v;

	if (d->n_ext >= VMDK_MAX_EXTENTS)
		return err_set(err, -EINVAL, "line %u: more than %u extents", l->lineno,
			       VMDK_MAX_EXTENTS);
	grown = realloc(d->ext, (d->n_ext + 1) * sizeof(*grown));
	if (!grown)
		return err_set(err, -ENOMEM, "out of memory");
	d->ext = grown;
	e = &d->ext[d->n_ext];
	memset(e, 0, sizeof(*e));

	if (desc_token(l, tok, sizeof(tok), &q))
		return err_set(err, -EINVAL, "line %u: bad extent access mode", l->lineno);
	if (!strcasecmp(tok, "RW"))
		e->access = VMDK_ACCESS_RW;
	else if (!strcasecmp(tok, "RDONLY"))
		e->access = VMDK_ACCESS_RDONLY;
	else
		e->access = VMDK_ACCESS_NOACCESS;
	if (desc_token(l, tok, sizeof(tok), &q) || desc_parse_u64(tok, 10, &v) || v == 0 ||
	    v > (1ull << 40))
		return err_set(err, -EINVAL, "line %u: bad extent size", l->lineno);
	e->sectors = v;
	if (desc_token(l, tok, sizeof(tok), &q))
		return err_set(err, -EINVAL, "line %u: missing extent type", l->lineno);
	if (!strcasecmp(tok, "FLAT"))
		e->type = VMDK_EXT_FLAT;
	else if (!strcasecmp(tok, "VMFS"))
		e->type = VMDK_EXT_VMFS;
	else if (!strcasecmp(tok, "SPARSE"))
		e->type = VMDK_EXT_SPARSE;
	else if (!strcasecmp(tok, "ZERO"))
		e->type = VMDK_EXT_ZERO;
	else
		return err_set(err, -ENOTSUP, "line %u: unsupported extent type '%.32s'", l->lineno,
			       tok);
	d->n_ext++; /* from here on the entry is owned by d */
	if (e->type == VMDK_EXT_ZERO)
		goto check_end;
	if (desc_token(l, tok, sizeof(tok), &q) || !q || !tok[0])
		return err_set(err, -EINVAL, "line %u: extent file name must be quoted", l->lineno);
	e->file = strdup(tok);
	if (!e->file)
		return err_set(err, -ENOMEM, "out of memory");
	if (!desc_token(l, tok, sizeof(tok), &q)) {
		if (e->type == VMDK_EXT_SPARSE || desc_parse_u64(tok, 10, &v) || v > (1ull << 40))
			return err_set(err, -EINVAL, "line %u: bad extent offset", l->lineno);
		e->offset = v;
	}
check_end:
	desc_skip_ws(l);
	if (l->p != l->end)
		return err_set(err, -EINVAL, "line %u: trailing characters after extent",
			       l->lineno);
	return 0;
}

static void desc_copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

static int desc_parse_kv(struct desc_line *l, struct vmdk_desc *d, struct err *err)
{
	char key[128], val[4096]; /* a parent hint may be a whole path (PATH_MAX) */
	const char *eq = memchr(l->p, '=', (size_t)(l->end - l->p));
	size_t klen;
	bool q;
	u64 v;
	int ret;

	if (!eq)
		return err_set(err, -EINVAL, "line %u: expected key=value", l->lineno);
	klen = (size_t)(eq - l->p);
	while (klen && (l->p[klen - 1] == ' ' || l->p[klen - 1] == '\t'))
		klen--;
	if (!klen || klen >= sizeof(key))
		return err_set(err, -EINVAL, "line %u: bad key", l->lineno);
	memcpy(key, l->p, klen);
	key[klen] = 0;
	l->p = eq + 1;
	ret = desc_token(l, val, sizeof(val), &q);
	if (ret == -ENOENT)
		val[0] = 0; /* empty value */
	else if (ret < 0)
		return err_set(err, -EINVAL, "line %u: bad value for %.64s (unterminated quote?)",
			       l->lineno, key);
	desc_skip_ws(l);
	if (l->p != l->end)
		return err_set(err, -EINVAL, "line %u: trailing characters after value of %.64s",
			       l->lineno, key);

	if (!strcasecmp(key, "version")) {
		if (desc_parse_u64(val, 10, &v) || v < 1 || v > 3)
			return err_set(err, -ENOTSUP, "line %u: unsupported descriptor version",
				       l->lineno);
		d->version = (u32)v;
	} else if (!strcasecmp(key, "CID") || !strcasecmp(key, "parentCID")) {
		if (desc_parse_u64(val, 16, &v) || v > 0xffffffffu)
			return err_set(err, -EINVAL, "line %u: bad %s", l->lineno, key);
		if (!strcasecmp(key, "CID"))
			d->cid = (u32)v;
		else
			d->parent_cid = (u32)v;
	} else if (!strcasecmp(key, "createType")) {
		desc_copy(d->create_type, sizeof(d->create_type), val);
	} else if (!strcasecmp(key, "parentFileNameHint")) {
		free(d->parent_hint);
		d->parent_hint = val[0] ? strdup(val) : NULL;
		if (val[0] && !d->parent_hint)
			return err_set(err, -ENOMEM, "out of memory");
	} else if (!strcasecmp(key, "ddb.adapterType")) {
		desc_copy(d->adapter, sizeof(d->adapter), val);
	} else if (!strcasecmp(key, "ddb.virtualHWVersion")) {
		desc_copy(d->hwversion, sizeof(d->hwversion), val);
	} else if (!strcasecmp(key, "ddb.geometry.cylinders")) {
		d->cylinders = desc_parse_u64(val, 10, &v) || v > 0xffffffffu ? 0 : (u32)v;
	} else if (!strcasecmp(key, "ddb.geometry.heads")) {
		d->heads = desc_parse_u64(val, 10, &v) || v > 255 ? 0 : (u32)v;
	} else if (!strcasecmp(key, "ddb.geometry.sectors")) {
		d->sectors = desc_parse_u64(val, 10, &v) || v > 63 ? 0 : (u32)v;
	}
	return 0;
}

static bool desc_is_extent_line(const char *p, const char *end)
{
	static const char *const modes[] = { "RW ", "RDONLY ", "NOACCESS " };

	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		size_t n = strlen(modes[i]);

		if ((size_t)(end - p) >= n && !strncasecmp(p, modes[i], n))
			return true;
	}
	return false;
}

int vmdk_desc_parse(const char *text, size_t len, struct vmdk_desc *d, struct err *err)
{
	const char *p = text, *end;
	struct desc_line l = { 0 };
	int ret;

	memset(d, 0, sizeof(*d));
	d->cid = VMDK_CID_NONE;
	d->parent_cid = VMDK_CID_NONE;
	/* Embedded descriptors are NUL-padded: stop at the first NUL. */
	end = memchr(text, 0, len);
	len = end ? (size_t)(end - text) : len;
	if (len > VMDK_MAX_DESC_BYTES)
		return err_set(err, -EINVAL, "descriptor larger than %u bytes",
			       VMDK_MAX_DESC_BYTES);
	end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;

		l.lineno++;
		l.p = p;
		l.end = le;
		p = nl ? nl + 1 : end;
		if (l.end > l.p && l.end[-1] == '\r')
			l.end--;
		desc_skip_ws(&l);
		if (l.p == l.end || *l.p == '#')
			continue;
		if (desc_is_extent_line(l.p, l.end))
			ret = desc_parse_extent(&l, d, err);
		else
			ret = desc_parse_kv(&l, d, err);
		if (ret < 0)
			goto err_free;
	}
	if (!d->version) {
		ret = err_set(err, -EINVAL, "not a VMDK descriptor (no version= line)");
		goto err_free;
	}
	if (!d->n_ext) {
		ret = err_set(err, -EINVAL, "descriptor has no extents");
		goto err_free;
	}
	if (!d->create_type[0]) {
		ret = err_set(err, -EINVAL, "descriptor has no createType");
		goto err_free;
	}
	d->text = malloc(len + 1);
	if (!d->text) {
		ret = err_set(err, -ENOMEM, "out of memory");
		goto err_free;
	}
	memcpy(d->text, text, len);
	d->text[len] = 0;
	d->text_len = len;
	return 0;

err_free:
	vmdk_desc_free(d);
	return ret;
}

void vmdk_desc_free(struct vmdk_desc *d)
{
	for (unsigned i = 0; i < d->n_ext; i++)
		free(d->ext[i].file);
	free(d->ext);
	free(d->parent_hint);
	free(d->text);
	memset(d, 0, sizeof(*d));
}

const char *vmdk_ext_type_name(enum vmdk_ext_type t)
{
	switch (t) {
	case VMDK_EXT_FLAT:
		return "FLAT";
	case VMDK_EXT_SPARSE:
		return "SPARSE";
	case VMDK_EXT_ZERO:
		return "ZERO";
	case VMDK_EXT_VMFS:
		return "VMFS";
	}
	return "?";
}

/* Values we write must not break the line-oriented format. */
static bool desc_value_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == '"')
			return false;
	return true;
}

int vmdk_desc_format(const struct vmdk_desc *d, char **out)
{
	static const char *const acc[] = { "RW", "RDONLY", "NOACCESS" };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int bad;

	if (d->parent_hint && !desc_value_ok(d->parent_hint))
		return -EINVAL;
	for (unsigned i = 0; i < d->n_ext; i++)
		if ((d->ext[i].file && !desc_value_ok(d->ext[i].file)) || d->ext[i].access > 2)
			return -EINVAL;
	/* A stream that grows as it is written: no field, however long, can overrun it. */
	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fprintf(f, "# Disk DescriptorFile\nversion=1\nCID=%x\nparentCID=%x\ncreateType=\"%.*s\"\n",
		d->cid, d->parent_cid, (int)sizeof(d->create_type), d->create_type);
	/* qemu writes the hint line instead of the blank line. */
	if (d->parent_hint)
		fprintf(f, "parentFileNameHint=\"%s\"\n", d->parent_hint);
	else
		fputs("\n", f);
	fputs("# Extent description\n", f);
	for (unsigned i = 0; i < d->n_ext; i++) {
		const struct vmdk_desc_extent *e = &d->ext[i];

		fprintf(f, "%s %llu %s", acc[e->access], (unsigned long long)e->sectors,
			vmdk_ext_type_name(e->type));
		if (e->file)
			fprintf(f, " \"%s\"", e->file);
		if (e->type == VMDK_EXT_FLAT) /* ESX writes VMFS extents without an offset */
			fprintf(f, " %llu", (unsigned long long)e->offset);
		fputs("\n", f);
	}
	fprintf(f,
		"\n# The Disk Data Base\n#DDB\n\n"
		"ddb.virtualHWVersion = \"%.*s\"\n"
		"ddb.geometry.cylinders = \"%u\"\n"
		"ddb.geometry.heads = \"%u\"\n"
		"ddb.geometry.sectors = \"%u\"\n"
		"ddb.adapterType = \"%.*s\"\n"
		"ddb.toolsVersion = \"2147483647\"\n",
		(int)sizeof(d->hwversion), d->hwversion, d->cylinders, d->heads, d->sectors,
		(int)sizeof(d->adapter), d->adapter);
	bad = ferror(f);
	if (fclose(f) || bad) {
		free(buf);
		return -ENOMEM;
	}
	*out = buf;
	return 0;
}

int vmdk_desc_set_hex(const struct vmdk_desc *d, const char *key, u32 val, char **out,
		      size_t *out_len)
{
	const char *t = d->text, *end = d->text + d->text_len, *line = t;
	size_t klen = strlen(key);
	char num[16];
	size_t nlen = (size_t)snprintf(num, sizeof(num), "%x", val);

	while (line < end) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *le = nl ? nl : end;
		const char *p = line, *q;

		line = nl ? nl + 1 : end;
		while (p < le && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(le - p) <= klen || strncasecmp(p, key, klen))
			continue;
		q = p + klen;
		while (q < le && (*q == ' ' || *q == '\t'))
			q++;
		if (q < le && *q == '=') {
			size_t pre = (size_t)(q + 1 - t), post = (size_t)(end - le);
			char *buf = malloc(pre + nlen + post + 1);

			if (!buf)
				return -ENOMEM;
			memcpy(buf, t, pre);
			memcpy(buf + pre, num, nlen);
			memcpy(buf + pre + nlen, le, post);
			buf[pre + nlen + post] = 0;
			*out = buf;
			*out_len = pre + nlen + post;
			return 0;
		}
	}
	return -ENOENT;
}
