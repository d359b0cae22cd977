// SPDX-License-Identifier: MIT
/*
 * VM spec parsing and validation: JSON (RFC 8259, parsed by jansson with duplicate keys
 * rejected) -> struct vm_spec. Every problem is recorded in a struct diag with its JSON path;
 * parsing goes on after an error so that one run reports them all.
 *
 * Checks that come from specifications rather than taste:
 *  - name: a portable file/host name subset, [A-Za-z0-9._-], 1..63 (RFC 1123 label length).
 *  - boot.cmdline: at most 2047 bytes, the Linux x86 boot protocol's cmdline_size - 1
 *    (Documentation/arch/x86/boot.rst, protocol 2.06+).
 *  - boot.load_address: CS:IP = (addr >> 4):(addr & 0xf), so the highest real-mode start
 *    is 0xffff:0xf = 0xfffff (Intel SDM vol. 3A section 20.1.1).
 *  - debug.exit_port: the device claims 4 ports (port..port+3), which must not hide a port
 *    the PC board decodes: 8259A PICs 0x20/0xa0 and their ELCRs 0x4d0-0x4d1, 8254 PIT
 *    0x40-0x43 and port B 0x61, 8042 0x60/0x64, MC146818 RTC 0x70-0x71, COM1 16550
 *    0x3f8-0x3ff, PCI configuration mechanism #1 0xcf8-0xcff (PCI Local Bus 3.0 section
 *    3.2.2.3.2) which holds the PIIX/ICH reset control register 0xcf9, the ACPI PM blocks
 *    0x600-0x60b and 0x620-0x627, with debug.test_device the test device's 0x520-0x53f, and
 *    with debug.pc_testdev the PC test device's 0xe0-0xeb and 0x2000-0x2017, with
 *    debug.pci_testdev and no firmware the PCI test device's I/O BAR 0xff00-0xffff.
 *  - boot.modules: at most 16 (the multiboot loader's table).
 *  - serial.path with target unix: fits struct sockaddr_un's sun_path (unix(7)).
 * The device sections (disks, nics, display, control) and the refusal of what this build
 * cannot run yet are in spec_devices.c; the helpers they share in spec_internal.h.
 *
 * Not here: whether images fit in RAM (the loaders), whether the accelerator exists (the
 * accelerator probe), --set (spec_set.c).
 */
#include "vmm/spec.h"

#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "devices/debugcon.h"
#include "devices/fw_cfg.h"
#include "devices/i8042.h"
#include "devices/pc_testdev.h"
#include "devices/pci_testdev.h"
#include "devices/pic_regs.h"
#include "devices/pit_regs.h"
#include "devices/pvpanic.h"
#include "devices/testdev.h"
#include "vmm/boot/boot.h"
#include "vmm/spec_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define SPEC_FILE_MAX	   (1 << 20) /* a spec file larger than this is not a spec */
#define SPEC_UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* The parser's limits are the devices' and loaders' own. */
_Static_assert(SPEC_BOOT_MODULES_MAX == BOOT_MAX_MODULES, "boot.modules limit");
_Static_assert(SPEC_EXIT_PORT_WIDTH == DEBUG_EXIT_WIDTH, "debug-exit width");

/* ---- diagnostics ---- */

void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

static PRINTF(3, 0) void diag_vadd(struct diag *d, const char *path, const char *fmt, va_list ap)
{
	struct diag_entry *e;
	char *msg = NULL, *p;

	if (d->nr >= DIAG_MAX)
		goto err_drop;
	if (d->nr == d->cap) {
		unsigned cap = d->cap ? d->cap * 2 : 8;

		e = realloc(d->entries, cap * sizeof(*e));
		if (!e)
			goto err_drop;
		d->entries = e;
		d->cap = cap;
	}
	if (vasprintf(&msg, fmt, ap) < 0)
		goto err_drop;
	p = strdup(path ? path : "");
	if (!p)
		goto err_free_msg;
	d->entries[d->nr].path = p;
	d->entries[d->nr].msg = msg;
	d->nr++;
	return;

err_free_msg:
	free(msg);
err_drop:
	d->dropped++;
}

void diag_add(struct diag *d, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, path, fmt, ap);
	va_end(ap);
}

void diag_print(const struct diag *d, FILE *f)
{
	for (unsigned i = 0; i < d->nr; i++) {
		if (d->entries[i].path[0])
			fprintf(f, "%s: %s\n", d->entries[i].path, d->entries[i].msg);
		else
			fprintf(f, "%s\n", d->entries[i].msg);
	}
	if (d->dropped)
		fprintf(f, "(%u more problems not shown)\n", d->dropped);
}

void diag_free(struct diag *d)
{
	for (unsigned i = 0; i < d->nr; i++) {
		free(d->entries[i].path);
		free(d->entries[i].msg);
	}
	free(d->entries);
	diag_init(d);
}

/* ---- enum names ---- */

static const char *const spec_accel_names[] = { "auto", "kvm", "bt", NULL };
static const char *const spec_machine_names[] = { "pc", "q35", NULL };
static const char *const boot_kind_names[] = { "kernel", "multiboot", "flat", "firmware", NULL };
static const char *const serial_target_names[] = { "stdio", "file", "pty", "unix", "none", NULL };
static const char *const on_reset_names[] = { "restart", "exit", NULL };
static const char *const on_triple_fault_names[] = { "exit", "reset", NULL };
static const char *const boot_decompress_names[] = { "host", "guest", NULL };
static const char *const bt_engine_names[] = { "jit", "interpreter", NULL };
static const char *const forbidden_syscall_names[] = { "none", "main", "vcpu", NULL };
static const char *const exit_code_style_names[] = { "vmm", "qemu", NULL };

const char *spec_enum_name(const char *const *names, size_t nr, unsigned v)
{
	return v < nr - 1 ? names[v] : "?";
}

const char *spec_accel_name(enum spec_accel a)
{
	return SPEC_ENUM_NAME(spec_accel_names, a);
}

const char *spec_machine_name(enum spec_machine m)
{
	return SPEC_ENUM_NAME(spec_machine_names, m);
}

