// SPDX-License-Identifier: MIT
/*
 * The generic save/load of vmm/state.c on a synthetic device struct that uses every field
 * kind: a round trip is exact, a record is refused by name for each way it can be wrong
 * (newer or older version, truncation, size mismatch, unknown field or section, missing
 * field, bad boolean, value over its limit, config mismatch, wrong instance, pointee
 * presence, trailing bytes) and a refused record changes nothing; version 1 records load into
 * a version 2 table; sections are written when needed and skipped or refused by name;
 * timers are re-armed at their saved deadlines; and state_desc_verify catches a member that
 * no table entry covers.
 */
#include "vmm/state.h"

#include "vmm/base/err.h"
#include "vmm/timer.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

struct toy_inner {
	u16 a;
	u32 b;
};

struct toy_child {
	u64 value;
	bool flag;
};

struct toy {
	void *host_ptr;
	u8 small;
	u16 mid;
	u32 word;
	u64 big;
	s64 signed_big;
	int level;
	bool on;
	u8 bytes[5];
	u32 grid[2][3];
	u32 limited;
	u32 config;
	u8 newer; /* since version 2 */
	struct timer t;
	struct toy_inner inner;
	struct toy_inner many[3];
	struct toy_child *child;
	u32 sect_a; /* in section "extra" */
	u16 custom[2];
	unsigned post_loads;
};

static const struct state_field toy_inner_fields[] = {
	STATE_U16(struct toy_inner, a),
	STATE_U32(struct toy_inner, b),
	STATE_END,
};

static const struct state_desc toy_inner_state = {
	.name = "toy-inner",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct toy_inner),
	.fields = toy_inner_fields,
};

static unsigned toy_child_post_loads;

static int toy_child_post_load(void *obj, u32 version, struct err *err)
{
	(void)obj, (void)version, (void)err;
	toy_child_post_loads++;
	return 0;
}

static const struct state_field toy_child_fields[] = {
	STATE_U64(struct toy_child, value),
	STATE_BOOL(struct toy_child, flag),
	STATE_END,
};

static const struct state_desc toy_child_state = {
	.name = "toy-child",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct toy_child),
	.fields = toy_child_fields,
	.post_load = toy_child_post_load,
};

static const struct state_field toy_extra_fields[] = {
	STATE_U32(struct toy, sect_a),
	STATE_END,
};

static const struct state_desc toy_extra_state = {
	.name = "toy-extra",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct toy),
	.fields = toy_extra_fields,
};

static bool toy_extra_needed(const void *obj)
{
	return ((const struct toy *)obj)->sect_a != 0;
}

/* Custom codec: each u16 as its two bytes swapped; 0xffff is refused. */
static void toy_custom_encode(const void *elem, u8 *out)
{
	u16 v;

	memcpy(&v, elem, 2);
	out[0] = (u8)(v >> 8);
	out[1] = (u8)v;
}

static int toy_custom_decode(const void *obj, void *elem, const u8 *in)
{
	u16 v = (u16)(in[0] << 8 | in[1]);

	(void)obj;
	if (v == 0xffff)
		return -EINVAL;
	memcpy(elem, &v, 2);
	return 0;
}

static int toy_post_load(void *obj, u32 version, struct err *err)
{
	struct toy *t = obj;

	(void)version;
	t->post_loads++;
	if (t->small == 0xee)
		return err_set(err, -EINVAL, "small must not be 0xee");
	return 0;
}

/* The toy's table; `newer` is the entry of the field added in version 2. */
#define TOY_FIELDS(newer)                                                                        \
	STATE_HOST(struct toy, host_ptr, "a host pointer"), STATE_U8(struct toy, small),         \
		STATE_U16(struct toy, mid), STATE_U32(struct toy, word),                         \
		STATE_U64(struct toy, big), STATE_S64(struct toy, signed_big),                   \
		STATE_INT(struct toy, level), STATE_BOOL(struct toy, on),                        \
		STATE_ARRAY(struct toy, bytes, U8), STATE_ARRAY2(struct toy, grid, U32),         \
		STATE_U32(struct toy, limited, STATE_MAX(15)),                                   \
		STATE_U32(struct toy, config, STATE_CHECKED), newer, STATE_TIMER(struct toy, t), \
		STATE_STRUCT(struct toy, inner, toy_inner_state),                                \
		STATE_STRUCT_ARRAY(struct toy, many, toy_inner_state),                           \
		STATE_POINTEE(struct toy, child, toy_child_state),                               \
		STATE_SECTION("extra", toy_extra_state, toy_extra_needed, false),                \
		STATE_CUSTOM(struct toy, custom, 2, toy_custom_encode, toy_custom_decode, 2),    \
		STATE_HOST(struct toy, post_loads, "counts hook calls"), STATE_END

