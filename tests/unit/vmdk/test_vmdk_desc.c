// SPDX-License-Identifier: MIT
/* Unit tests of the VMDK descriptor parser, formatter and CID rewriting (vmdk_desc.c). */
#include "vmdk/vmdk_internal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char qemu_delta[] = "# Disk DescriptorFile\nversion=1\nCID=b0574697\n"
				 "parentCID=248930e9\ncreateType=\"monolithicSparse\"\n"
				 "parentFileNameHint=\"a.vmdk\"\n# Extent description\n"
				 "RW 2097152 SPARSE \"e.vmdk\"\n\n# The Disk Data Base\n#DDB\n\n"
				 "ddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"2080\"\n"
				 "ddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\n"
				 "ddb.adapterType = \"ide\"\nddb.toolsVersion = \"2147483647\"\n";

static int parse(const char *s, struct vmdk_desc *d, struct err *e)
{
	return vmdk_desc_parse(s, strlen(s), d, e);
}

static void test_parse_qemu_delta(void **state)
{
	struct vmdk_desc d;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(parse(qemu_delta, &d, &e), 0);
	assert_int_equal(d.cid, 0xb0574697);
	assert_int_equal(d.parent_cid, 0x248930e9);
	assert_string_equal(d.create_type, "monolithicSparse");
	assert_string_equal(d.parent_hint, "a.vmdk");
	assert_int_equal(d.n_ext, 1);
	assert_int_equal(d.ext[0].type, VMDK_EXT_SPARSE);
	assert_int_equal(d.ext[0].sectors, 2097152);
	assert_string_equal(d.ext[0].file, "e.vmdk");
	assert_int_equal(d.cylinders, 2080);
	assert_int_equal(d.heads, 16);
	assert_string_equal(d.adapter, "ide");
	vmdk_desc_free(&d);
}

static void test_parse_extent_kinds_crlf_case(void **state)
{
	const char *s = "version=1\r\ncid=fffffffe\r\nCREATETYPE=\"vmfs\"\r\n"
			"RW 8 VMFS \"x-flat.vmdk\"\r\nrdonly 16 zero\r\n"
			"NOACCESS 8 FLAT \"y\" 5\r\n  # comment\r\n";
	struct vmdk_desc d;
	struct err e = { 0 };

	(void)state;
	assert_int_equal(parse(s, &d, &e), 0);
	assert_int_equal(d.cid, 0xfffffffe);
	assert_int_equal(d.parent_cid, VMDK_CID_NONE);
	assert_int_equal(d.n_ext, 3);
	assert_int_equal(d.ext[0].type, VMDK_EXT_VMFS);
	assert_int_equal(d.ext[1].type, VMDK_EXT_ZERO);
	assert_int_equal(d.ext[1].access, VMDK_ACCESS_RDONLY);
	assert_null(d.ext[1].file);
	assert_int_equal(d.ext[2].access, VMDK_ACCESS_NOACCESS);
	assert_int_equal(d.ext[2].offset, 5);
	vmdk_desc_free(&d);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"version=1\ncreateType=\"x\n RW 8 FLAT \"f\" 0\n", /* unterminated quote */
		"version=1\ncreateType=\"x\"\nRW 8 FLAT \"f\" 0 junk\n",
		"version=1\ncreateType=\"x\"\nRW 8 FLAT f 0\n",	     /* unquoted file */
		"version=1\ncreateType=\"x\"\nRW -8 FLAT \"f\" 0\n", /* negative size */
		"version=1\ncreateType=\"x\"\nRW 0 FLAT \"f\" 0\n",
		"version=1\ncreateType=\"x\"\nRW 8 VMFSSPARSE \"f\"\n",
		"version=1\ncreateType=\"x\"\nRW 8 SPARSE \"f\" 7\n", /* offset on sparse */
		"version=1\ncreateType=\"x\"\n",		      /* no extents */
		"createType=\"x\"\nRW 8 FLAT \"f\" 0\n",	      /* no version */
		"version=4\ncreateType=\"x\"\nRW 8 FLAT \"f\" 0\n",
		"version=1\nRW 8 FLAT \"f\" 0\n", /* no createType */
		"version=1\nCID=xyz\ncreateType=\"x\"\nRW 8 FLAT \"f\" 0\n",
		"version=1\nCID=1ffffffff\ncreateType=\"x\"\nRW 8 FLAT \"f\" 0\n",
		"version=1\ncreateType=\"x\"\nRW 8 FLAT \"a\x01b\" 0\n",
		"version=1\ncreateType=\"x\"\njust words\n",
	};

	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct vmdk_desc d;
		struct err e = { 0 };

		assert_true(parse(bad[i], &d, &e) < 0);
		assert_true(e.msg[0] != 0);
	}
}

static void test_parse_stops_at_nul_padding(void **state)
{
	char buf[1024] = { 0 };
	struct vmdk_desc d;
	struct err e = { 0 };

	(void)state;
	memcpy(buf, qemu_delta, sizeof(qemu_delta) - 1);
	memcpy(buf + 900, "RW 9 FLAT \"evil\" 0\n", 19); /* after the NUL: ignored */
	assert_int_equal(vmdk_desc_parse(buf, sizeof(buf), &d, &e), 0);
	assert_int_equal(d.n_ext, 1);
	vmdk_desc_free(&d);
}

