// SPDX-License-Identifier: MIT
/*
 * Spec corpus tests, one cmocka test per file:
 *  - tests/specs/bad/NAME.json must fail spec_load with exactly the lines in NAME.expect
 *    (diag_print output); NAME.set, when present, holds one --set argument per line.
 *    The files are loaded by their relative name from inside bad/, so a message that names
 *    the file reads "NAME.json: ...".
 *  - every config/examples/NAME.json must load without a single diagnostic (files are not checked).
 *  - config/vm-spec.schema.json must describe exactly the keys the parser accepts: for each
 *    section spec_section_keys() knows, the schema object's "properties" equal the parser's
 *    keys and "additionalProperties" is false, and the schema has no other object with
 *    properties (counted as the schema's objects with "type": "object"); and each "enum"
 *    in the schema lists exactly the values the parser accepts, in its order (each value is
 *    tried with --set, and an unknown value must get the parser's list as its message);
 *    and the sections the parser refuses (spec_unbuilt_keys) are the ones the schema refuses.
 * Usage: test_specs TESTS_SPECS_DIR CONFIG_DIR
 */
#include "vmm/spec.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static const char *specs_dir, *config_dir;

static char *read_text(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	FILE *mf;
	int ch;

	if (!fp)
		return NULL;
	mf = open_memstream(&buf, &len);
	assert_non_null(mf);
	while ((ch = fgetc(fp)) != EOF)
		fputc(ch, mf);
	fclose(mf);
	fclose(fp);
	return buf;
}

static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && !strcmp(name + n - s, suffix);
}