static const struct state_field toy_fields_v2[] = {
	TOY_FIELDS(STATE_U8(struct toy, newer, STATE_SINCE(2))),
};

static const struct state_desc toy_state_v2 = {
	.name = "toy",
	.version = 2,
	.min_version = 1,
	STATE_LAYOUT(struct toy),
	.fields = toy_fields_v2,
	.post_load = toy_post_load,
};

/* The same table at version 1 (no 'newer'), as an older VMM wrote it. */
static const struct state_field toy_fields_v1[] = {
	TOY_FIELDS(STATE_HOST(struct toy, newer, "not in version 1")),
};

static const struct state_desc toy_state_v1 = {
	.name = "toy",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct toy),
	.fields = toy_fields_v1,
	.post_load = toy_post_load,
};

struct fixture {
	struct vclock clock;
	struct toy a, b;
	struct toy_child ca, cb;
	struct state_buf rec;
};

static void toy_timer_fn(void *opaque)
{
	(void)opaque;
}

static void toy_init(struct fixture *fx, struct toy *t, struct toy_child *c)
{
	memset(t, 0, sizeof(*t));
	memset(c, 0, sizeof(*c));
	timer_init(&t->t, &fx->clock, toy_timer_fn, t);
	t->child = c;
	t->config = 0x1234;
}

static void toy_fill(struct toy *t)
{
	t->small = 0x12;
	t->mid = 0x3456;
	t->word = 0x789abcde;
	t->big = 0x0123456789abcdefull;
	t->signed_big = -5;
	t->level = 1;
	t->on = true;
	memcpy(t->bytes, "hello", 5);
	for (unsigned i = 0; i < 2; i++)
		for (unsigned j = 0; j < 3; j++)
			t->grid[i][j] = i * 10 + j;
	t->limited = 15;
	t->newer = 7;
	timer_arm(&t->t, 123456789);
	t->inner = (struct toy_inner){ 1, 2 };
	for (unsigned i = 0; i < 3; i++)
		t->many[i] = (struct toy_inner){ (u16)(10 + i), 20 + i };
	t->child->value = 99;
	t->child->flag = true;
	t->sect_a = 0x55;
	t->custom[0] = 0x0102;
	t->custom[1] = 0xa0b0;
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	vclock_init_fake(&fx->clock, 0);
	toy_init(fx, &fx->a, &fx->ca);
	toy_init(fx, &fx->b, &fx->cb);
	state_buf_init(&fx->rec);
	toy_child_post_loads = 0;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	timer_cancel(&fx->a.t);
	timer_cancel(&fx->b.t);
	state_buf_free(&fx->rec);
	free(fx);
	return 0;
}

/* The bytes of the struct that are state (everything but the host members and the timer). */
static void toy_assert_same_state(const struct toy *x, const struct toy *y)
{
	assert_int_equal(x->small, y->small);
	assert_int_equal(x->mid, y->mid);
	assert_int_equal(x->word, y->word);
	assert_true(x->big == y->big);
	assert_true(x->signed_big == y->signed_big);
	assert_int_equal(x->level, y->level);
	assert_int_equal(x->on, y->on);
	assert_memory_equal(x->bytes, y->bytes, sizeof(x->bytes));
	assert_memory_equal(x->grid, y->grid, sizeof(x->grid));
	assert_int_equal(x->limited, y->limited);
	assert_int_equal(x->newer, y->newer);
	assert_true(x->t.deadline_ns == y->t.deadline_ns);
	assert_memory_equal(&x->inner, &y->inner, sizeof(x->inner));
	assert_memory_equal(x->many, y->many, sizeof(x->many));
	assert_true(x->child->value == y->child->value);
	assert_int_equal(x->child->flag, y->child->flag);
	assert_int_equal(x->sect_a, y->sect_a);
	assert_memory_equal(x->custom, y->custom, sizeof(x->custom));
}