static void test_format_roundtrip_matches_qemu_text(void **state)
{
	struct vmdk_desc d, d2;
	struct err e = { 0 };
	char *text;

	(void)state;
	assert_int_equal(parse(qemu_delta, &d, &e), 0);
	assert_int_equal(vmdk_desc_format(&d, &text), 0);
	assert_string_equal(text, qemu_delta); /* qemu's layout, hint line included */
	assert_int_equal(parse(text, &d2, &e), 0);
	assert_int_equal(d2.cid, d.cid);
	free(text);
	free(d.parent_hint);
	d.parent_hint = strdup("a\"b"); /* a quote cannot be written */
	assert_int_equal(vmdk_desc_format(&d, &text), -EINVAL);
	vmdk_desc_free(&d);
	vmdk_desc_free(&d2);
}

/* Fill n bytes of c and terminate: a field of exactly that length. */
static char *long_field(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

/*
 * Fields of any length format in full (the formatter grows its buffer; before, 1 KiB of slack
 * plus 4200 bytes per extent was all it had, and a long hint wrote past the end): no extents
 * with a long hint, a hint longer than any path, three extents with 4 KiB names, createType
 * and adapter filled to their last byte. Each result parses back to the same fields.
 */
static void test_format_long_fields(void **state)
{
	static const struct {
		size_t hint;
		unsigned n_ext;
	} cases[] = { { 4095, 0 }, { 700, 0 }, { 1023, 1 }, { 4095, 3 }, { 20000, 3 } };
	struct vmdk_desc d, back;
	struct err e = { 0 };
	char *text;

	(void)state;
	for (unsigned k = 0; k < ARRAY_SIZE(cases); k++) {
		memset(&d, 0, sizeof(d));
		d.version = 1;
		d.cid = 1;
		d.parent_cid = 2;
		memset(d.create_type, 'c', sizeof(d.create_type) - 1);
		memset(d.adapter, 'a', sizeof(d.adapter) - 1);
		memset(d.hwversion, 'h', sizeof(d.hwversion) - 1);
		d.parent_hint = long_field(cases[k].hint, 'p');
		d.n_ext = cases[k].n_ext;
		if (d.n_ext) {
			d.ext = calloc(d.n_ext, sizeof(*d.ext));
			assert_non_null(d.ext);
		}
		for (unsigned i = 0; i < d.n_ext; i++) {
			d.ext[i].type = VMDK_EXT_FLAT;
			d.ext[i].sectors = 8;
			d.ext[i].offset = 0xffffffffffull;
			d.ext[i].file = long_field(4095, (char)('x' + i));
		}
		assert_int_equal(vmdk_desc_format(&d, &text), 0);
		assert_non_null(strstr(text, d.create_type));
		assert_non_null(strstr(text, d.adapter));
		assert_non_null(strstr(text, d.parent_hint));
		for (unsigned i = 0; i < d.n_ext; i++)
			assert_non_null(strstr(text, d.ext[i].file));
		if (d.n_ext && cases[k].hint < 4096) { /* the parser takes hints up to PATH_MAX */
			assert_int_equal(parse(text, &back, &e), 0);
			assert_string_equal(back.parent_hint, d.parent_hint);
			assert_string_equal(back.create_type, d.create_type);
			assert_string_equal(back.adapter, d.adapter);
			assert_int_equal(back.n_ext, d.n_ext);
			assert_string_equal(back.ext[d.n_ext - 1].file, d.ext[d.n_ext - 1].file);
			vmdk_desc_free(&back);
		}
		free(text);
		vmdk_desc_free(&d);
	}
}

static void test_set_hex_keeps_other_lines(void **state)
{
	struct vmdk_desc d, d2;
	struct err e = { 0 };
	char *text;
	size_t len;

	(void)state;
	assert_int_equal(parse(qemu_delta, &d, &e), 0);
	assert_int_equal(vmdk_desc_set_hex(&d, "CID", 0xc4c6102, &text, &len), 0);
	assert_non_null(strstr(text, "\nCID=c4c6102\nparentCID=248930e9\n"));
	assert_int_equal(vmdk_desc_parse(text, len, &d2, &e), 0);
	assert_int_equal(d2.cid, 0xc4c6102);
	assert_int_equal(d2.parent_cid, 0x248930e9);
	free(text);
	assert_int_equal(vmdk_desc_set_hex(&d, "parentCID", 7, &text, &len), 0);
	assert_non_null(strstr(text, "\nCID=b0574697\nparentCID=7\n"));
	free(text);
	assert_int_equal(vmdk_desc_set_hex(&d, "nokey", 7, &text, &len), -ENOENT);
	vmdk_desc_free(&d);
	vmdk_desc_free(&d2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_qemu_delta),
		cmocka_unit_test(test_parse_extent_kinds_crlf_case),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_stops_at_nul_padding),
		cmocka_unit_test(test_format_roundtrip_matches_qemu_text),
		cmocka_unit_test(test_format_long_fields),
		cmocka_unit_test(test_set_hex_keeps_other_lines),
	};
	return cmocka_run_group_tests_name("vmdk_desc", tests, NULL, NULL);
}
