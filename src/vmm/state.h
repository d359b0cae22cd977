/* SPDX-License-Identifier: MIT */
/*
 * Device state (docs/architecture.md, docs/conventions.md section 7, the format and
 * the rules in docs/device-state.md): every device describes its state as a declarative,
 * versioned table of fields (struct state_desc), and one generic walker saves a device into a
 * self-describing, little-endian, length-prefixed record and loads it back. Snapshots, live
 * migration and the state round-trip debug switch are built on it.
 *
 * A table lists every member of the device struct: state fields by type (scalars, arrays,
 * timers, nested structs and arrays of them, structs behind a pointer, custom codecs), config
 * fields the load compares instead of writing (STATE_CHECKED: the VM must be created from the
 * same spec), and host-side members that are not state (STATE_HOST, with the reason: fds,
 * pointers, back ends, what post_load re-derives). state_desc_verify() proves that the table
 * covers the struct, so a member added without a table entry fails a test.
 *
 * Loading is hostile input: a record is checked completely (structure, names, versions,
 * lengths, ranges, config fields) before any byte of the device is written, and every error
 * names the device and the field.
 *
 * Threads: save and load run with the VM-wide device lock held while no vCPU runs (main
 * thread); the functions here keep no global state.
 */
#ifndef VMM_STATE_H
#define VMM_STATE_H

#include "vmm/base/compiler.h"
#include "vmm/base/types.h"

#include <stddef.h>

struct err;
struct state_desc;

#define STATE_NAME_MAX	 63 /* field, section, type and instance names */
#define STATE_MAX_DEPTH	 8  /* nesting of structs, pointees and sections */
#define STATE_RECORD_MAX (64u << 20)

enum state_type {
	STATE_T_END, /* ends a field list */
	STATE_T_U8,  /* unsigned little-endian integers; count > 1: an array */
	STATE_T_U16,
	STATE_T_U32,
	STATE_T_U64,
	STATE_T_S32, /* signed: same encoding (two's complement) */
	STATE_T_S64,
	STATE_T_BOOL,	 /* one byte, 0 or 1 */
	STATE_T_TIMER,	 /* struct timer: its deadline (u64, TIMER_NEVER when idle); re-armed */
	STATE_T_STRUCT,	 /* a nested struct (or count of them) described by sub */
	STATE_T_POINTEE, /* a struct behind a pointer member (may be NULL) described by sub */
	STATE_T_SECTION, /* a named section of more fields of this struct, described by sub */
	STATE_T_CUSTOM,	 /* wire_size bytes per element through encode/decode */
	STATE_T_HOST,	 /* not state; why says why */
};

struct state_field {
	const char *name;
	u8 type;	  /* enum state_type */
	bool check;	  /* config: saved, and a load compares instead of writing */
	bool has_max;	  /* integers: a load refuses values above max */
	bool skippable;	  /* SECTION: a loader that does not know it may skip it */
	u32 since;	  /* first version of the desc that has the field (0: every version) */
	size_t offset;	  /* of the member in the struct */
	size_t size;	  /* of the whole member (every element) */
	size_t elem_size; /* of one element (0 for POINTEE) */
	u32 count;	  /* elements */
	u32 align;	  /* _Alignof the member (coverage check) */
	u64 max;
	const struct state_desc *sub; /* STRUCT, POINTEE, SECTION */
	/* SECTION: written only when this says so (NULL: always). */
	bool (*needed)(const void *obj);
	/*
	 * CUSTOM: one element to and from wire_size bytes. decode writes elem (a scratch copy
	 * of the current element while a load only checks) and may compare with obj, the whole
	 * object as it is before the load; 0, or -EINVAL to refuse the record.
	 */
	void (*encode)(const void *elem, u8 *out);
	int (*decode)(const void *obj, void *elem, const u8 *in);
	u32 wire_size;
	const char *why; /* HOST */
};