const char *boot_kind_name(enum boot_kind k)
{
	return SPEC_ENUM_NAME(boot_kind_names, k);
}

const char *serial_target_name(enum serial_target t)
{
	return SPEC_ENUM_NAME(serial_target_names, t);
}

const char *spec_on_reset_name(enum spec_on_reset r)
{
	return SPEC_ENUM_NAME(on_reset_names, r);
}

const char *spec_on_triple_fault_name(enum spec_on_triple_fault t)
{
	return SPEC_ENUM_NAME(on_triple_fault_names, t);
}

const char *spec_bt_engine_name(enum spec_bt_engine e)
{
	return SPEC_ENUM_NAME(bt_engine_names, e);
}

const char *spec_exit_code_style_name(enum spec_exit_code_style s)
{
	return SPEC_ENUM_NAME(exit_code_style_names, s);
}

/* ---- accepted keys (the schema test compares these with config/vm-spec.schema.json) ---- */

static const char *const spec_top_keys[] = {
	"name",	     "vcpus",	  "memory_mib",	     "accel", "machine", "boot",
	"serial",    "on_reset",  "on_triple_fault", "debug", "disks",	 "nics",
	"display",   "control",	  "sandbox",	     "cpu",   "bt",	 "uuid",
	"guestinfo", "hypercall", "consoles",	     "rng",   NULL
};
static const char *const spec_boot_keys[] = { "kernel",	      "initrd",	  "cmdline",
					      "multiboot",    "modules",  "flat",
					      "load_address", "firmware", "firmware_vars",
					      "decompress",   NULL };
static const char *const spec_module_keys[] = { "path", "cmdline", NULL };
static const char *const spec_serial_keys[] = { "target", "path", NULL };
static const char *const spec_debug_keys[] = {
	"exit_port",	   "test_device", "state_roundtrip_ms", "firmware_log", "forbidden_syscall",
	"exit_code_style", "pc_testdev",  "pci_testdev",	"fw_cfg",	NULL
};
static const char *const spec_disk_keys[] = { "path",	"format", "bus",	"readonly", "cache",
					      "serial", "cdrom",  "boot_index", NULL };
static const char *const spec_nic_keys[] = { "backend", "model",    "mac", "tap",
					     "queues",	"mtu",	    "net", "hostfwd",
					     "dns",	"restrict", NULL };
static const char *const spec_display_keys[] = { "type", "listen", "rom", "vram_mib", NULL };
static const char *const spec_control_keys[] = { "path", NULL };
static const char *const spec_bt_keys[] = { "engine", "jit_threshold", "code_cache_mib", NULL };
static const char *const spec_hypercall_keys[] = { "vmware_backdoor", "identity", NULL };
static const char *const spec_console_keys[] = { "name", "target", "path", NULL };
static const char *const spec_rng_keys[] = { "bytes_per_second", NULL };

static const struct {
	const char *section;
	const char *const *keys;
} spec_key_table[] = {
	{ "", spec_top_keys },
	{ "boot", spec_boot_keys },
	{ "boot.modules[]", spec_module_keys },
	{ "serial", spec_serial_keys },
	{ "debug", spec_debug_keys },
	{ "disks[]", spec_disk_keys },
	{ "nics[]", spec_nic_keys },
	{ "display", spec_display_keys },
	{ "control", spec_control_keys },
	{ "cpu", spec_cpu_keys },
	{ "cpu.features", cpu_feature_names },
	{ "bt", spec_bt_keys },
	{ "hypercall", spec_hypercall_keys },
	{ "consoles[]", spec_console_keys },
	{ "rng", spec_rng_keys },
};

static const char *const spec_section_names[] = {
	"",	     "boot",	     "boot.modules[]",
	"serial",    "debug",	     "disks[]",
	"nics[]",    "display",	     "control",
	"cpu",	     "cpu.features", "bt",
	"hypercall", "consoles[]",   "rng",
	NULL,
};

const char *const *spec_section_keys(const char *section)
{
	for (size_t i = 0; i < ARRAY_SIZE(spec_key_table); i++) {
		if (!strcmp(spec_key_table[i].section, section))
			return spec_key_table[i].keys;
	}
	return NULL;
}

const char *const *spec_sections(void)
{
	return spec_section_names;
}

/* ---- parse context and helpers ---- */

void spec_err(struct spec_ctx *c, const char *path, const char *fmt, ...)
{
	va_list ap;

	c->nr_errors++;
	va_start(ap, fmt);
	diag_vadd(c->d, path, fmt, ap);
	va_end(ap);
}

char *spec_strdup(struct spec_ctx *c, const char *s)
{
	char *p = strdup(s);

	if (!p)
		c->oom = true;
	return p;
}

/* A path cut to fit ends in "..." (only unknown keys of absurd length get there). */
static void spec_path_fit(char *buf, int len)
{
	if (len >= SPEC_PATH_LEN)
		strcpy(buf + SPEC_PATH_LEN - 4, "...");
}

/* "parent.key", or "key" at the top level. */
void spec_path_key(char *buf, const char *parent, const char *key)
{
	spec_path_fit(buf,
		      snprintf(buf, SPEC_PATH_LEN, "%s%s%s", parent, parent[0] ? "." : "", key));
}

void spec_path_index(char *buf, const char *parent, size_t i)
{
	spec_path_fit(buf, snprintf(buf, SPEC_PATH_LEN, "%s[%zu]", parent, i));
}

/* Quote a user string for a message: printable ASCII kept, the rest as \xNN, cut at 64. */
const char *spec_show(char *buf, size_t size, const char *s)
{
	size_t o = 0, n = 0;

	buf[o++] = '"';
	for (; s[n] && n < SPEC_SHOW_LEN && o + 6 < size; n++) {
		unsigned char ch = (unsigned char)s[n];

		if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
	}
	if (s[n] && o + 5 < size)
		o += (size_t)snprintf(buf + o, size - o, "...");
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *spec_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "?";
}