/* Sorted *.json names in dir (the caller frees each and the array). */
static unsigned list_json(const char *dir, char ***out)
{
	struct dirent **ents;
	unsigned nr = 0;
	int n = scandir(dir, &ents, NULL, alphasort);

	assert_true(n >= 0);
	*out = calloc((size_t)n + 1, sizeof(char *));
	assert_non_null(*out);
	for (int i = 0; i < n; i++) {
		if (has_suffix(ents[i]->d_name, ".json"))
			(*out)[nr++] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	return nr;
}

static void test_bad_spec(void **state)
{
	const char *name = *state;
	char base[NAME_MAX], file[PATH_MAX], *expect, *sets_text, *got = NULL;
	const char *sets[32];
	unsigned nr_sets = 0;
	struct diag d = DIAG_INIT;
	struct vm_spec s;
	size_t len = 0;
	FILE *mf;
	int ret;

	snprintf(base, sizeof(base), "%.*s", (int)(strlen(name) - 5), name);
	snprintf(file, sizeof(file), "%s.expect", base);
	expect = read_text(file);
	if (!expect)
		fail_msg("%s: missing %s", name, file);
	snprintf(file, sizeof(file), "%s.set", base);
	sets_text = read_text(file);
	for (char *line = sets_text ? strtok(sets_text, "\n") : NULL; line;
	     line = strtok(NULL, "\n")) {
		assert_true(nr_sets < ARRAY_SIZE(sets));
		sets[nr_sets++] = line;
	}

	ret = spec_load(name, sets, nr_sets, 0, &s, &d);
	mf = open_memstream(&got, &len);
	assert_non_null(mf);
	diag_print(&d, mf);
	fclose(mf);
	if (ret == 0) {
		spec_free(&s);
		fail_msg("%s: accepted, expected:\n%s", name, expect);
	}
	if (strcmp(got, expect))
		fail_msg("%s: messages differ\n--- expected\n%s--- got\n%s", name, expect, got);
	free(got);
	free(expect);
	free(sets_text);
	diag_free(&d);
}

static void test_example(void **state)
{
	const char *name = *state;
	char path[PATH_MAX];
	struct diag d = DIAG_INIT;
	struct vm_spec s;
	int ret;

	snprintf(path, sizeof(path), "%s/examples/%s", config_dir, name);
	ret = spec_load(path, NULL, 0, 0, &s, &d);
	if (ret || d.nr) {
		diag_print(&d, stderr);
		fail_msg("%s: rejected (%d)", name, ret);
	}
	assert_non_null(s.name);
	assert_non_null(s.boot.image);
	spec_free(&s);
	diag_free(&d);
}

/* Follow "$ref": "#/$defs/NAME" (the only form the schema uses). */
static json_t *schema_resolve(json_t *schema, json_t *node)
{
	const char *ref = json_string_value(json_object_get(node, "$ref"));

	if (!ref)
		return node;
	assert_true(!strncmp(ref, "#/$defs/", 8));
	node = json_object_get(json_object_get(schema, "$defs"), ref + 8);
	if (!node)
		fail_msg("schema: dangling $ref %s", ref);
	return schema_resolve(schema, node);
}

/* The schema object for a section path like "boot.modules[]". */
static json_t *schema_section(json_t *schema, const char *section)
{
	char buf[128], *save = NULL;
	json_t *node = schema;

	snprintf(buf, sizeof(buf), "%s", section);
	for (char *part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
		size_t n = strlen(part);
		bool items = has_suffix(part, "[]");

		if (items)
			part[n - 2] = '\0';
		node = json_object_get(json_object_get(schema_resolve(schema, node), "properties"),
				       part);
		if (!node)
			fail_msg("schema: no property for %s", section);
		if (items)
			node = json_object_get(schema_resolve(schema, node), "items");
		if (!node)
			fail_msg("schema: %s has no items", section);
	}
	return schema_resolve(schema, node);
}

static unsigned schema_count_objects(const json_t *node)
{
	unsigned nr = 0;
	const char *key;
	json_t *v;
	size_t i;

	if (json_is_object(node)) {
		json_t *type = json_object_get(node, "type");

		/* A map (guestinfo: additionalProperties is a schema) is a value, not a section. */
		nr += json_is_string(type) && !strcmp(json_string_value(type), "object") &&
		      !json_is_object(json_object_get(node, "additionalProperties"));
		json_object_foreach((json_t *)node, key, v) nr += schema_count_objects(v);
	} else if (json_is_array(node)) {
		json_array_foreach(node, i, v) nr += schema_count_objects(v);
	}
	return nr;
}

static void test_schema_keys(void **state)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *schema;
	unsigned nr_sections = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/vm-spec.schema.json", config_dir);
	schema = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!schema)
		fail_msg("%s:%d:%d: %s", path, je.line, je.column, je.text);
	for (const char *const *sec = spec_sections(); *sec; sec++, nr_sections++) {
		const char *const *keys = spec_section_keys(*sec);
		json_t *obj = schema_section(schema, *sec);
		json_t *props = json_object_get(obj, "properties");
		unsigned nr_keys = 0;

		if (!json_is_object(props))
			fail_msg("schema: section \"%s\" has no properties", *sec);
		if (!json_is_false(json_object_get(obj, "additionalProperties")))
			fail_msg("schema: section \"%s\": additionalProperties is not false", *sec);
		for (; keys[nr_keys]; nr_keys++) {
			if (!json_object_get(props, keys[nr_keys]))
				fail_msg("schema: section \"%s\" lacks the parser's key \"%s\"",
					 *sec, keys[nr_keys]);
		}
		if (json_object_size(props) != nr_keys)
			fail_msg("schema: section \"%s\" has %zu properties, the parser %u keys",
				 *sec, json_object_size(props), nr_keys);
	}
	if (schema_count_objects(schema) != nr_sections)
		fail_msg("schema: %u objects of type object, the parser knows %u sections",
			 schema_count_objects(schema), nr_sections);
	json_decref(schema);
}

/* The parser's list of choices for an enum, in its message format: "a", "b" or "c". */
static void schema_enum_list(char *buf, size_t size, const json_t *values)
{
	size_t o = 0, n = json_array_size(values);

	buf[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s\"%s\"",
				      i == 0	? "" :
				      i + 1 < n ? ", " :
						  " or ",
				      json_string_value(json_array_get(values, i)));
}