struct state_desc {
	const char *name; /* record type ("uart") or struct name for nested descs */
	u32 version;	  /* what this VMM writes */
	u32 min_version;  /* the oldest it loads */
	/*
	 * A state without a record of this device loads, the device as reset: for a device a
	 * board gained after snapshots of it were taken (a record from a VMM that lacked it
	 * cannot exist). Only for a device whose reset state is what the guest could have seen
	 * had it been there all along (nothing the guest must have programmed).
	 */
	bool absent_is_reset;
	size_t size; /* sizeof and _Alignof the struct (STATE_LAYOUT) */
	u32 align;
	const struct state_field *fields; /* ends with STATE_END */
	/*
	 * Before the object is saved: quiesce (drain requests in flight). Must be idempotent.
	 * 0, or a negative errno with err set: the save is refused.
	 */
	int (*pre_save)(void *obj, struct err *err);
	/*
	 * After the fields were written: check invariants between fields (hostile input) and
	 * re-derive side effects (re-arm what timers do not cover, re-raise lines that were
	 * high, re-map BARs, re-register ioeventfds). version is the record's. 0, or a negative
	 * errno with err set: the load failed and the caller must reset the device.
	 */
	int (*post_load)(void *obj, u32 version, struct err *err);
};

/* ---- table macros: STATE_U8(struct uart, ier), STATE_U8(struct uart, scr, STATE_SINCE(2)) */

#define STATE_MEMBER_(T, f) (((T *)0)->f)
/* 0, or a compile error unless member f of T has type C. */
#define STATE_IS_(T, f, C) \
	(0 *               \
	 sizeof(char[__builtin_types_compatible_p(__typeof__(STATE_MEMBER_(T, f)), C) ? 1 : -1]))
#define STATE_ELEM_IS_(T, f, C)                                                                \
	(0 *                                                                                   \
	 sizeof(char[__builtin_types_compatible_p(__typeof__(STATE_MEMBER_(T, f)[0]), C) ? 1 : \
											   -1]))
#define STATE_ELEM2_IS_(T, f, C)                                                                  \
	(0 * sizeof(char[__builtin_types_compatible_p(__typeof__(STATE_MEMBER_(T, f)[0][0]), C) ? \
				 1 :                                                              \
				 -1]))

#define STATE_CTYPE_U8	 u8
#define STATE_CTYPE_U16	 u16
#define STATE_CTYPE_U32	 u32
#define STATE_CTYPE_U64	 u64
#define STATE_CTYPE_S32	 s32
#define STATE_CTYPE_S64	 s64
#define STATE_CTYPE_BOOL bool

#define STATE_ENTRY_(T, f, ty, n, esz)                                                           \
	.name = #f, .type = (ty), .offset = offsetof(T, f), .size = sizeof(STATE_MEMBER_(T, f)), \
	.elem_size = (esz), .count = (n), .align = _Alignof(__typeof__(STATE_MEMBER_(T, f)))

/* Options, as trailing arguments of the field macros. */
#define STATE_SINCE(v) .since = (v)
#define STATE_MAX(m)   .has_max = true, .max = (m)
#define STATE_CHECKED  .check = true

/* A scalar member of type KIND (U8, U16, U32, U64, S32, S64, BOOL). */
#define STATE_SCALAR(T, f, KIND, ...)                                                       \
	{                                                                                   \
		STATE_ENTRY_(T, f, STATE_T_##KIND, 1 + STATE_IS_(T, f, STATE_CTYPE_##KIND), \
			     sizeof(STATE_MEMBER_(T, f))),                                  \
			__VA_ARGS__                                                         \
	}
#define STATE_U8(T, f, ...)   STATE_SCALAR(T, f, U8, __VA_ARGS__)
#define STATE_U16(T, f, ...)  STATE_SCALAR(T, f, U16, __VA_ARGS__)
#define STATE_U32(T, f, ...)  STATE_SCALAR(T, f, U32, __VA_ARGS__)
#define STATE_U64(T, f, ...)  STATE_SCALAR(T, f, U64, __VA_ARGS__)
#define STATE_S32(T, f, ...)  STATE_SCALAR(T, f, S32, __VA_ARGS__)
#define STATE_S64(T, f, ...)  STATE_SCALAR(T, f, S64, __VA_ARGS__)
#define STATE_BOOL(T, f, ...) STATE_SCALAR(T, f, BOOL, __VA_ARGS__)
/* An int member (line levels): saved as S32. */
#define STATE_INT(T, f, ...)                                              \
	{                                                                 \
		STATE_ENTRY_(T, f, STATE_T_S32, 1 + STATE_IS_(T, f, int), \
			     sizeof(STATE_MEMBER_(T, f))),                \
			__VA_ARGS__                                       \
	}