/* ASCII only, whatever the process locale. */
bool spec_isalnum(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static unsigned char spec_lower(unsigned char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (unsigned char)(ch - 'A' + 'a') : ch;
}

static unsigned spec_edit_distance(const char *a, const char *b)
{
	unsigned row[SPEC_SHOW_LEN + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > SPEC_SHOW_LEN || lb > SPEC_SHOW_LEN)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned cost = spec_lower((unsigned char)a[i - 1]) !=
					spec_lower((unsigned char)b[j - 1]);

			row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
			diag = up;
		}
	}
	return row[lb];
}

/* The closest name within a third of its length (at least 1 edit), or NULL. */
static const char *spec_suggest(const char *word, const char *const *names)
{
	const char *best = NULL;
	unsigned best_dist = UINT_MAX;

	for (; *names; names++) {
		unsigned dist = spec_edit_distance(word, *names);
		unsigned limit = MAX(1u, (unsigned)strlen(*names) / 3);

		if (dist <= limit && dist < best_dist) {
			best = *names;
			best_dist = dist;
		}
	}
	return best;
}

static bool spec_in_list(const char *word, const char *const *names)
{
	for (; *names; names++) {
		if (!strcmp(word, *names))
			return true;
	}
	return false;
}

/* obj must be an object (reports the type otherwise). Reports unknown keys. */
bool spec_check_object(struct spec_ctx *c, const char *path, const json_t *obj,
		       const char *const *keys)
{
	char kpath[SPEC_PATH_LEN];
	const char *key;
	json_t *v;

	if (!json_is_object(obj)) {
		spec_err(c, path[0] ? path : "spec", "expected an object, got %s",
			 spec_type_name(obj));
		return false;
	}
	json_object_foreach((json_t *)obj, key, v)
	{
		const char *hint;

		if (spec_in_list(key, keys))
			continue;
		spec_path_key(kpath, path, key);
		hint = spec_suggest(key, keys);
		if (hint)
			spec_err(c, kpath, "unknown key (did you mean \"%s\"?)", hint);
		else
			spec_err(c, kpath, "unknown key");
	}
	return true;
}

json_t *spec_member(const json_t *obj, const char *path, const char *key, char *kpath)
{
	spec_path_key(kpath, path, key);
	return json_object_get(obj, key);
}

bool spec_get_string(struct spec_ctx *c, const char *path, const json_t *j, const char **out)
{
	if (!json_is_string(j)) {
		spec_err(c, path, "expected a string, got %s", spec_type_name(j));
		return false;
	}
	*out = json_string_value(j);
	return true;
}

bool spec_get_bool(struct spec_ctx *c, const char *path, const json_t *j, bool *out)
{
	if (!json_is_boolean(j)) {
		spec_err(c, path, "expected true or false, got %s", spec_type_name(j));
		return false;
	}
	*out = json_is_true(j);
	return true;
}

void *spec_new_array(struct spec_ctx *c, const char *path, const json_t *arr, size_t max,
		     const char *what, size_t elem_size)
{
	void *elems;

	if (!json_is_array(arr)) {
		spec_err(c, path, "expected an array, got %s", spec_type_name(arr));
		return NULL;
	}
	if (!json_array_size(arr))
		return NULL;
	if (json_array_size(arr) > max) {
		spec_err(c, path, "at most %zu %s, got %zu", max, what, json_array_size(arr));
		return NULL;
	}
	elems = calloc(json_array_size(arr), elem_size);
	if (!elems)
		c->oom = true;
	return elems;
}

bool spec_get_int_range(struct spec_ctx *c, const char *path, const json_t *j, u64 lo, u64 hi,
			u64 *out)
{
	json_int_t v;

	if (!json_is_integer(j)) {
		spec_err(c, path, "expected an integer, got %s", spec_type_name(j));
		return false;
	}
	v = json_integer_value(j);
	if (v < 0 || (u64)v < lo || (u64)v > hi) {
		spec_err(c, path, "must be %llu..%llu, got %lld", (unsigned long long)lo,
			 (unsigned long long)hi, (long long)v);
		return false;
	}
	*out = (u64)v;
	return true;
}

/* A number given as a JSON integer or a string "0x..." (hex) or decimal. */
static bool spec_get_number(struct spec_ctx *c, const char *path, const json_t *j, u64 *out)
{
	const char *s, *digits;
	unsigned long long v;
	char *end;
	int base = 10;

	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0) {
			spec_err(c, path, "must not be negative, got %lld",
				 (long long)json_integer_value(j));
			return false;
		}
		*out = (u64)json_integer_value(j);
		return true;
	}
	if (!json_is_string(j)) {
		spec_err(c, path, "expected an integer or a string like \"0x7c00\", got %s",
			 spec_type_name(j));
		return false;
	}
	s = digits = json_string_value(j);
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		digits = s + 2;
	}
	errno = 0;
	v = strtoull(digits, &end, base);
	if (isxdigit((unsigned char)digits[0]) && !*end && errno == ERANGE) {
		spec_err(c, path, "%s is out of range", SPEC_SHOW(s));
		return false;
	}
	if (!isxdigit((unsigned char)digits[0]) || *end || errno) {
		spec_err(c, path, "not a number: %s (use decimal or 0x... hex)", SPEC_SHOW(s));
		return false;
	}
	*out = v;
	return true;
}

static void spec_enum_list(char *buf, size_t size, const char *const *names)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; names[i] && o < size; i++) {
		const char *sep = i == 0 ? "" : names[i + 1] ? ", " : " or ";

		o += (size_t)snprintf(buf + o, size - o, "%s\"%s\"", sep, names[i]);
	}
}

/* An optional enum member; *out keeps its default when the member is absent. */
void spec_get_enum(struct spec_ctx *c, const json_t *obj, const char *path, const char *key,
		   const char *const *names, unsigned *out)
{
	char kpath[SPEC_PATH_LEN], list[128];
	json_t *j = spec_member(obj, path, key, kpath);
	const char *s, *hint;

	if (!j || !spec_get_string(c, kpath, j, &s))
		return;
	for (unsigned i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return;
		}
	}
	spec_enum_list(list, sizeof(list), names);
	hint = spec_suggest(s, names);
	if (hint)
		spec_err(c, kpath, "expected %s, got %s (did you mean \"%s\"?)", list, SPEC_SHOW(s),
			 hint);
	else
		spec_err(c, kpath, "expected %s, got %s", list, SPEC_SHOW(s));
}