/* The diag for path in d, or NULL. */
static const struct diag_entry *diag_find(const struct diag *d, const char *path)
{
	for (unsigned i = 0; i < d->nr; i++) {
		if (!strcmp(d->entries[i].path, path))
			return &d->entries[i];
	}
	return NULL;
}

/* Set section.key to value with --set on a small valid spec; the diag at that path or NULL. */
static char *parse_with(const char *prefix, const char *key, const char *value)
{
	/*
	 * Every section present, and what keys need (exit_code_style: an exit_port;
	 * hypercall.identity: the backdoor).
	 */
	static const char base[] = "{\"boot\": {\"kernel\": \"k\"}, \"disks\": [{\"path\": "
				   "\"d\"}], \"nics\": [{}], \"display\": {\"type\": \"vnc\"}, "
				   "\"debug\": {\"exit_port\": \"0xf4\"}, "
				   "\"hypercall\": {\"vmware_backdoor\": true}}";
	char set[256], path[128];
	const char *sets[1] = { set };
	const struct diag_entry *e;
	struct diag d = DIAG_INIT;
	struct vm_spec s;
	char *msg = NULL;

	snprintf(path, sizeof(path), "%s%s", prefix, key);
	snprintf(set, sizeof(set), "%s=%s", path, value);
	if (spec_parse_string(base, "/b", sets, 1, 0, &s, &d) == 0)
		spec_free(&s);
	e = diag_find(&d, path);
	if (e)
		msg = strdup(e->msg);
	diag_free(&d);
	return msg;
}

/* Every "enum" in the schema holds exactly the parser's choices, in the parser's order. */
static void test_schema_enums(void **state)
{
	char path[PATH_MAX], expect[512], list[400];
	unsigned nr_enums = 0;
	json_error_t je;
	json_t *schema;

	(void)state;
	snprintf(path, sizeof(path), "%s/vm-spec.schema.json", config_dir);
	schema = json_load_file(path, 0, &je);
	assert_non_null(schema);
	for (const char *const *sec = spec_sections(); *sec; sec++) {
		json_t *props = json_object_get(schema_section(schema, *sec), "properties");
		char prefix[64];
		const char *key;
		json_t *prop, *values, *v;
		size_t i;

		/* "disks[]" -> "disks[0].", "" -> "" */
		snprintf(prefix, sizeof(prefix), "%s", *sec);
		if (has_suffix(prefix, "[]"))
			strcpy(prefix + strlen(prefix) - 1, "0]");
		if (prefix[0])
			strcat(prefix, ".");
		json_object_foreach(props, key, prop)
		{
			char *msg;

			values = json_object_get(prop, "enum");
			if (!values)
				continue;
			nr_enums++;
			json_array_foreach(values, i, v)
			{
				msg = parse_with(prefix, key, json_string_value(v));
				if (msg)
					fail_msg("%s%s=%s: parser says %s", prefix, key,
						 json_string_value(v), msg);
			}
			schema_enum_list(list, sizeof(list), values);
			snprintf(expect, sizeof(expect), "expected %s, got \"zz-none\"", list);
			msg = parse_with(prefix, key, "zz-none");
			if (!msg || strcmp(msg, expect))
				fail_msg("%s%s: parser says \"%s\", schema implies \"%s\"", prefix,
					 key, msg ? msg : "(nothing)", expect);
			free(msg);
		}
	}
	/* One per enum in spec.h, but boot_kind (a key); and cpu.model, bt.engine, consoles[].target
	 * (serial's). */
	assert_int_equal(nr_enums, 18);
	json_decref(schema);
}

/* A top-level property the schema refuses: "not": {} (nothing validates), or an array with
 * "maxItems": 0 (only the empty array, which asks for nothing). */