/* A one- or two-dimensional array of KIND elements. */
#define STATE_ARRAY(T, f, KIND, ...)                                           \
	{                                                                      \
		STATE_ENTRY_(T, f, STATE_T_##KIND,                             \
			     ARRAY_SIZE(STATE_MEMBER_(T, f)) +                 \
				     STATE_ELEM_IS_(T, f, STATE_CTYPE_##KIND), \
			     sizeof(STATE_CTYPE_##KIND)),                      \
			__VA_ARGS__                                            \
	}
#define STATE_ARRAY2(T, f, KIND, ...)                                                   \
	{                                                                               \
		STATE_ENTRY_(T, f, STATE_T_##KIND,                                      \
			     sizeof(STATE_MEMBER_(T, f)) / sizeof(STATE_CTYPE_##KIND) + \
				     STATE_ELEM2_IS_(T, f, STATE_CTYPE_##KIND),         \
			     sizeof(STATE_CTYPE_##KIND)),                               \
			__VA_ARGS__                                                     \
	}

/* A struct timer member: its deadline in virtual time; a load re-arms or cancels it. */
#define STATE_TIMER(T, f, ...)                                                       \
	{                                                                            \
		STATE_ENTRY_(T, f, STATE_T_TIMER, 1 + STATE_IS_(T, f, struct timer), \
			     sizeof(STATE_MEMBER_(T, f))),                           \
			__VA_ARGS__                                                  \
	}

/* An embedded struct, or an array of them, described by sub. */
#define STATE_STRUCT(T, f, sub_desc, ...)                                           \
	{                                                                           \
		STATE_ENTRY_(T, f, STATE_T_STRUCT, 1, sizeof(STATE_MEMBER_(T, f))), \
			.sub = &(sub_desc), __VA_ARGS__                             \
	}
#define STATE_STRUCT_ARRAY(T, f, sub_desc, ...)                                     \
	{                                                                           \
		STATE_ENTRY_(T, f, STATE_T_STRUCT, ARRAY_SIZE(STATE_MEMBER_(T, f)), \
			     sizeof(STATE_MEMBER_(T, f)[0])),                       \
			.sub = &(sub_desc), __VA_ARGS__                             \
	}
/*
 * A pointer member to a struct described by sub, owned by this object (NULL allowed). The
 * pointee may be opaque here (its table is another file's).
 */
#define STATE_POINTEE(T, f, sub_desc, ...)                                                 \
	{                                                                                  \
		STATE_ENTRY_(T, f, STATE_T_POINTEE, 1, 0), .sub = &(sub_desc), __VA_ARGS__ \
	}
/* count elements of member f encoded by enc/dec into wsize bytes each. */
#define STATE_CUSTOM(T, f, n, enc, dec, wsize, ...)                                         \
	{                                                                                   \
		STATE_ENTRY_(T, f, STATE_T_CUSTOM, (n), sizeof(STATE_MEMBER_(T, f)) / (n)), \
			.encode = (enc), .decode = (dec), .wire_size = (wsize), __VA_ARGS__ \
	}
/* Not state: the reason is documentation and is shown by coverage failures. */
#define STATE_HOST(T, f, reason)                                                                  \
	{                                                                                         \
		STATE_ENTRY_(T, f, STATE_T_HOST, 1, sizeof(STATE_MEMBER_(T, f))), .why = (reason) \
	}
/*
 * A named section: more fields of the same struct (sub's offsets are into it), for later
 * additions. Written only when needed(obj) says so; a record without it leaves them as they
 * are. skippable: an older loader that does not know the section may ignore it.
 */
#define STATE_SECTION(sname, sub_desc, needed_fn, can_skip)                   \
	{                                                                     \
		.name = (sname), .type = STATE_T_SECTION, .sub = &(sub_desc), \
		.needed = (needed_fn), .skippable = (can_skip)                \
	}
#define STATE_END                   \
	{                           \
		.type = STATE_T_END \
	}

#define STATE_LAYOUT(T) .size = sizeof(T), .align = _Alignof(T)

/* ---- records */

/* A growable output buffer. */
struct state_buf {
	u8 *data;
	size_t len, cap;
};

void state_buf_init(struct state_buf *b);
void state_buf_free(struct state_buf *b);
/* Append n bytes at p, growing the buffer: 0 or -ENOMEM (nothing appended). */
MUST_CHECK int state_buf_append(struct state_buf *b, const void *p, size_t n);

/* What a record's header says (state_record_parse). */
struct state_record {
	char type[STATE_NAME_MAX + 1];
	char instance[STATE_NAME_MAX + 1];
	u32 version;
	size_t len; /* bytes of the whole record */
};

/*
 * Append the record of obj (described by d) named instance to out. Runs d->pre_save first.
 * 0, or a negative errno with err set (pre_save refused, -ENOMEM).
 */
MUST_CHECK int state_save(const struct state_desc *d, const char *instance, void *obj,
			  struct state_buf *out, struct err *err);

/*
 * Load the record at rec (len bytes: exactly one record) into obj. The record is checked
 * completely first: type and instance must match, the version must lie in
 * [min_version, version], every field and section must be known (unknown skippable sections
 * are skipped) with the length the table says, integers within their limits, checked fields
 * equal to obj's, and every field of the record's version present. Nothing is written unless
 * all of it holds. Then the fields are written, timers re-armed, and the post_load hooks run
 * (nested objects first). -EINVAL, -EPROTO or the hook's error, with err naming the field.
 */
MUST_CHECK int state_load(const struct state_desc *d, const char *instance, void *obj,
			  const void *rec, size_t len, struct err *err);

/* The checks of state_load without writing anything. */
MUST_CHECK int state_check(const struct state_desc *d, const char *instance, const void *obj,
			   const void *rec, size_t len, struct err *err);

/*
 * Read the header of the record at the start of buf (len bytes available): its type,
 * instance, version and total length. -EPROTO with err set when it is not a record.
 */
MUST_CHECK int state_record_parse(const void *buf, size_t len, struct state_record *out,
				  struct err *err);

/*
 * Sanity of a table, for tests: names unique and short, sizes consistent with the types,
 * nested descs the size of their members, and coverage: the entries (state, config and host)
 * do not overlap and leave nothing of the struct uncovered but alignment padding. 0, or
 * -EINVAL with err naming the first problem.
 */
MUST_CHECK int state_desc_verify(const struct state_desc *d, struct err *err);

/* Bytes of the struct the entries cover (nested descs included), for the coverage report. */
size_t state_desc_covered(const struct state_desc *d);

/*
 * ---- record sets: the records of a whole machine, "VMSS" u16 format (1) u16 flags (0)
 * u32 count, then the records back to back (instance names unique).
 */
#define STATE_SET_MAX 4096

/* Start a set at the end of out; *at is where, for state_set_end. 0 or -ENOMEM. */
MUST_CHECK int state_set_begin(struct state_buf *out, size_t *at);
/* Write the number of records appended since state_set_begin. */
void state_set_end(struct state_buf *out, size_t at, u32 count);

struct state_set_entry {
	struct state_record hdr;
	const u8 *data; /* the record, hdr.len bytes, inside the parsed buffer */
	bool used;
};

struct state_set {
	struct state_set_entry *v;
	unsigned n;
};

/*
 * Index the records of the set in buf (len bytes, exactly one set). The set refers to buf,
 * which must outlive it. -EPROTO (not a set, truncated, bytes after it), -EINVAL (two records
 * for one instance), -ENOMEM; err says which.
 */
MUST_CHECK int state_set_parse(const void *buf, size_t len, struct state_set *set, struct err *err);
void state_set_free(struct state_set *set);
/* The record of instance, marked used; NULL if the set has none. */
struct state_set_entry *state_set_find(struct state_set *set, const char *instance);
/* 0, or -EINVAL naming the first record that nothing used (a device this VM lacks). */
int state_set_check_used(const struct state_set *set, struct err *err);

#endif