/*
 * An absolute copy of a path string from the spec, resolved against the base folder. Leading
 * "./" is dropped; leading "../" climbs the base folder when that is canonical (realpath: no
 * symlinks in it, so climbing by name is what the kernel would do), else it is kept.
 */
char *spec_resolve(struct spec_ctx *c, const char *rel)
{
	size_t blen = strlen(c->base_dir);
	char *abs;

	if (rel[0] == '/')
		return spec_strdup(c, rel);
	for (;;) {
		if (rel[0] == '.' && (rel[1] == '/' || !rel[1])) {
			rel += 1;
		} else if (c->base_canonical && rel[0] == '.' && rel[1] == '.' &&
			   (rel[2] == '/' || !rel[2])) {
			rel += 2;
			while (blen > 1 && c->base_dir[blen - 1] != '/')
				blen--;
			if (blen > 1)
				blen--;
		} else {
			break;
		}
		while (*rel == '/')
			rel++;
	}
	if (asprintf(&abs, "%.*s%s%s", (int)blen, c->base_dir, blen > 1 && rel[0] ? "/" : "", rel) <
	    0) {
		c->oom = true;
		return NULL;
	}
	return abs;
}

/*
 * SPEC_CHECK_FILES: the file must open (read-write when writable) and be a regular file: the
 * loaders and the block layer open nothing else (a block device as a disk is not supported).
 */
void spec_check_file(struct spec_ctx *c, const char *path, const char *abs, bool writable)
{
	struct stat st;
	int fd;

	if (!(c->flags & SPEC_CHECK_FILES))
		return;
	fd = open(abs, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		spec_err(c, path, "cannot open %s%s: %s", abs, writable ? " for writing" : "",
			 strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0)
		spec_err(c, path, "cannot stat %s: %s", abs, strerror(errno));
	else if (S_ISBLK(st.st_mode))
		spec_err(c, path, "%s is a block device; this build opens only regular files", abs);
	else if (!S_ISREG(st.st_mode))
		spec_err(c, path, "%s is not a regular file", abs);
	close(fd);
}

const char *spec_firmware_flash_fault(u64 code_size, u64 vars_size)
{
	u64 total = code_size + vars_size;

	if (!vars_size || (vars_size & (SPEC_FLASH_BLOCK - 1)))
		return "the variables file is not a whole number of 4 KiB flash blocks";
	if (total > SPEC_FLASH_MAX)
		return "together with the firmware it is more than the 16 MiB of flash below 4 GiB";
	if (total & (total - 1))
		return "together with the firmware it does not fill a flash whose size is a power of "
		       "two: the code and variables files must come from one OVMF build (e.g. "
		       "OVMF_CODE_4M.fd with a copy of OVMF_VARS_4M.fd)";
	return NULL;
}

/*
 * boot.firmware_vars: a writable regular file (the firmware writes its variables there) whose
 * size fits the code image's (spec_firmware_flash_fault).
 */
static void spec_check_firmware_vars(struct spec_ctx *c, const char *kpath, const char *code,
				     const char *vars)
{
	struct stat cst, vst;
	const char *fault;

	if (!(c->flags & SPEC_CHECK_FILES))
		return;
	spec_check_file(c, kpath, vars, true);
	if (!code || stat(code, &cst) < 0 || stat(vars, &vst) < 0 || !S_ISREG(vst.st_mode))
		return; /* reported by the checks of the files themselves */
	fault = spec_firmware_flash_fault((u64)cst.st_size, (u64)vst.st_size);
	if (fault)
		spec_err(c, kpath, "%s is %llu bytes, boot.firmware %llu: %s", vars,
			 (unsigned long long)vst.st_size, (unsigned long long)cst.st_size, fault);
}

/* A required or optional path member; NULL when absent or wrong. */
char *spec_get_path(struct spec_ctx *c, const char *kpath, const json_t *j)
{
	const char *s;

	if (!j || !spec_get_string(c, kpath, j, &s))
		return NULL;
	if (!s[0]) {
		spec_err(c, kpath, "must not be empty");
		return NULL;
	}
	return spec_resolve(c, s);
}

void spec_check_unix_path(struct spec_ctx *c, const char *kpath, const char *abs)
{
	if (abs && strlen(abs) > SPEC_UNIX_PATH_MAX)
		spec_err(c, kpath, "%s is too long for a unix socket (%zu bytes, at most %zu)", abs,
			 strlen(abs), (size_t)SPEC_UNIX_PATH_MAX);
}

static char *spec_get_cmdline(struct spec_ctx *c, const char *kpath, const json_t *j)
{
	const char *s = "";

	if (j && !spec_get_string(c, kpath, j, &s))
		s = "";
	if (strlen(s) > SPEC_CMDLINE_MAX) {
		spec_err(c, kpath, "too long (%zu bytes, at most %u)", strlen(s), SPEC_CMDLINE_MAX);
		s = "";
	}
	return spec_strdup(c, s);
}

/* ---- sections ---- */

static void spec_parse_name(struct spec_ctx *c, const json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];
	json_t *j = spec_member(root, "", "name", kpath);
	const char *name = "vm";
	size_t len;

	if (j && !spec_get_string(c, kpath, j, &name))
		return;
	len = strlen(name);
	if (len < 1 || len > SPEC_NAME_MAX) {
		spec_err(c, kpath, "must be 1..%u characters, got %zu", SPEC_NAME_MAX, len);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (spec_isalnum(ch) || ch == '.' || ch == '_' || ch == '-')
			continue;
		if (ch >= 0x20 && ch < 0x7f)
			spec_err(c, kpath,
				 "invalid character '%c' in %s (allowed: A-Z a-z 0-9 . _ -)", ch,
				 SPEC_SHOW(name));
		else
			spec_err(c, kpath, "invalid byte 0x%02x in %s (allowed: A-Z a-z 0-9 . _ -)",
				 ch, SPEC_SHOW(name));
		return;
	}
	s->name = spec_strdup(c, name);
}