static bool schema_refuses(const json_t *prop)
{
	const json_t *not = json_object_get(prop, "not");
	const json_t *max = json_object_get(prop, "maxItems");

	return (json_is_object(not ) && json_object_size(not ) == 0) ||
	       (json_is_integer(max) && json_integer_value(max) == 0);
}

/* The sections the parser refuses (spec_unbuilt_keys) are exactly those the schema refuses. */
static void test_schema_unbuilt(void **state)
{
	const char *const *unbuilt = spec_unbuilt_keys();
	char path[PATH_MAX];
	unsigned nr_refused = 0, nr_unbuilt = 0;
	json_error_t je;
	json_t *schema, *props, *prop;
	const char *key;

	(void)state;
	snprintf(path, sizeof(path), "%s/vm-spec.schema.json", config_dir);
	schema = json_load_file(path, 0, &je);
	assert_non_null(schema);
	props = json_object_get(schema, "properties");
	for (; unbuilt[nr_unbuilt]; nr_unbuilt++) {
		prop = json_object_get(props, unbuilt[nr_unbuilt]);
		if (!prop || !schema_refuses(prop))
			fail_msg(
				"schema: \"%s\" is refused by the parser but accepted by the schema",
				unbuilt[nr_unbuilt]);
	}
	json_object_foreach(props, key, prop)
	{
		bool in_list = false;

		for (const char *const *u = unbuilt; *u; u++)
			in_list |= !strcmp(*u, key);
		if (schema_refuses(prop) && !in_list)
			fail_msg("schema: \"%s\" is refused by the schema but not by the parser",
				 key);
		nr_refused += schema_refuses(prop);
	}
	assert_int_equal(nr_refused, nr_unbuilt);
	json_decref(schema);
}

int main(int argc, char **argv)
{
	char **bad, **examples, dir[PATH_MAX];
	unsigned nr_bad, nr_examples, nr = 0;
	struct CMUnitTest *tests;
	int ret;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TESTS_SPECS_DIR CONFIG_DIR\n", argv[0]);
		return 2;
	}
	specs_dir = argv[1];
	config_dir = realpath(argv[2], NULL);
	if (!config_dir)
		return 2;
	snprintf(dir, sizeof(dir), "%s/examples", config_dir);
	nr_examples = list_json(dir, &examples);
	snprintf(dir, sizeof(dir), "%s/bad", specs_dir);
	nr_bad = list_json(dir, &bad);
	if (chdir(dir) < 0 || nr_bad < 12 || nr_examples < 6) {
		fprintf(stderr, "%s: expected at least 12 bad specs and 6 examples\n", dir);
		return 1;
	}
	tests = calloc(nr_bad + nr_examples + 3, sizeof(*tests));
	if (!tests)
		return 1;
	for (unsigned i = 0; i < nr_bad; i++)
		tests[nr++] = (struct CMUnitTest){ .name = bad[i],
						   .test_func = test_bad_spec,
						   .initial_state = bad[i] };
	for (unsigned i = 0; i < nr_examples; i++)
		tests[nr++] = (struct CMUnitTest){ .name = examples[i],
						   .test_func = test_example,
						   .initial_state = examples[i] };
	tests[nr++] = (struct CMUnitTest){ .name = "schema_keys", .test_func = test_schema_keys };
	tests[nr++] = (struct CMUnitTest){ .name = "schema_enums", .test_func = test_schema_enums };
	tests[nr++] =
		(struct CMUnitTest){ .name = "schema_unbuilt", .test_func = test_schema_unbuilt };
	ret = _cmocka_run_group_tests("specs", tests, nr, NULL, NULL);
	for (unsigned i = 0; i < nr_bad; i++)
		free(bad[i]);
	for (unsigned i = 0; i < nr_examples; i++)
		free(examples[i]);
	free(bad);
	free(examples);
	free(tests);
	free((char *)config_dir);
	return ret;
}