static void test_tables_verify(void **state)
{
	struct err err;

	(void)state;
	assert_int_equal(state_desc_verify(&toy_state_v2, &err), 0);
	assert_int_equal(state_desc_verify(&toy_state_v1, &err), 0);
	assert_true(state_desc_covered(&toy_state_v2) > sizeof(struct toy) - 16);
}

static void test_round_trip_is_exact(void **state)
{
	struct fixture *fx = *state;
	struct state_buf again;
	struct err err;

	toy_fill(&fx->a);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, fx->rec.data, fx->rec.len, &err),
			 0);
	toy_assert_same_state(&fx->a, &fx->b);
	assert_true(timer_armed(&fx->b.t));
	assert_int_equal(fx->b.post_loads, 1);
	assert_int_equal(toy_child_post_loads, 1);
	/* Saving the loaded copy gives the same bytes. */
	state_buf_init(&again);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->b, &again, &err), 0);
	assert_int_equal(again.len, fx->rec.len);
	assert_memory_equal(again.data, fx->rec.data, again.len);
	state_buf_free(&again);
}

static void test_record_header(void **state)
{
	struct fixture *fx = *state;
	struct state_record hdr;
	struct err err;

	toy_fill(&fx->a);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_int_equal(state_record_parse(fx->rec.data, fx->rec.len, &hdr, &err), 0);
	assert_string_equal(hdr.type, "toy");
	assert_string_equal(hdr.instance, "toy0");
	assert_int_equal(hdr.version, 2);
	assert_int_equal(hdr.len, fx->rec.len);
}

/* Load rec and expect a refusal whose message contains what; b must be untouched. */
static void expect_refused(struct fixture *fx, const struct state_desc *d, const void *rec,
			   size_t len, const char *what)
{
	struct toy before = fx->b;
	struct toy_child child_before = fx->cb;
	struct err err;

	assert_true(state_load(d, "toy0", &fx->b, rec, len, &err) < 0);
	if (!strstr(err.msg, what))
		fail_msg("message '%s' does not name '%s'", err.msg, what);
	assert_memory_equal(&before, &fx->b, offsetof(struct toy, post_loads));
	assert_memory_equal(&child_before, &fx->cb, sizeof(child_before));
}

/* Find the payload of field name in the saved record (first match), for surgery. */
static u8 *find_entry(struct state_buf *b, const char *name, u32 *len_at)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + 2 + n + 4 <= b->len; i++) {
		if ((b->data[i] == 'f' || b->data[i] == 's') && b->data[i + 1] == n &&
		    !memcmp(b->data + i + 2, name, n)) {
			*len_at = (u32)(i + 2 + n);
			return b->data + i + 2 + n + 4;
		}
	}
	fail_msg("entry %s not found", name);
	return NULL;
}