static void spec_parse_modules(struct spec_ctx *c, const json_t *arr, const char *path,
			       struct boot_spec *b)
{
	char ipath[SPEC_PATH_LEN], kpath[SPEC_PATH_LEN];
	size_t i;
	json_t *m;

	b->modules =
		spec_new_array(c, path, arr, SPEC_BOOT_MODULES_MAX, "modules", sizeof(*b->modules));
	if (!b->modules)
		return;
	json_array_foreach(arr, i, m)
	{
		struct boot_module *bm = &b->modules[b->nr_modules++];
		json_t *p;

		spec_path_index(ipath, path, i);
		if (!spec_check_object(c, ipath, m, spec_module_keys))
			continue;
		p = spec_member(m, ipath, "path", kpath);
		if (!p)
			spec_err(c, kpath, "required");
		bm->path = spec_get_path(c, kpath, p);
		if (bm->path)
			spec_check_file(c, kpath, bm->path, false);
		p = spec_member(m, ipath, "cmdline", kpath);
		bm->cmdline = spec_get_cmdline(c, kpath, p);
	}
}

/* Members of "boot" that only make sense with some boot methods. */
static void spec_check_boot_extras(struct spec_ctx *c, const json_t *boot, enum boot_kind kind)
{
	static const struct {
		const char *key;
		unsigned kinds; /* bit per enum boot_kind */
		const char *with;
	} extras[] = {
		{ "initrd", 1u << BOOT_LINUX, "\"kernel\"" },
		{ "decompress", 1u << BOOT_LINUX, "\"kernel\" (a direct boot)" },
		{ "cmdline", 1u << BOOT_LINUX | 1u << BOOT_MULTIBOOT,
		  "\"kernel\" or \"multiboot\"" },
		{ "modules", 1u << BOOT_MULTIBOOT, "\"multiboot\"" },
		{ "load_address", 1u << BOOT_FLAT, "\"flat\"" },
		{ "firmware_vars", 1u << BOOT_FIRMWARE, "\"firmware\"" },
	};

	char kpath[SPEC_PATH_LEN];

	/* boot.firmware with boot.kernel: the kernel's initrd and command line go with it */
	bool fw_kernel = kind == BOOT_FIRMWARE && json_object_get(boot, "kernel");

	for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
		if (!json_object_get(boot, extras[i].key) || (extras[i].kinds & (1u << kind)))
			continue;
		if (fw_kernel && (extras[i].kinds & (1u << BOOT_LINUX)) &&
		    strcmp(extras[i].key, "decompress"))
			continue;
		spec_path_key(kpath, "boot", extras[i].key);
		spec_err(c, kpath, "only valid with %s, not with \"%s\"", extras[i].with,
			 boot_kind_names[kind]);
	}
}

/* Which one boot method "boot" names; false (reported) when none or several. */
static bool spec_boot_kind(struct spec_ctx *c, const json_t *boot, enum boot_kind *kind)
{
	unsigned nr_methods = 0;
	char found[64] = "";

	for (unsigned k = 0; boot_kind_names[k]; k++) {
		if (!json_object_get(boot, boot_kind_names[k]))
			continue;
		snprintf(found + strlen(found), sizeof(found) - strlen(found), "%s\"%s\"",
			 nr_methods ? " and " : "", boot_kind_names[k]);
		nr_methods++;
		*kind = (enum boot_kind)k;
	}
	if (nr_methods == 2 && json_object_get(boot, "kernel") &&
	    json_object_get(boot, "firmware")) {
		/* the firmware boots the kernel through fw_cfg's kernel items (board_fw.c) */
		*kind = BOOT_FIRMWARE;
		return true;
	}
	if (nr_methods != 1) {
		spec_err(c, "boot",
			 "exactly one of \"kernel\", \"multiboot\", \"flat\" or \"firmware\" is "
			 "needed, got %s",
			 nr_methods ? found : "none");
		return false;
	}
	return true;
}

static void spec_parse_boot(struct spec_ctx *c, const json_t *root, struct boot_spec *b)
{
	char kpath[SPEC_PATH_LEN];
	json_t *boot = spec_member(root, "", "boot", kpath);
	enum boot_kind kind = BOOT_LINUX;
	json_t *j;

	if (!boot) {
		spec_err(c, "boot",
			 "required: give exactly one of \"kernel\", \"multiboot\", "
			 "\"flat\" or \"firmware\"");
		return;
	}
	if (!spec_check_object(c, "boot", boot, spec_boot_keys) || !spec_boot_kind(c, boot, &kind))
		return;
	b->kind = kind;
	spec_check_boot_extras(c, boot, kind);

	j = spec_member(boot, "boot", boot_kind_names[kind], kpath);
	b->image = spec_get_path(c, kpath, j);
	if (b->image)
		spec_check_file(c, kpath, b->image, false);

	j = spec_member(boot, "boot", "firmware_vars", kpath);
	if (j && kind == BOOT_FIRMWARE) {
		b->firmware_vars = spec_get_path(c, kpath, j);
		if (b->firmware_vars)
			spec_check_firmware_vars(c, kpath, b->image, b->firmware_vars);
	}

	j = spec_member(boot, "boot", "kernel", kpath);
	if (j && kind == BOOT_FIRMWARE) {
		b->fw_kernel = spec_get_path(c, kpath, j);
		if (b->fw_kernel)
			spec_check_file(c, kpath, b->fw_kernel, false);
	}

	j = spec_member(boot, "boot", "initrd", kpath);
	if (j && (kind == BOOT_LINUX || b->fw_kernel)) {
		b->initrd = spec_get_path(c, kpath, j);
		if (b->initrd)
			spec_check_file(c, kpath, b->initrd, false);
	}

	if (kind == BOOT_LINUX)
		SPEC_GET_ENUM(c, boot, "boot", "decompress", boot_decompress_names, &b->decompress);

	j = spec_member(boot, "boot", "cmdline", kpath);
	b->cmdline = spec_get_cmdline(
		c, kpath, kind == BOOT_LINUX || kind == BOOT_MULTIBOOT || b->fw_kernel ? j : NULL);

	j = spec_member(boot, "boot", "modules", kpath);
	if (j && kind == BOOT_MULTIBOOT)
		spec_parse_modules(c, j, kpath, b);

	b->load_address = SPEC_FLAT_LOAD_DEFAULT;
	j = spec_member(boot, "boot", "load_address", kpath);
	if (j && kind == BOOT_FLAT && spec_get_number(c, kpath, j, &b->load_address) &&
	    b->load_address > 0xfffff)
		spec_err(c, kpath,
			 "must be below 0x100000 (real mode starts at CS:IP = addr>>4:addr&0xf), "
			 "got %#llx",
			 (unsigned long long)b->load_address);
}

void spec_parse_target(struct spec_ctx *c, const json_t *obj, const char *path,
		       struct serial_spec *se)
{
	char kpath[SPEC_PATH_LEN];
	bool wants_path;
	json_t *j;

	SPEC_GET_ENUM(c, obj, path, "target", serial_target_names, &se->target);
	wants_path = se->target == SERIAL_FILE || se->target == SERIAL_UNIX;
	j = spec_member(obj, path, "path", kpath);
	if (!j && wants_path) {
		spec_err(c, kpath, "required with target \"%s\"", serial_target_name(se->target));
	} else if (j && !wants_path) {
		spec_err(c, kpath, "only valid with target \"file\" or \"unix\", not \"%s\"",
			 serial_target_name(se->target));
	} else if (j) {
		se->path = spec_get_path(c, kpath, j);
		if (se->target == SERIAL_UNIX)
			spec_check_unix_path(c, kpath, se->path);
	}
}

static void spec_parse_serial(struct spec_ctx *c, const json_t *root, struct serial_spec *se)
{
	char kpath[SPEC_PATH_LEN];
	json_t *serial = spec_member(root, "", "serial", kpath);

	se->target = SERIAL_STDIO;
	if (!serial || !spec_check_object(c, "serial", serial, spec_serial_keys))
		return;
	spec_parse_target(c, serial, "serial", se);
}