static void test_refusals_by_name(void **state)
{
	struct fixture *fx = *state;
	struct err err;
	u8 *rec, *p;
	u32 at;
	size_t len;

	toy_fill(&fx->a);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	len = fx->rec.len;
	rec = malloc(len + 8);

	/* A record newer than the loader's table. */
	expect_refused(fx, &toy_state_v1, fx->rec.data, len, "version 2 is newer");
	/* Truncated anywhere. */
	for (size_t cut = 0; cut < len; cut += 7)
		expect_refused(fx, &toy_state_v2, fx->rec.data, cut, "");
	/* Trailing bytes. */
	memcpy(rec, fx->rec.data, len);
	expect_refused(fx, &toy_state_v2, rec, len + 3, "after the state record");
	/* Wrong instance and wrong type. */
	assert_true(state_load(&toy_state_v2, "toy1", &fx->b, fx->rec.data, len, &err) < 0);
	assert_non_null(strstr(err.msg, "not toy 'toy1'"));
	assert_true(state_load(&toy_inner_state, "toy0", &fx->b, fx->rec.data, len, &err) < 0);
	assert_non_null(strstr(err.msg, "for toy 'toy0'"));

	/* A field with the wrong size: 'mid' claims 3 bytes (and the body shifts). */
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "word", &at);
	(void)p;
	rec[at] = 3;
	expect_refused(fx, &toy_state_v2, rec, len, "");
	/* A value over its limit. */
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "limited", &at);
	p[0] = 16;
	expect_refused(fx, &toy_state_v2, rec, len, "limited: 16 is above the limit 15");
	/* A bool that is not 0 or 1. */
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "on", &at);
	p[0] = 2;
	expect_refused(fx, &toy_state_v2, rec, len, "on: 2 is not a boolean");
	/* A config field that differs from this VM's. */
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "config", &at);
	p[0] ^= 1;
	expect_refused(fx, &toy_state_v2, rec, len, "config: 0x1235 in the record, 0x1234");
	/* An unknown field (rename 'small' to 'smalx'). */
	memcpy(rec, fx->rec.data, len);
	find_entry(&(struct state_buf){ .data = rec, .len = len }, "small", &at);
	rec[at - 1] = 'x';
	expect_refused(fx, &toy_state_v2, rec, len, "unknown field 'smalx'");
	/* An unknown section that may not be skipped, then the same marked skippable. */
	memcpy(rec, fx->rec.data, len);
	find_entry(&(struct state_buf){ .data = rec, .len = len }, "extra", &at);
	rec[at - 1] = 'X';
	expect_refused(fx, &toy_state_v2, rec, len, "unknown section 'extrX'");
	rec[at + 4] = 1; /* the skippable flag */
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, rec, len, &err), 0);
	assert_int_equal(fx->b.sect_a, 0); /* skipped */
	assert_int_equal(fx->b.small, fx->a.small);
	/* A bad custom element. */
	fx->b = (struct toy){ .config = 0x1234, .child = &fx->cb };
	timer_init(&fx->b.t, &fx->clock, toy_timer_fn, &fx->b);
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "custom", &at);
	p[0] = p[1] = 0xff;
	expect_refused(fx, &toy_state_v2, rec, len, "custom: element 0 is not valid");
	/* A pointee the record has and this VM does not. */
	fx->b.child = NULL;
	expect_refused(fx, &toy_state_v2, fx->rec.data, len, "child: the record has one");
	fx->b.child = &fx->cb;
	/* post_load refusing: the error comes out with the instance name. */
	memcpy(rec, fx->rec.data, len);
	p = find_entry(&(struct state_buf){ .data = rec, .len = len }, "small", &at);
	p[0] = 0xee;
	assert_true(state_load(&toy_state_v2, "toy0", &fx->b, rec, len, &err) < 0);
	assert_non_null(strstr(err.msg, "toy0"));
	assert_non_null(strstr(err.msg, "small must not be 0xee"));
	free(rec);
}

static void test_missing_field_and_duplicate(void **state)
{
	struct fixture *fx = *state;
	struct err err;
	u8 *rec;
	u32 at;
	size_t len;

	toy_fill(&fx->a);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	len = fx->rec.len;
	rec = malloc(len);
	/* 'newer' renamed to 'small': 'small' appears twice. */
	memcpy(rec, fx->rec.data, len);
	find_entry(&(struct state_buf){ .data = rec, .len = len }, "newer", &at);
	memcpy(rec + at - 5, "small", 5);
	expect_refused(fx, &toy_state_v2, rec, len, "'small' appears twice");
	free(rec);
	/* A v1 table's record lacks nothing for v1, but a v2 record without 'newer' is short:
	 * save with the v1 table, then patch the object version to 2. */
	state_buf_free(&fx->rec);
	assert_int_equal(state_save(&toy_state_v1, "toy0", &fx->a, &fx->rec, &err), 0);
	rec = fx->rec.data;
	at = 8 + 1 + 3 + 1 + 4; /* magic, format, flags, "toy", "toy0": the object version */
	assert_int_equal(rec[at], 1);
	rec[at] = 2;
	expect_refused(fx, &toy_state_v2, rec, fx->rec.len, "field 'newer' of 'toy' version 2");
}