/* Name a port range of the PC board that ports lo..hi overlap, or NULL. */
static const char *spec_reserved_port(u64 lo, u64 hi, const struct debug_spec *dbg, bool firmware)
{
	static const struct {
		u16 lo, hi;
		const char *what;
	} ports[] = {
		{ 0x20, 0x21, "the master 8259 PIC" },
		{ 0x40, 0x43, "the 8254 PIT" },
		{ I8042_DATA_PORT, I8042_DATA_PORT, "the i8042 data port" },
		{ PIT_PORT_B, PIT_PORT_B, "port B (PIT gate and NMI status)" },
		{ I8042_COMMAND_PORT, I8042_COMMAND_PORT, "the i8042 command port" },
		{ 0x70, 0x71, "the RTC/CMOS" },
		{ 0xa0, 0xa1, "the slave 8259 PIC" },
		{ 0x3f8, 0x3ff, "COM1" },
		{ PIC_ELCR_BASE, PIC_ELCR_BASE + 1, "the PIC edge/level control registers" },
		{ PVPANIC_DEFAULT_PORT, PVPANIC_DEFAULT_PORT, "the pvpanic port" },
		{ ACPI_PM_PM1A_EVT, ACPI_PM_TMR + ACPI_PM_TMR_LEN - 1, "the ACPI PM block" },
		{ ACPI_PM_GPE0, ACPI_PM_GPE0 + ACPI_PM_GPE0_LEN - 1, "the ACPI GPE0 block" },
		{ 0xcf9, 0xcf9, "the reset control register" },
		{ 0xcf8, 0xcff, "PCI configuration space" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(ports); i++) {
		if (lo <= ports[i].hi && hi >= ports[i].lo)
			return ports[i].what;
	}
	if (dbg->test_device && lo < TESTDEV_DEFAULT_PIO_BASE + TESTDEV_PIO_PORTS &&
	    hi >= TESTDEV_DEFAULT_PIO_BASE)
		return "the test device (debug.test_device)";
	if (dbg->pc_testdev && lo < PC_TESTDEV_PORT_BYTE + PC_TESTDEV_PORT_WIDTH &&
	    hi >= PC_TESTDEV_PORT_DATA)
		return "the PC test device's ports 0xe0-0xeb (debug.pc_testdev)";
	if (dbg->pc_testdev && lo < PC_TESTDEV_PORT_IRQ + PC_TESTDEV_NR_IRQS &&
	    hi >= PC_TESTDEV_PORT_IRQ)
		return "the PC test device's IRQ ports 0x2000-0x2017 (debug.pc_testdev)";
	if (dbg->pci_testdev && !firmware && lo < PCI_TESTDEV_BAR1_PORT + PCI_TESTDEV_IO_BYTES &&
	    hi >= PCI_TESTDEV_BAR1_PORT)
		return "the PCI test device's I/O BAR 0xff00-0xffff (debug.pci_testdev without "
		       "firmware)";
	if ((firmware || dbg->fw_cfg) &&
	    lo <= FW_CFG_DEFAULT_PORT + FW_CFG_DMA_OFFSET + FW_CFG_DMA_LEN - 1 &&
	    hi >= FW_CFG_DEFAULT_PORT)
		return "the firmware configuration ports (fw_cfg, with boot.firmware or "
		       "debug.fw_cfg)";
	if (firmware && lo <= DEBUGCON_DEFAULT_PORT && hi >= DEBUGCON_DEFAULT_PORT)
		return "the firmware debug port (with boot.firmware)";
	return NULL;
}

static void spec_parse_debug(struct spec_ctx *c, const json_t *root, enum boot_kind boot_kind,
			     struct debug_spec *dbg)
{
	char kpath[SPEC_PATH_LEN];
	json_t *debug = spec_member(root, "", "debug", kpath);
	const char *what;
	json_t *j;
	u64 port;

	if (!debug || !spec_check_object(c, "debug", debug, spec_debug_keys))
		return;
	j = spec_member(debug, "debug", "test_device", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &dbg->test_device);
	j = spec_member(debug, "debug", "pc_testdev", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &dbg->pc_testdev);
	j = spec_member(debug, "debug", "pci_testdev", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &dbg->pci_testdev);
	j = spec_member(debug, "debug", "fw_cfg", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &dbg->fw_cfg);
	j = spec_member(debug, "debug", "exit_port", kpath);
	if (j && spec_get_number(c, kpath, j, &port)) {
		u64 last = port + SPEC_EXIT_PORT_WIDTH - 1;

		what = spec_reserved_port(port, port, dbg, boot_kind == BOOT_FIRMWARE);
		if (port > 0x10000 - SPEC_EXIT_PORT_WIDTH)
			spec_err(c, kpath, "must be 0..%#x (the device takes %u ports), got %#llx",
				 0x10000 - SPEC_EXIT_PORT_WIDTH, SPEC_EXIT_PORT_WIDTH,
				 (unsigned long long)port);
		else if (what)
			spec_err(c, kpath, "%#llx is %s; pick a free port such as 0xf4",
				 (unsigned long long)port, what);
		else if ((what = spec_reserved_port(port, last, dbg, boot_kind == BOOT_FIRMWARE)))
			spec_err(c, kpath,
				 "ports %#llx-%#llx (the device takes %u) overlap %s; pick a free "
				 "port such as 0xf4",
				 (unsigned long long)port, (unsigned long long)last,
				 SPEC_EXIT_PORT_WIDTH, what);
		else
			dbg->has_exit_port = true;
		dbg->exit_port = (u16)port;
	}
	j = spec_member(debug, "debug", "firmware_log", kpath);
	if (j && boot_kind != BOOT_FIRMWARE)
		spec_err(c, kpath, "only valid with boot.firmware (the firmware's debug port)");
	else if (j)
		dbg->firmware_log = spec_get_path(c, kpath, j);
	j = spec_member(debug, "debug", "state_roundtrip_ms", kpath);
	if (j && spec_get_number(c, kpath, j, &port)) {
		if (port < 1 || port > SPEC_STATE_ROUNDTRIP_MAX_MS)
			spec_err(c, kpath, "must be 1..%u, got %llu", SPEC_STATE_ROUNDTRIP_MAX_MS,
				 (unsigned long long)port);
		else
			dbg->state_roundtrip_ms = (unsigned)port;
	}
	SPEC_GET_ENUM(c, debug, "debug", "forbidden_syscall", forbidden_syscall_names,
		      &dbg->forbidden_syscall);
	if (spec_member(debug, "debug", "exit_code_style", kpath) &&
	    !json_object_get(debug, "exit_port"))
		spec_err(c, kpath,
			 "needs debug.exit_port (the port the guest writes its status to)");
	SPEC_GET_ENUM(c, debug, "debug", "exit_code_style", exit_code_style_names,
		      &dbg->exit_code_style);
}

/* The BT engine's tiers: interpreter only, or JIT above a hotness threshold, its code cache. */
static void spec_parse_bt(struct spec_ctx *c, const json_t *root, struct bt_spec *bt)
{
	char kpath[SPEC_PATH_LEN];
	json_t *o = spec_member(root, "", "bt", kpath), *j;
	u64 v;

	bt->engine = SPEC_BT_JIT;
	bt->jit_threshold = SPEC_BT_JIT_THRESHOLD_DEFAULT;
	bt->code_cache_mib = SPEC_BT_CODE_CACHE_MIB_DEFAULT;
	if (!o || !spec_check_object(c, "bt", o, spec_bt_keys))
		return;
	SPEC_GET_ENUM(c, o, "bt", "engine", bt_engine_names, &bt->engine);
	j = spec_member(o, "bt", "jit_threshold", kpath);
	if (j && spec_get_int_range(c, kpath, j, 1, SPEC_BT_JIT_THRESHOLD_MAX, &v))
		bt->jit_threshold = (unsigned)v;
	j = spec_member(o, "bt", "code_cache_mib", kpath);
	if (j && spec_get_int_range(c, kpath, j, 1, SPEC_BT_CODE_CACHE_MIB_MAX, &v))
		bt->code_cache_mib = (unsigned)v;
}

static void spec_parse_root(struct spec_ctx *c, const json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];
	u64 v;
	json_t *j;

	s->vcpus = 1;
	s->memory_mib = 256;
	if (!spec_check_object(c, "", root, spec_top_keys))
		return;
	spec_parse_name(c, root, s);
	j = spec_member(root, "", "vcpus", kpath);
	if (j && spec_get_int_range(c, kpath, j, 1, SPEC_VCPUS_MAX, &v))
		s->vcpus = (unsigned)v;
	j = spec_member(root, "", "memory_mib", kpath);
	if (j && spec_get_int_range(c, kpath, j, 1, SPEC_MEMORY_MIB_MAX, &v))
		s->memory_mib = v;
	SPEC_GET_ENUM(c, root, "", "accel", spec_accel_names, &s->accel);
	SPEC_GET_ENUM(c, root, "", "machine", spec_machine_names, &s->machine);
	spec_parse_boot(c, root, &s->boot);
	spec_parse_serial(c, root, &s->serial);
	SPEC_GET_ENUM(c, root, "", "on_reset", on_reset_names, &s->on_reset);
	SPEC_GET_ENUM(c, root, "", "on_triple_fault", on_triple_fault_names, &s->on_triple_fault);
	spec_parse_debug(c, root, s->boot.kind, &s->debug);
	spec_parse_cpu(c, root, &s->cpu);
	spec_parse_disks(c, root, s);
	spec_parse_nics(c, root, s);
	spec_parse_display(c, root, s);
	spec_parse_control(c, root, &s->control);
	spec_parse_bt(c, root, &s->bt);
	spec_parse_paravirt(c, root, s);
	if (!(c->flags & SPEC_ALLOW_UNBUILT))
		spec_refuse_unbuilt(c, root);
	j = spec_member(root, "", "sandbox", kpath);
	if (j) {
		bool on = true;

		spec_get_bool(c, kpath, j, &on);
		s->sandbox_off = !on;
	}
}