static void test_older_version_loads(void **state)
{
	struct fixture *fx = *state;
	struct err err;

	toy_fill(&fx->a);
	fx->b.newer = 42; /* the loader's own value stays: version 1 has no such field */
	assert_int_equal(state_save(&toy_state_v1, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, fx->rec.data, fx->rec.len, &err),
			 0);
	assert_int_equal(fx->b.newer, 42);
	assert_int_equal(fx->b.small, fx->a.small);
	assert_int_equal(fx->b.sect_a, fx->a.sect_a);
}

static void test_section_only_when_needed(void **state)
{
	struct fixture *fx = *state;
	struct err err;
	struct state_buf with;
	u32 at;

	toy_fill(&fx->a);
	state_buf_init(&with);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &with, &err), 0);
	find_entry(&with, "extra", &at);
	fx->a.sect_a = 0;
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_true(fx->rec.len < with.len);
	fx->b.sect_a = 77; /* not in the record: kept */
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, fx->rec.data, fx->rec.len, &err),
			 0);
	assert_int_equal(fx->b.sect_a, 77);
	state_buf_free(&with);
}

static void test_timer_rearmed_and_cancelled(void **state)
{
	struct fixture *fx = *state;
	struct err err;

	toy_fill(&fx->a);
	timer_cancel(&fx->a.t);
	timer_arm(&fx->b.t, 5);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, fx->rec.data, fx->rec.len, &err),
			 0);
	assert_false(timer_armed(&fx->b.t));
	timer_arm(&fx->a.t, 777);
	state_buf_free(&fx->rec);
	assert_int_equal(state_save(&toy_state_v2, "toy0", &fx->a, &fx->rec, &err), 0);
	assert_int_equal(state_load(&toy_state_v2, "toy0", &fx->b, fx->rec.data, fx->rec.len, &err),
			 0);
	assert_true(timer_armed(&fx->b.t));
	assert_true(timer_next_deadline(&fx->clock) == 777);
}

/*
 * A table that forgets a member, and one whose entries overlap, fail the verification. (A
 * forgotten member that sits where padding could be, such as a u32 before a u64, looks like
 * padding here; the device test compares the tables with the compiler's debug information for
 * that.)
 */
struct holey {
	u32 a;
	u32 forgotten;
	u32 b;
};

static const struct state_field holey_fields[] = {
	STATE_U32(struct holey, a),
	STATE_U32(struct holey, b),
	STATE_END,
};

static const struct state_desc holey_state = {
	.name = "holey",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct holey),
	.fields = holey_fields,
};

static const struct state_field tail_fields[] = {
	STATE_U32(struct holey, a),
	STATE_U32(struct holey, forgotten),
	STATE_END,
};

static const struct state_desc tail_state = {
	.name = "tail",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct holey),
	.fields = tail_fields,
};

static const struct state_field overlap_fields[] = {
	STATE_U32(struct holey, a),
	STATE_U32(struct holey, forgotten),
	STATE_U32(struct holey, b),
	{ .name = "alias",
	  .type = STATE_T_U32,
	  .offset = 4,
	  .size = 4,
	  .elem_size = 4,
	  .count = 1,
	  .align = 4 },
	STATE_END,
};

static const struct state_desc overlap_state = {
	.name = "overlap",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct holey),
	.fields = overlap_fields,
};

static void test_verify_catches_uncovered_members(void **state)
{
	struct err err;

	(void)state;
	assert_int_equal(state_desc_verify(&holey_state, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "bytes 4..7 (before 'b') are in no table entry"));
	assert_int_equal(state_desc_verify(&tail_state, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "after 'forgotten'"));
	assert_int_equal(state_desc_verify(&overlap_state, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "overlaps"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_verify),
		cmocka_unit_test_setup_teardown(test_round_trip_is_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_by_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_field_and_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_older_version_loads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_section_only_when_needed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_rearmed_and_cancelled, setup, teardown),
		cmocka_unit_test(test_verify_catches_uncovered_members),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