void spec_nic_free(struct nic_spec *n)
{
	free(n->tap);
	for (unsigned k = 0; k < n->nr_hostfwd; k++)
		free(n->hostfwd[k].rule);
	free(n->hostfwd);
	memset(n, 0, sizeof(*n));
}

void spec_free(struct vm_spec *s)
{
	free(s->name);
	free(s->boot.image);
	free(s->boot.fw_kernel);
	free(s->boot.firmware_vars);
	free(s->boot.initrd);
	free(s->boot.cmdline);
	for (unsigned i = 0; i < s->boot.nr_modules; i++) {
		free(s->boot.modules[i].path);
		free(s->boot.modules[i].cmdline);
	}
	free(s->boot.modules);
	free(s->serial.path);
	free(s->debug.firmware_log);
	for (unsigned i = 0; i < s->nr_disks; i++) {
		free(s->disks[i].path);
		free(s->disks[i].serial);
	}
	free(s->disks);
	for (unsigned i = 0; i < s->nr_nics; i++)
		spec_nic_free(&s->nics[i]);
	free(s->nics);
	free(s->display.listen_host);
	free(s->display.listen_path);
	free(s->display.rom);
	free(s->control.path);
	for (unsigned i = 0; i < s->guestinfo.nr; i++) {
		free(s->guestinfo.keys[i]);
		free(s->guestinfo.values[i]);
	}
	free(s->guestinfo.keys);
	free(s->guestinfo.values);
	for (unsigned i = 0; i < s->nr_consoles; i++) {
		free(s->consoles[i].name);
		free(s->consoles[i].target.path);
	}
	free(s->consoles);
	memset(s, 0, sizeof(*s));
}

/* Apply the overrides, validate, fill *out. Takes the tree. */
static int spec_from_tree(json_t *root, const char *base_dir, bool base_canonical,
			  const char *const *sets, unsigned nr_sets, unsigned flags,
			  struct vm_spec *out, struct diag *d)
{
	struct spec_ctx c = {
		.d = d, .base_dir = base_dir, .base_canonical = base_canonical, .flags = flags
	};
	int ret = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < nr_sets; i++) {
		ret = spec_set_apply(root, sets[i], d);
		if (ret == -ENOMEM)
			goto out_put;
		if (ret)
			c.nr_errors++;
	}
	spec_parse_root(&c, root, out);
	ret = c.oom ? -ENOMEM : c.nr_errors ? -EINVAL : 0;
	if (ret)
		spec_free(out);
out_put:
	json_decref(root);
	return ret;
}

static void spec_syntax_err(struct diag *d, const char *file, const json_error_t *je)
{
	diag_add(d, file, "line %d, column %d: %s", je->line, je->column, je->text);
}

/* An absolute copy of dir (relative to the working directory), canonical if it exists. */
static char *spec_abs_dir(const char *dir, bool *canonical)
{
	char *abs, *real, cwd[PATH_MAX];

	*canonical = false;
	if (dir && dir[0] == '/') {
		abs = strdup(dir);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		if (asprintf(&abs, "%s/%s", strcmp(cwd, "/") ? cwd : "", dir ? dir : ".") < 0)
			return NULL;
	}
	real = abs ? realpath(abs, NULL) : NULL;
	if (!real)
		return abs;
	free(abs);
	*canonical = true;
	return real;
}

int spec_parse_string(const char *json, const char *base_dir, const char *const *sets,
		      unsigned nr_sets, unsigned flags, struct vm_spec *out, struct diag *d)
{
	json_error_t je;
	bool canonical;
	json_t *root;
	char *dir;
	int ret;

	memset(out, 0, sizeof(*out));
	dir = spec_abs_dir(base_dir, &canonical);
	if (!dir) {
		ret = -errno;
		diag_add(d, "", "cannot find the current directory: %s", strerror(-ret));
		return ret;
	}
	root = json_loads(json, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root) {
		spec_syntax_err(d, "", &je);
		free(dir);
		return -EINVAL;
	}
	ret = spec_from_tree(root, dir, canonical, sets, nr_sets, flags, out, d);
	free(dir);
	return ret;
}

/* Read a whole (small) file into a NUL-terminated buffer; *len without the NUL. */
static int spec_read_file(const char *path, char **buf, size_t *len, struct diag *d)
{
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		diag_add(d, path, "cannot open: %s", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SPEC_FILE_MAX) {
		ret = -EINVAL;
		diag_add(d, path, "not a regular file of at most %d bytes", SPEC_FILE_MAX);
		goto err_close;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		ret = -ENOMEM;
		goto err_close;
	}
	*len = 0;
	while ((n = read(fd, *buf + *len, (size_t)st.st_size - *len)) > 0)
		*len += (size_t)n;
	if (n < 0) {
		ret = -errno;
		diag_add(d, path, "cannot read: %s", strerror(errno));
		free(*buf);
		goto err_close;
	}
	(*buf)[*len] = '\0';
	close(fd);
	return 0;

err_close:
	close(fd);
	return ret;
}

int spec_load(const char *path, const char *const *sets, unsigned nr_sets, unsigned flags,
	      struct vm_spec *out, struct diag *d)
{
	char *text = NULL, *dir, *slash, *base;
	json_error_t je;
	json_t *root;
	size_t len = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = spec_read_file(path, &text, &len, d);
	if (ret)
		return ret;
	dir = strdup(path);
	if (!dir) {
		ret = -ENOMEM;
		goto err_free_text;
	}
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	base = realpath(dir, NULL);
	free(dir);
	if (!base) {
		ret = -errno;
		diag_add(d, path, "cannot resolve its folder: %s", strerror(errno));
		goto err_free_text;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (!root) {
		spec_syntax_err(d, path, &je);
		ret = -EINVAL;
		goto err_free_base;
	}
	ret = spec_from_tree(root, base, true, sets, nr_sets, flags, out, d);

err_free_base:
	free(base);
err_free_text:
	free(text);
	return ret;
}
