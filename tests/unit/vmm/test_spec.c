// SPDX-License-Identifier: MIT
/*
 * Unit tests for the VM spec parser (src/vmm/spec.c, spec_set.c): defaults, every boot and
 * serial form, disks, nics, control and debug, the section this build refuses (display:
 * refused by default, and its checks with SPEC_ALLOW_UNBUILT), the board's limits (disks,
 * modules, exit port), path resolution, --set overrides, file checks, and that problems are
 * collected, not stopped at.
 * The malformed-spec corpus with exact messages lives in tests/specs/ (suite 'specs').
 */
#include "vmm/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

struct fixture {
	struct vm_spec spec;
	struct diag d;
	bool parsed;
	unsigned flags; /* spec_parse_string's flags: 0, or SPEC_ALLOW_UNBUILT */
};

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	diag_init(&f->d);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	if (f->parsed)
		spec_free(&f->spec);
	diag_free(&f->d);
	free(f);
	return 0;
}

/* Parse json with base folder /base and the given --set list; returns spec_parse_string's. */
static int parse_sets(struct fixture *f, const char *json, const char *const *sets,
		      unsigned nr_sets)
{
	int ret;

	if (f->parsed)
		spec_free(&f->spec);
	diag_free(&f->d);
	ret = spec_parse_string(json, "/base", sets, nr_sets, f->flags, &f->spec, &f->d);
	f->parsed = ret == 0;
	return ret;
}

static int parse(struct fixture *f, const char *json)
{
	return parse_sets(f, json, NULL, 0);
}

/* All diagnostics as "path: msg\n" lines. */
static char *diag_text(const struct diag *d)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mf = open_memstream(&buf, &len);

	assert_non_null(mf);
	diag_print(d, mf);
	fclose(mf);
	return buf;
}

static void assert_diags(const struct diag *d, const char *expected)
{
	char *text = diag_text(d);

	assert_string_equal(text, expected);
	free(text);
}

#define MIN_LINUX "{\"boot\": {\"kernel\": \"vmlinuz\"}"

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct vm_spec *s = &f->spec;

	assert_int_equal(parse(f, MIN_LINUX "}"), 0);
	assert_int_equal(f->d.nr, 0);
	assert_string_equal(s->name, "vm");
	assert_int_equal(s->vcpus, 1);
	assert_int_equal(s->memory_mib, 256);
	assert_int_equal(s->accel, SPEC_ACCEL_AUTO);
	assert_int_equal(s->boot.kind, BOOT_LINUX);
	assert_string_equal(s->boot.image, "/base/vmlinuz");
	assert_null(s->boot.initrd);
	assert_string_equal(s->boot.cmdline, "");
	assert_int_equal(s->serial.target, SERIAL_STDIO);
	assert_null(s->serial.path);
	assert_int_equal(s->on_reset, SPEC_ON_RESET_RESTART);
	assert_int_equal(s->on_triple_fault, SPEC_ON_TRIPLE_FAULT_EXIT);
	assert_false(s->debug.has_exit_port);
	assert_false(s->debug.test_device);
	assert_int_equal(s->nr_disks, 0);
	assert_int_equal(s->nr_nics, 0);
	assert_int_equal(s->display.type, DISPLAY_NONE);
	assert_null(s->display.listen_host);
	assert_null(s->control.path);
}

static void test_linux_full(void **state)
{
	struct fixture *f = *state;
	struct vm_spec *s = &f->spec;

	assert_int_equal(parse(f,
			       "{\"name\": \"demo\", \"vcpus\": 4, \"memory_mib\": 512, "
			       "\"accel\": \"kvm\", \"boot\": {\"kernel\": \"vmlinuz\", "
			       "\"initrd\": \"/srv/initrd.img\", \"cmdline\": \"console=ttyS0\"}, "
			       "\"serial\": {\"target\": \"stdio\"}, \"on_reset\": \"exit\", "
			       "\"on_triple_fault\": \"reset\"}"),
			 0);
	assert_string_equal(s->name, "demo");
	assert_int_equal(s->vcpus, 4);
	assert_int_equal(s->memory_mib, 512);
	assert_int_equal(s->accel, SPEC_ACCEL_KVM);
	assert_string_equal(s->boot.image, "/base/vmlinuz");
	assert_string_equal(s->boot.initrd, "/srv/initrd.img");
	assert_string_equal(s->boot.cmdline, "console=ttyS0");
	assert_int_equal(s->on_reset, SPEC_ON_RESET_EXIT);
	assert_int_equal(s->on_triple_fault, SPEC_ON_TRIPLE_FAULT_RESET);
}

static void test_multiboot_modules(void **state)
{
	struct fixture *f = *state;
	struct boot_spec *b = &f->spec.boot;

	assert_int_equal(parse(f, "{\"boot\": {\"multiboot\": \"./k.elf\", \"cmdline\": \"-v\", "
				  "\"modules\": [{\"path\": \"m.bin\", \"cmdline\": \"x\"}, "
				  "{\"path\": \"dir/n.bin\"}]}}"),
			 0);
	assert_int_equal(b->kind, BOOT_MULTIBOOT);
	assert_string_equal(b->image, "/base/k.elf");
	assert_string_equal(b->cmdline, "-v");
	assert_int_equal(b->nr_modules, 2);
	assert_string_equal(b->modules[0].path, "/base/m.bin");
	assert_string_equal(b->modules[0].cmdline, "x");
	assert_string_equal(b->modules[1].path, "/base/dir/n.bin");
	assert_string_equal(b->modules[1].cmdline, "");

	/* The loader's table holds 16 modules: a 17th is a spec problem, not a failed boot. */
	{
		char json[2048];
		size_t o = (size_t)snprintf(json, sizeof(json),
					    "{\"boot\": {\"multiboot\": \"k\", \"modules\": [");

		for (unsigned i = 0; i < SPEC_BOOT_MODULES_MAX + 1; i++)
			o += (size_t)snprintf(json + o, sizeof(json) - o, "%s{\"path\": \"m%u\"}",
					      i ? ", " : "", i);
		snprintf(json + o, sizeof(json) - o, "]}}");
		assert_int_equal(parse(f, json), -EINVAL);
		assert_diags(&f->d, "boot.modules: at most 16 modules, got 17\n");
	}
}

static void test_flat_load_address(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\"}}"), 0);
	assert_int_equal(f->spec.boot.kind, BOOT_FLAT);
	assert_int_equal(f->spec.boot.load_address, 0x7c00);
	assert_int_equal(
		parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": \"0x1000\"}}"), 0);
	assert_int_equal(f->spec.boot.load_address, 0x1000);
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": \"4096\"}}"),
			 0);
	assert_int_equal(f->spec.boot.load_address, 4096);
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": 1048575}}"),
			 0);
	assert_int_equal(f->spec.boot.load_address, 0xfffff);

	assert_int_equal(
		parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": \"0x100000\"}}"),
		-EINVAL);
	assert_diags(&f->d,
		     "boot.load_address: must be below 0x100000 (real mode starts at CS:IP = "
		     "addr>>4:addr&0xf), got 0x100000\n");
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": -1}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot.load_address: must not be negative, got -1\n");
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": \"0x\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot.load_address: not a number: \"0x\" (use decimal or 0x... hex)\n");
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": "
				  "\"0x10000000000000000\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot.load_address: \"0x10000000000000000\" is out of range\n");
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": \"12 \"}}"),
			 -EINVAL);
	assert_int_equal(parse(f, "{\"boot\": {\"flat\": \"p.bin\", \"load_address\": 1.5}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot.load_address: expected an integer or a string like \"0x7c00\", "
			    "got a fractional number\n");
}

static void test_firmware_and_extras(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "{\"boot\": {\"firmware\": \"/usr/share/seabios/bios.bin\"}}"),
			 0);
	assert_int_equal(f->spec.boot.kind, BOOT_FIRMWARE);
	assert_string_equal(f->spec.boot.image, "/usr/share/seabios/bios.bin");

	assert_int_equal(parse(f, "{\"boot\": {\"firmware\": \"b.bin\", \"cmdline\": \"x\", "
				  "\"initrd\": \"i\", \"modules\": [], \"load_address\": 0}}"),
			 -EINVAL);
	assert_diags(
		&f->d,
		"boot.initrd: only valid with \"kernel\", not with \"firmware\"\n"
		"boot.cmdline: only valid with \"kernel\" or \"multiboot\", not with \"firmware\"\n"
		"boot.modules: only valid with \"multiboot\", not with \"firmware\"\n"
		"boot.load_address: only valid with \"flat\", not with \"firmware\"\n");
}

static void test_firmware_with_kernel(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "{\"boot\": {\"firmware\": \"/usr/share/seabios/bios.bin\", "
				  "\"kernel\": \"/k\", \"initrd\": \"/i\", \"cmdline\": \"x\"}}"),
			 0);
	assert_int_equal(f->spec.boot.kind, BOOT_FIRMWARE);
	assert_string_equal(f->spec.boot.image, "/usr/share/seabios/bios.bin");
	assert_string_equal(f->spec.boot.fw_kernel, "/k");
	assert_string_equal(f->spec.boot.initrd, "/i");
	assert_string_equal(f->spec.boot.cmdline, "x");

	assert_int_equal(parse(f, "{\"boot\": {\"firmware\": \"b.bin\", \"kernel\": \"/k\", "
				  "\"decompress\": \"host\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot.decompress: only valid with \"kernel\" (a direct boot), not with "
			    "\"firmware\"\n");
}

static void test_boot_methods(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "{}"), -EINVAL);
	assert_diags(&f->d,
		     "boot: required: give exactly one of \"kernel\", \"multiboot\", \"flat\" "
		     "or \"firmware\"\n");
	assert_int_equal(parse(f, "{\"boot\": {\"kernel\": \"a\", \"multiboot\": \"b\", "
				  "\"firmware\": \"c\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "boot: exactly one of \"kernel\", \"multiboot\", \"flat\" or "
			    "\"firmware\" is needed, got \"kernel\" and \"multiboot\" and "
			    "\"firmware\"\n");
	assert_int_equal(parse(f, "{\"boot\": {\"kernel\": \"\"}}"), -EINVAL);
	assert_diags(&f->d, "boot.kernel: must not be empty\n");
	assert_int_equal(parse(f, "{\"boot\": []}"), -EINVAL);
	assert_diags(&f->d, "boot: expected an object, got an array\n");
}

static void test_cmdline_limit(void **state)
{
	struct fixture *f = *state;
	size_t size = SPEC_CMDLINE_MAX + 100;
	char *as = malloc(size), *json = malloc(size);

	assert_non_null(as);
	assert_non_null(json);
	memset(as, 'a', size);
	snprintf(json, size, "{\"boot\": {\"kernel\": \"k\", \"cmdline\": \"%.*s\"}}",
		 SPEC_CMDLINE_MAX, as);
	assert_int_equal(parse(f, json), 0);
	assert_int_equal(strlen(f->spec.boot.cmdline), SPEC_CMDLINE_MAX);

	snprintf(json, size, "{\"boot\": {\"kernel\": \"k\", \"cmdline\": \"%.*s\"}}",
		 SPEC_CMDLINE_MAX + 1, as);
	assert_int_equal(parse(f, json), -EINVAL);
	assert_diags(&f->d, "boot.cmdline: too long (2048 bytes, at most 2047)\n");
	free(json);
	free(as);
}

static void test_serial_targets(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"file\", \"path\": "
					    "\"out.log\"}}"),
			 0);
	assert_int_equal(f->spec.serial.target, SERIAL_FILE);
	assert_string_equal(f->spec.serial.path, "/base/out.log");
	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"unix\", \"path\": "
					    "\"s.sock\"}}"),
			 0);
	assert_int_equal(f->spec.serial.target, SERIAL_UNIX);
	assert_string_equal(f->spec.serial.path, "/base/s.sock");
	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"pty\"}}"), 0);
	assert_int_equal(f->spec.serial.target, SERIAL_PTY);
	assert_null(f->spec.serial.path);
	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"none\"}}"), 0);
	assert_int_equal(f->spec.serial.target, SERIAL_NONE);

	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"pty\", \"path\": "
					    "\"x\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "serial.path: only valid with target \"file\" or \"unix\", not "
			    "\"pty\"\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"serial\": {\"target\": \"unix\"}}"), -EINVAL);
	assert_diags(&f->d, "serial.path: required with target \"unix\"\n");
}

static void test_unix_path_length(void **state)
{
	struct fixture *f = *state;
	char json[512], path[200];

	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	snprintf(json, sizeof(json), MIN_LINUX ", \"control\": {\"path\": \"%s\"}}", path);
	assert_int_equal(parse(f, json), -EINVAL);
	assert_int_equal(f->d.nr, 1);
	assert_string_equal(f->d.entries[0].path, "control.path");
	assert_non_null(strstr(f->d.entries[0].msg, "is too long for a unix socket (205 bytes, "
						    "at most 107)"));

	assert_int_equal(parse(f, MIN_LINUX ", \"control\": {\"path\": \"vm.sock\"}}"), 0);
	assert_string_equal(f->spec.control.path, "/base/vm.sock");
	assert_int_equal(parse(f, MIN_LINUX ", \"control\": {}}"), -EINVAL);
	assert_diags(&f->d, "control.path: required\n");
}

static void test_disks(void **state)
{
	struct fixture *f = *state;
	struct disk_spec *dk;

	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"path\": \"a.img\"}, "
					    "{\"path\": \"b.vmdk\", \"format\": \"vmdk\", \"bus\": "
					    "\"ahci\", \"readonly\": true, \"cache\": \"none\", "
					    "\"serial\": \"SN-42\"}, {\"path\": \"c.iso\", "
					    "\"cdrom\": true}]}"),
			 0);
	assert_int_equal(f->spec.nr_disks, 3);
	dk = &f->spec.disks[0];
	assert_string_equal(dk->path, "/base/a.img");
	assert_int_equal(dk->format, DISK_FORMAT_AUTO);
	assert_int_equal(dk->bus, DISK_BUS_VIRTIO);
	assert_int_equal(dk->cache, DISK_CACHE_WRITEBACK);
	assert_false(dk->readonly);
	assert_false(dk->cdrom);
	assert_null(dk->serial);
	dk = &f->spec.disks[1];
	assert_int_equal(dk->format, DISK_FORMAT_VMDK);
	assert_int_equal(dk->bus, DISK_BUS_AHCI);
	assert_int_equal(dk->cache, DISK_CACHE_NONE);
	assert_true(dk->readonly);
	assert_string_equal(dk->serial, "SN-42");
	dk = &f->spec.disks[2];
	assert_true(dk->cdrom);
	assert_true(dk->readonly);
	assert_int_equal(dk->bus, DISK_BUS_AHCI);

	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"cdrom\": true, \"bus\": \"virtio\", "
					    "\"readonly\": false, \"serial\": "
					    "\"123456789012345678901\", \"cache\": \"unsafe\"}]}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "disks[0].readonly: a CD-ROM is always read-only\n"
		     "disks[0].cache: expected \"writeback\", \"writethrough\" or \"none\", got "
		     "\"unsafe\"\n"
		     "disks[0].bus: a CD-ROM needs bus \"ahci\"\n"
		     "disks[0].serial: must be 1..20 printable ASCII characters, got "
		     "\"123456789012345678901\"\n"
		     "disks[0].path: required\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": {}}"), -EINVAL);
	assert_diags(&f->d, "disks: expected an array, got an object\n");
}

static void test_nics(void **state)
{
	struct fixture *f = *state;
	static const u8 mac56[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	static const u8 mac57[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 };
	static const u8 mac58[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x58 };

	/* The explicit MAC of nics[1] is the default nics[0] would get: the default moves on. */
	assert_int_equal(parse(f, MIN_LINUX ", \"nics\": [{}, {\"backend\": \"tap\", \"tap\": "
					    "\"tap0\", \"model\": \"e1000\", \"mac\": "
					    "\"52:54:00:12:34:56\"}, {}]}"),
			 0);
	assert_int_equal(f->spec.nr_nics, 3);
	assert_int_equal(f->spec.nics[0].backend, NIC_BACKEND_USER);
	assert_int_equal(f->spec.nics[0].model, NIC_MODEL_VIRTIO);
	assert_false(f->spec.nics[0].mac_set);
	assert_memory_equal(f->spec.nics[0].mac, mac57, 6);
	assert_int_equal(f->spec.nics[1].backend, NIC_BACKEND_TAP);
	assert_int_equal(f->spec.nics[1].model, NIC_MODEL_E1000);
	assert_string_equal(f->spec.nics[1].tap, "tap0");
	assert_true(f->spec.nics[1].mac_set);
	assert_memory_equal(f->spec.nics[1].mac, mac56, 6);
	assert_memory_equal(f->spec.nics[2].mac, mac58, 6);

	assert_int_equal(parse(f,
			       MIN_LINUX ", \"nics\": [{\"mac\": \"02:00:00:00:00:01\"}, "
					 "{\"mac\": \"02:00:00:00:00:01\", \"tap\": \"t\"}, "
					 "{\"mac\": \"01:00:5e:00:00:01\"}, {\"backend\": \"tap\"},"
					 "{\"backend\": \"tap\", \"tap\": \"a/b\"}, {\"mac\": "
					 "\"52:54:00:12:34\"}]}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "nics[1].tap: only valid with backend \"tap\"\n"
		     "nics[2].mac: 01:00:5e:00:00:01 is a multicast address (bit 0 of the first "
		     "octet is set)\n"
		     "nics[3].tap: required with backend \"tap\"\n"
		     "nics[4].tap: not a valid interface name: \"a/b\" (1..15 characters, no '/', "
		     "':' or blanks)\n"
		     "nics[5].mac: expected a MAC address like \"52:54:00:12:34:56\", got "
		     "\"52:54:00:12:34\"\n"
		     "nics[1].mac: 02:00:00:00:00:01 is already used by another NIC\n");

	/* The back-end and queue keys: defaults, values, and where each belongs. */
	assert_int_equal(parse(f, MIN_LINUX
			       ", \"nics\": [{\"hostfwd\": [\"tcp:127.0.0.1:2222-:22\", "
			       "\"udp::5353-10.0.2.16:53\", \"::8080-:80\"], \"dns\": false, "
			       "\"restrict\": true, \"mtu\": 65520}, {\"backend\": \"tap\", "
			       "\"tap\": \"t0\", \"queues\": 4, \"mtu\": 9000}]}"),
			 0);
	assert_int_equal(f->spec.nics[0].queues, 1);
	assert_false(f->spec.nics[0].dns);
	assert_true(f->spec.nics[0].restrict_out);
	assert_int_equal(f->spec.nics[0].mtu, 65520);
	assert_int_equal(f->spec.nics[0].nr_hostfwd, 3);
	assert_false(f->spec.nics[0].hostfwd[0].udp);
	assert_int_equal(f->spec.nics[0].hostfwd[0].host_addr, 0x7f000001);
	assert_int_equal(f->spec.nics[0].hostfwd[0].host_port, 2222);
	assert_int_equal(f->spec.nics[0].hostfwd[0].guest_addr, 0);
	assert_int_equal(f->spec.nics[0].hostfwd[0].guest_port, 22);
	assert_true(f->spec.nics[0].hostfwd[1].udp);
	assert_int_equal(f->spec.nics[0].hostfwd[1].guest_addr, 0x0a000210);
	assert_string_equal(f->spec.nics[0].hostfwd[2].rule, "::8080-:80");
	assert_int_equal(f->spec.nics[1].queues, 4);
	assert_true(f->spec.nics[1].dns); /* the default, unused by a tap */
	assert_int_equal(
		parse(f, MIN_LINUX
		      ", \"nics\": [{\"hostfwd\": [\"tcp:1.2.3:22-:22\", "
		      "\"tcp::0-:22\", \"::22\", \"tcp::80-:80\", \"tcp:127.0.0.1:80-:81\"]}, "
		      "{\"model\": \"e1000\", \"queues\": 2, \"mtu\": 20000}, "
		      "{\"queues\": 2}, {\"backend\": \"tap\", \"tap\": \"t\", "
		      "\"dns\": true, \"restrict\": false, \"hostfwd\": []}, "
		      "{\"queues\": 8, \"mtu\": 67}]}"),
		-EINVAL);
	assert_diags(&f->d,
		     "nics[0].hostfwd[0]: expected \"[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:"
		     "GUESTPORT\" (IPv4, ports 1..65535), got \"tcp:1.2.3:22-:22\"\n"
		     "nics[0].hostfwd[1]: expected \"[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:"
		     "GUESTPORT\" (IPv4, ports 1..65535), got \"tcp::0-:22\"\n"
		     "nics[0].hostfwd[2]: expected \"[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:"
		     "GUESTPORT\" (IPv4, ports 1..65535), got \"::22\"\n"
		     "nics[0].hostfwd[4]: host port tcp 80 is forwarded twice\n"
		     "nics[1].queues: model \"e1000\" has one queue; several need model "
		     "\"virtio\"\n"
		     "nics[1].mtu: must be 68..16110, got 20000\n"
		     "nics[2].queues: backend \"user\" has one queue; several need backend \"tap\" "
		     "(a multi_queue TAP)\n"
		     "nics[3].hostfwd: only valid with backend \"user\"\n"
		     "nics[3].dns: only valid with backend \"user\"\n"
		     "nics[3].restrict: only valid with backend \"user\"\n"
		     "nics[4].queues: must be 1..7, got 8\n"
		     "nics[4].mtu: must be 68..65520, got 67\n");

	/* A user NIC's network: NIC i on 10.0.(2 + i).0/24 unless given (a tap has none). */
	assert_int_equal(parse(f, MIN_LINUX ", \"nics\": [{}, {\"model\": \"e1000\"}, "
					    "{\"backend\": \"tap\", \"tap\": \"t0\"}, {}, "
					    "{\"net\": \"192.168.64.0/18\"}]}"),
			 0);
	assert_int_equal(f->spec.nics[0].net, 0x0a000200);
	assert_int_equal(f->spec.nics[0].net_prefix, 24);
	assert_int_equal(f->spec.nics[1].net, 0x0a000300);
	assert_int_equal(f->spec.nics[2].net_prefix, 0);
	assert_int_equal(f->spec.nics[3].net, 0x0a000500);
	assert_int_equal(f->spec.nics[4].net, 0xc0a84000);
	assert_int_equal(f->spec.nics[4].net_prefix, 18);
	assert_int_equal(parse(f,
			       MIN_LINUX ", \"nics\": [{\"net\": \"10.0.3.1/24\"}, "
					 "{\"net\": \"10.0.3.0/25\"}, {\"net\": \"10.0.3.0\"}, "
					 "{\"net\": \"10.0.3/24\"}, {\"net\": 5}, "
					 "{\"backend\": \"tap\", \"tap\": \"t0\", "
					 "\"net\": \"10.0.3.0/24\"}, {\"hostfwd\": "
					 "[\"::2222-10.0.8.15:22\", \"::2223-10.0.2.15:22\"]}]}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "nics[0].net: 10.0.3.1/24 has host bits set: the network is 10.0.3.0/24\n"
		     "nics[1].net: the prefix must be 8..24 bits, got /25\n"
		     "nics[2].net: expected a network like \"10.0.3.0/24\", got \"10.0.3.0\"\n"
		     "nics[3].net: expected a network like \"10.0.3.0/24\", got \"10.0.3/24\"\n"
		     "nics[4].net: expected a string, got an integer\n"
		     "nics[5].net: only valid with backend \"user\"\n"
		     "nics[6].hostfwd[1]: guest address 10.0.2.15 is not on the NIC's network "
		     "10.0.8.0/24\n");
	(void)mac56;
}

static void test_display(void **state)
{
	struct fixture *f = *state;

	f->flags = SPEC_ALLOW_UNBUILT; /* the display checks, ready for when it lands */
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\"}}"), 0);
	assert_int_equal(f->spec.display.type, DISPLAY_VNC);
	assert_string_equal(f->spec.display.listen_host, "127.0.0.1");
	assert_int_equal(f->spec.display.listen_port, 5900);
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\", \"listen\": "
					    "\"[::1]:5901\"}}"),
			 0);
	assert_string_equal(f->spec.display.listen_host, "::1");
	assert_int_equal(f->spec.display.listen_port, 5901);
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\", \"listen\": "
					    "\"localhost:5902\"}}"),
			 0);
	assert_string_equal(f->spec.display.listen_host, "localhost");

	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\", \"listen\": "
					    "\"127.0.0.1:70000\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "display.listen: expected \"host:port\" like \"127.0.0.1:5900\", "
			    "\"[::1]:5900\" or \"unix:PATH\", got \"127.0.0.1:70000\"\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\", \"listen\": "
					    "\"::1:5900\"}}"),
			 -EINVAL);
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\", \"listen\": "
					    "\"[zz]:5900\"}}"),
			 -EINVAL);
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"listen\": \"1.2.3.4:1\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "display.listen: only valid with type \"vnc\"\n");
}

/* The sections this build cannot run are refused by default: none are left. */
static void test_unbuilt_refused(void **state)
{
	struct fixture *f = *state;
	const char *const *keys = spec_unbuilt_keys();

	/* Nothing is refused in this build: NICs, the display and the control socket run. */
	assert_null(keys[0]);
	assert_int_equal(parse(f, MIN_LINUX ", \"display\": {\"type\": \"vnc\"}}"), 0);
	assert_int_equal(parse(f, MIN_LINUX ", \"control\": {\"path\": \"vm.sock\"}}"), 0);
	/* Their own checks still apply, each named. */
	assert_int_equal(parse(f, MIN_LINUX ", \"control\": {}, \"display\": 1, \"nics\": "
					    "[{\"mac\": \"x\"}]}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "nics[0].mac: expected a MAC address like \"52:54:00:12:34:56\", got \"x\"\n"
		     "display: expected an object, got an integer\n"
		     "control.path: required\n");
	/* NICs are built: --set reaches them like the file; an empty nics array is none. */
	{
		const char *sets[] = { "nics[0].model=e1000" };

		assert_int_equal(parse_sets(f, MIN_LINUX "}", sets, 1), 0);
		assert_int_equal(f->spec.nr_nics, 1);
		assert_int_equal(f->spec.nics[0].model, NIC_MODEL_E1000);
	}
	assert_int_equal(parse(f, MIN_LINUX ", \"nics\": []}"), 0);
	assert_int_equal(f->spec.nr_nics, 0);
}

/* boot_index and firmware_log: the firmware's, ranged, unique. */
static void test_firmware_keys(void **state)
{
	struct fixture *f = *state;

#define FW "{\"boot\": {\"firmware\": \"bios.bin\"}"
	assert_int_equal(parse(f, FW
			       ", \"disks\": [{\"path\": \"a\", \"boot_index\": 3}, "
			       "{\"path\": \"b\"}, {\"path\": \"c\", \"boot_index\": 0, "
			       "\"bus\": \"ahci\"}], \"debug\": {\"firmware_log\": \"fw.log\"}}"),
			 0);
	assert_true(f->spec.disks[0].has_boot_index);
	assert_int_equal(f->spec.disks[0].boot_index, 3);
	assert_false(f->spec.disks[1].has_boot_index);
	assert_int_equal(f->spec.disks[2].boot_index, 0);
	assert_string_equal(f->spec.debug.firmware_log, "/base/fw.log");
	assert_int_equal(parse(f, FW ", \"disks\": [{\"path\": \"a\", \"boot_index\": 1}, "
				     "{\"path\": \"b\", \"boot_index\": 1}]}"),
			 -EINVAL);
	assert_diags(&f->d, "disks[1].boot_index: 1 is also disks[0]'s boot_index\n");
	assert_int_equal(parse(f, FW ", \"disks\": [{\"path\": \"a\", \"boot_index\": 256}]}"),
			 -EINVAL);
	assert_diags(&f->d, "disks[0].boot_index: must be 0..255, got 256\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"path\": \"a\", \"boot_index\": 0}], "
					    "\"debug\": {\"firmware_log\": \"x\"}}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "debug.firmware_log: only valid with boot.firmware (the firmware's debug "
		     "port)\n"
		     "disks[0].boot_index: only valid with boot.firmware (the firmware follows "
		     "the boot order; boot.kernel does not boot from disks)\n");
	/* With firmware, fw_cfg's ports and the debug port are the board's. */
	assert_int_equal(parse(f, FW ", \"debug\": {\"exit_port\": \"0x518\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0x518 is the firmware configuration ports (fw_cfg, "
			    "with boot.firmware or debug.fw_cfg); pick a free port such as 0xf4\n");
	assert_int_equal(parse(f, FW ", \"debug\": {\"exit_port\": \"0x400\"}}"), -EINVAL);
	assert_diags(&f->d,
		     "debug.exit_port: ports 0x400-0x403 (the device takes 4) overlap the "
		     "firmware debug port (with boot.firmware); pick a free port such as 0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x400\"}}"), 0);
	/* the chipset */
	assert_int_equal(parse(f, FW "}"), 0);
	assert_int_equal(f->spec.machine, SPEC_MACHINE_PC);
	assert_int_equal(parse(f, FW ", \"machine\": \"q35\"}"), 0);
	assert_int_equal(f->spec.machine, SPEC_MACHINE_Q35);
	assert_string_equal(spec_machine_name(f->spec.machine), "q35");
	assert_int_equal(parse(f, FW ", \"machine\": \"isapc\"}"), -EINVAL);
#undef FW
}

/* The disks must fit the board; an image attached twice must be read-only both times. */
static void test_disk_limits(void **state)
{
	struct fixture *f = *state;
	char json[4096];
	size_t o;

	o = (size_t)snprintf(json, sizeof(json), MIN_LINUX ", \"disks\": [");
	for (unsigned i = 0; i < SPEC_AHCI_DISKS_MAX + 1; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o,
				      "%s{\"path\": \"d%u\", \"bus\": "
				      "\"ahci\"}",
				      i ? ", " : "", i);
	snprintf(json + o, sizeof(json) - o, "]}");
	assert_int_equal(parse(f, json), -EINVAL);
	assert_diags(&f->d, "disks[6]: at most 6 disks on bus \"ahci\" (the AHCI controller's "
			    "ports)\n");

	/* 29 virtio disks and the AHCI controller take the 30 slots; one more does not fit. */
	o = (size_t)snprintf(json, sizeof(json),
			     MIN_LINUX ", \"disks\": [{\"path\": \"c\", "
				       "\"cdrom\": true}");
	for (unsigned i = 0; i < SPEC_PCI_DISK_SLOTS - 1; i++)
		o += (size_t)snprintf(json + o, sizeof(json) - o, ", {\"path\": \"v%u\"}", i);
	snprintf(json + o, sizeof(json) - o, "]}");
	assert_int_equal(parse(f, json), 0);
	assert_int_equal(f->spec.nr_disks, SPEC_PCI_DISK_SLOTS);
	snprintf(json + o, sizeof(json) - o, ", {\"path\": \"w\"}]}");
	assert_int_equal(parse(f, json), -EINVAL);
	assert_diags(&f->d, "disks: 30 virtio disks and the AHCI controller need 31 PCI slots; the "
			    "board has 30 for disks\n");

	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"path\": \"a.img\"}, {\"path\": "
					    "\"b.img\"}, {\"path\": \"./a.img\", \"bus\": "
					    "\"ahci\"}]}"),
			 -EINVAL);
	assert_diags(&f->d, "disks[2].path: the same image as disks[0]; an image can be attached "
			    "twice only when both are read-only\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"path\": \"a.iso\", \"cdrom\": true}, "
					    "{\"path\": \"a.iso\", \"readonly\": true}]}"),
			 0);
	assert_int_equal(parse(f, MIN_LINUX ", \"disks\": [{\"path\": \"a.iso\", \"cdrom\": true}, "
					    "{\"path\": \"a.iso\"}]}"),
			 -EINVAL);
	assert_diags(&f->d, "disks[1].path: the same image as disks[0]; an image can be attached "
			    "twice only when both are read-only\n");
}

static void test_debug_exit_port(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0xf4\", "
					    "\"test_device\": true}}"),
			 0);
	assert_true(f->spec.debug.has_exit_port);
	assert_int_equal(f->spec.debug.exit_port, 0xf4);
	assert_true(f->spec.debug.test_device);
	assert_int_equal(f->spec.debug.exit_code_style, SPEC_EXIT_CODE_VMM);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": 1281}}"), 0);
	assert_int_equal(f->spec.debug.exit_port, 0x501);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": 1281, "
					    "\"exit_code_style\": \"qemu\"}}"),
			 0);
	assert_int_equal(f->spec.debug.exit_code_style, SPEC_EXIT_CODE_QEMU);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_code_style\": \"vmm\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "debug.exit_code_style: needs debug.exit_port (the port the guest "
			    "writes its status to)\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": 1281, "
					    "\"exit_code_style\": \"QEMU\"}}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "debug.exit_code_style: expected \"vmm\" or \"qemu\", got \"QEMU\" (did "
		     "you mean \"qemu\"?)\n");

	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0xcf9\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0xcf9 is the reset control register; pick a free "
			    "port such as 0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": 1540}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0x604 is the ACPI PM block; pick a free port such as "
			    "0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"65533\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: must be 0..0xfffc (the device takes 4 ports), got "
			    "0xfffd\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0xfffc\"}}"), 0);
	/* The device's 4 ports must all be free: 0x5d-0x60 covers the i8042 data port. */
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x5d\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: ports 0x5d-0x60 (the device takes 4) overlap the "
			    "i8042 data port; pick a free port such as 0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x5c\"}}"), 0);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x61\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0x61 is port B (PIT gate and NMI status); pick a "
			    "free port such as 0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x4ce\"}}"), -EINVAL);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x624\"}}"), -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0x624 is the ACPI GPE0 block; pick a free port "
			    "such as 0xf4\n");
	/* The test device's window is taken only when the test device is there. */
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x530\"}}"), 0);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"exit_port\": \"0x530\", "
					    "\"test_device\": true}}"),
			 -EINVAL);
	assert_diags(&f->d, "debug.exit_port: 0x530 is the test device (debug.test_device); pick "
			    "a free port such as 0xf4\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"test_device\": 1}}"), -EINVAL);
	assert_diags(&f->d, "debug.test_device: expected true or false, got an integer\n");
}

/* "cpu": the named model, features added and removed, every refusal by name. */
static void test_cpu_model(void **state)
{
	struct fixture *f = *state;
	const struct cpu_model *m = &f->spec.cpu.model;
	const char *sets[] = { "cpu.features.pcid=false" };

	assert_int_equal(parse(f, MIN_LINUX "}"), 0);
	assert_false(f->spec.cpu.set);
	/* Only features: the default model with them. */
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"features\": {\"x2apic\": false, "
					    "\"umip\": false}}}"),
			 0);
	assert_true(f->spec.cpu.set);
	assert_string_equal(m->name, CPU_MODEL_DEFAULT);
	assert_false(cpu_model_has(m, CPU_F_X2APIC));
	assert_false(cpu_model_has(m, CPU_F_UMIP));
	assert_true(cpu_model_has(m, CPU_F_XSAVE));
	/* A model gaining a feature it lacks; --set reaches the features too. */
	assert_int_equal(parse_sets(f,
				    MIN_LINUX ", \"cpu\": {\"model\": \"k8\", \"features\": "
					      "{\"popcnt\": true, \"pcid\": true}}}",
				    sets, 1),
			 0);
	assert_int_equal(m->vendor, CPU_VENDOR_AMD);
	assert_int_equal(cpu_model_family(m), 0xf);
	assert_true(cpu_model_has(m, CPU_F_POPCNT));
	assert_false(cpu_model_has(m, CPU_F_PCID));
	assert_false(cpu_model_has(m, CPU_F_SSSE3));
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"model\": \"icelake\"}}"), 0);
	assert_int_equal(m->vendor, CPU_VENDOR_INTEL);
	assert_true(cpu_model_has(m, CPU_F_ARCH_CAPABILITIES));
	/* Refusals. */
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"model\": \"epic\"}}"), -EINVAL);
	assert_diags(&f->d, "cpu.model: expected \"k8\", \"x86-64-v2\", \"epyc\" or \"icelake\", "
			    "got \"epic\" (did you mean \"epyc\"?)\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"features\": {\"avx3\": true, "
					    "\"vmx\": true, \"vmx\": false}}}"),
			 -EINVAL);
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"features\": {\"avx3\": true, "
					    "\"vmx\": true, \"mmx\": \"yes\"}}}"),
			 -EINVAL);
	assert_diags(&f->d, "cpu.features.avx3: unknown key (did you mean \"avx\"?)\n"
			    "cpu.features.vmx: CPU feature vmx is not supported by this build yet\n"
			    "cpu.features.mmx: expected true or false, got a string\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"model\": \"x86-64-v2\", "
					    "\"features\": {\"apic\": false}}}"),
			 -EINVAL);
	assert_diags(&f->d, "cpu: CPU model x86-64-v2 with these features cannot run: x2apic needs "
			    "apic\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"cpu\": {\"features\": []}}"), -EINVAL);
	assert_diags(&f->d, "cpu.features: expected an object, got an array\n");
}

static void test_debug_state_roundtrip(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, MIN_LINUX "}"), 0);
	assert_int_equal(f->spec.debug.state_roundtrip_ms, 0);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"state_roundtrip_ms\": 50}}"), 0);
	assert_int_equal(f->spec.debug.state_roundtrip_ms, 50);
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"state_roundtrip_ms\": 0}}"), -EINVAL);
	assert_diags(&f->d, "debug.state_roundtrip_ms: must be 1..3600000, got 0\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"debug\": {\"state_roundtrip_ms\": 3600001}}"),
			 -EINVAL);
	assert_diags(&f->d, "debug.state_roundtrip_ms: must be 1..3600000, got 3600001\n");
}

static void test_name_rules(void **state)
{
	struct fixture *f = *state;
	char json[256];

	assert_int_equal(parse(f, MIN_LINUX ", \"name\": \"web-01.prod_a\"}"), 0);
	assert_string_equal(f->spec.name, "web-01.prod_a");
	snprintf(json, sizeof(json), MIN_LINUX ", \"name\": \"%064d\"}", 0);
	assert_int_equal(parse(f, json), -EINVAL);
	assert_diags(&f->d, "name: must be 1..63 characters, got 64\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"name\": \"a b\"}"), -EINVAL);
	assert_diags(&f->d,
		     "name: invalid character ' ' in \"a b\" (allowed: A-Z a-z 0-9 . _ -)\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"name\": \"caf\\u00e9\"}"), -EINVAL);
	assert_diags(&f->d,
		     "name: invalid byte 0xc3 in \"caf\\xc3\\xa9\" (allowed: A-Z a-z 0-9 . _ "
		     "-)\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"name\": \"\"}"), -EINVAL);
	assert_diags(&f->d, "name: must be 1..63 characters, got 0\n");
}

static void test_types_and_limits(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, MIN_LINUX ", \"vcpus\": 255, \"memory_mib\": 1048576}"), 0);
	assert_int_equal(f->spec.vcpus, 255);
	assert_int_equal(f->spec.memory_mib, 1048576);
	assert_int_equal(parse(f, MIN_LINUX ", \"vcpus\": 256, \"memory_mib\": 1048577}"), -EINVAL);
	assert_diags(&f->d, "vcpus: must be 1..255, got 256\nmemory_mib: must be 1..1048576, got "
			    "1048577\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"vcpus\": -1, \"memory_mib\": 2.0, \"accel\": 1}"),
			 -EINVAL);
	assert_diags(&f->d, "vcpus: must be 1..255, got -1\n"
			    "memory_mib: expected an integer, got a fractional number\n"
			    "accel: expected a string, got an integer\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"vcpus\": null, \"name\": true, \"nics\": [1]}"),
			 -EINVAL);
	assert_diags(&f->d, "name: expected a string, got a boolean\n"
			    "vcpus: expected an integer, got null\n"
			    "nics[0]: expected an object, got an integer\n");
	assert_int_equal(parse(f, "[1, 2]"), -EINVAL);
	assert_diags(&f->d, "spec: expected an object, got an array\n");
}

static void test_unknown_keys_suggest(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f,
			       "{\"boot\": {\"kernal\": \"k\", \"kernel\": \"k\"}, \"VCPUS\": 2, "
			       "\"memory\": 1, \"zzzzzz\": 0, \"disks\": [{\"path\": \"a\", "
			       "\"readOnly\": true}], \"serial\": {\"taget\": \"pty\"}}"),
			 -EINVAL);
	assert_diags(&f->d, "VCPUS: unknown key (did you mean \"vcpus\"?)\n"
			    "memory: unknown key\n"
			    "zzzzzz: unknown key\n"
			    "boot.kernal: unknown key (did you mean \"kernel\"?)\n"
			    "serial.taget: unknown key (did you mean \"target\"?)\n"
			    "disks[0].readOnly: unknown key (did you mean \"readonly\"?)\n");
	assert_int_equal(parse(f, MIN_LINUX ", \"accel\": \"KVM\", \"on_reset\": \"reboot\"}"),
			 -EINVAL);
	assert_diags(&f->d,
		     "accel: expected \"auto\", \"kvm\" or \"bt\", got \"KVM\" (did you mean "
		     "\"kvm\"?)\n"
		     "on_reset: expected \"restart\" or \"exit\", got \"reboot\"\n");
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(parse(f, "{\"vcpus\": 1,\n  \"boot\": {\"kernel\" \"k\"}}"), -EINVAL);
	assert_diags(&f->d, "line 2, column 23: ':' expected near '\"k\"'\n");
	assert_int_equal(parse(f, "{\"vcpus\": 1, \"vcpus\": 2}"), -EINVAL);
	assert_int_equal(f->d.nr, 1);
	assert_non_null(strstr(f->d.entries[0].msg, "duplicate object key"));
	assert_int_equal(parse(f, ""), -EINVAL);
	assert_int_equal(f->d.nr, 1);
}

static void test_diag_limit(void **state)
{
	struct fixture *f = *state;
	size_t size = 16 + (DIAG_MAX + 10) * 16, o = 0;
	char *json = malloc(size), *text;

	assert_non_null(json);
	o += (size_t)snprintf(json + o, size - o, "{");
	for (unsigned i = 0; i < DIAG_MAX + 10; i++)
		o += (size_t)snprintf(json + o, size - o, "\"k%u\": 0, ", i);
	snprintf(json + o, size - o, "\"boot\": 0}");
	assert_int_equal(parse(f, json), -EINVAL);
	assert_int_equal(f->d.nr, DIAG_MAX);
	assert_int_equal(f->d.dropped, 11); /* 10 keys over the limit and boot's type */
	text = diag_text(&f->d);
	assert_non_null(strstr(text, "k0: unknown key\nk1: unknown key\n"));
	assert_non_null(strstr(text, "\n(11 more problems not shown)\n"));
	free(text);
	free(json);
}

static void test_set_overrides(void **state)
{
	struct fixture *f = *state;
	const char *sets[] = {
		"memory_mib=1024",
		"boot.cmdline=quiet console=ttyS0",
		"disks[0].path=a.img",
		"disks[0].readonly=true",
		"disks[1]={\"path\": \"b.img\", \"bus\": \"ahci\"}",
		"serial={\"target\": \"pty\"}",
		"name=\"007\"",
		"vcpus=null",
		"display.type=vnc",
		"nics[0].mac=52:54:00:aa:bb:cc",
	};

	f->flags = SPEC_ALLOW_UNBUILT;
	assert_int_equal(
		parse_sets(f, MIN_LINUX ", \"vcpus\": 8, \"name\": \"x\"}", sets, ARRAY_SIZE(sets)),
		0);
	assert_int_equal(f->spec.memory_mib, 1024);
	assert_string_equal(f->spec.boot.cmdline, "quiet console=ttyS0");
	assert_int_equal(f->spec.nr_disks, 2);
	assert_string_equal(f->spec.disks[0].path, "/base/a.img");
	assert_true(f->spec.disks[0].readonly);
	assert_string_equal(f->spec.disks[1].path, "/base/b.img");
	assert_int_equal(f->spec.disks[1].bus, DISK_BUS_AHCI);
	assert_int_equal(f->spec.serial.target, SERIAL_PTY);
	assert_string_equal(f->spec.name, "007");
	assert_int_equal(f->spec.vcpus, 1); /* null removed it: the default */
	assert_int_equal(f->spec.display.type, DISPLAY_VNC);
	assert_int_equal(f->spec.nics[0].mac[3], 0xaa);
	assert_int_equal(f->spec.nics[0].mac[5], 0xcc);

	/* A value that parses as JSON but has the wrong type gets the normal message. */
	{
		const char *bad[] = { "vcpus=\"2\"", "boot.kernel=null" };

		assert_int_equal(parse_sets(f, MIN_LINUX "}", bad, 2), -EINVAL);
		assert_diags(&f->d, "vcpus: expected an integer, got a string\n"
				    "boot: exactly one of \"kernel\", \"multiboot\", \"flat\" or "
				    "\"firmware\" is needed, got none\n");
	}
	/* Replacing and removing array entries. */
	{
		const char *arr[] = { "disks[0].path=x", "disks[1].path=y", "disks[0]=null" };

		assert_int_equal(parse_sets(f, MIN_LINUX "}", arr, 3), 0);
		assert_int_equal(f->spec.nr_disks, 1);
		assert_string_equal(f->spec.disks[0].path, "/base/y");
	}
}

static void test_set_errors(void **state)
{
	struct fixture *f = *state;
	const char *sets[] = {
		"novalue",	   "=1",	"a..b=1", "disks[x]=1", "disks[0=1",
		"disks[2].path=a", "vcpus.x=1", "[0]=1",  "boot[0]=1",	"disks[0]=null",
	};

	assert_int_equal(parse_sets(f, MIN_LINUX ", \"vcpus\": 2}", sets, ARRAY_SIZE(sets)),
			 -EINVAL);
	assert_diags(
		&f->d,
		"--set: expected key=value, got \"novalue\"\n"
		"--set: expected key=value, got \"=1\"\n"
		"--set: bad key \"a..b\" (expected names joined by '.', with [N] indexes)\n"
		"--set: bad key \"disks[x]\" (expected names joined by '.', with [N] indexes)\n"
		"--set: bad key \"disks[0\" (expected names joined by '.', with [N] indexes)\n"
		"--set: disks[2]: index out of range (the array's length is 0; [0] appends)\n"
		"--set: vcpus is a single value, not an object\n"
		"--set: bad key \"[0]\" (expected names joined by '.', with [N] indexes)\n"
		"--set: boot is an object, not an array\n"
		"--set: disks[0]: index out of range (the array's length is 0; [0] appends)\n");
}

/* Make a private folder with files for the SPEC_CHECK_FILES and spec_load tests. */
static char *make_tmpdir(void)
{
	char tmpl[] = "/tmp/test_spec.XXXXXX", *dir = mkdtemp(tmpl);
	char *real;

	assert_non_null(dir);
	real = realpath(dir, NULL);
	assert_non_null(real);
	return real;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void remove_tree(const char *dir, const char *const *names, unsigned nr)
{
	char path[PATH_MAX];

	for (unsigned i = 0; i < nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		remove(path);
	}
	rmdir(dir);
}

static void test_check_files_and_load(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "vm.json", "vmlinuz", "sub", "syntax.json" };
	char *dir = make_tmpdir(), path[PATH_MAX], expect[PATH_MAX * 2];
	int ret;

	write_file(dir, "vmlinuz", "kernel");
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	write_file(dir, "vm.json",
		   "{\"boot\": {\"kernel\": \"vmlinuz\", \"initrd\": \"initrd.img\"}, "
		   "\"disks\": [{\"path\": \"sub\"}]}");
	snprintf(path, sizeof(path), "%s/vm.json", dir);

	/* Without SPEC_CHECK_FILES the files need not exist; paths resolve against dir. */
	ret = spec_load(path, NULL, 0, 0, &f->spec, &f->d);
	assert_int_equal(ret, 0);
	f->parsed = true;
	snprintf(expect, sizeof(expect), "%s/vmlinuz", dir);
	assert_string_equal(f->spec.boot.image, expect);
	spec_free(&f->spec);
	f->parsed = false;

	ret = spec_load(path, NULL, 0, SPEC_CHECK_FILES, &f->spec, &f->d);
	assert_int_equal(ret, -EINVAL);
	snprintf(expect, sizeof(expect),
		 "boot.initrd: cannot open %s/initrd.img: No such file or directory\n"
		 "disks[0].path: cannot open %s/sub for writing: Is a directory\n",
		 dir, dir);
	assert_diags(&f->d, expect);
	diag_free(&f->d);

	{
		const char *ro[] = { "disks[0].readonly=true", "boot.initrd=null" };

		ret = spec_load(path, ro, 2, SPEC_CHECK_FILES, &f->spec, &f->d);
		assert_int_equal(ret, -EINVAL);
		snprintf(expect, sizeof(expect), "disks[0].path: %s/sub is not a regular file\n",
			 dir);
		assert_diags(&f->d, expect);
		diag_free(&f->d);
	}

	/* Every input file is checked, and a good one passes: modules, firmware, readonly disk. */
	{
		const char *mb[] = { "boot={\"multiboot\": \"vmlinuz\", \"modules\": [{\"path\": "
				     "\"vmlinuz\"}, {\"path\": \"nope\"}]}",
				     "disks[0]={\"path\": \"vmlinuz\", \"readonly\": true}" };
		const char *fw[] = { "boot={\"firmware\": \"sub\"}", "disks=[]" };

		ret = spec_load(path, mb, 2, SPEC_CHECK_FILES, &f->spec, &f->d);
		assert_int_equal(ret, -EINVAL);
		snprintf(expect, sizeof(expect),
			 "boot.modules[1].path: cannot open %s/nope: No such file or directory\n",
			 dir);
		assert_diags(&f->d, expect);
		diag_free(&f->d);
		ret = spec_load(path, fw, 2, SPEC_CHECK_FILES, &f->spec, &f->d);
		assert_int_equal(ret, -EINVAL);
		snprintf(expect, sizeof(expect), "boot.firmware: %s/sub is not a regular file\n",
			 dir);
		assert_diags(&f->d, expect);
		diag_free(&f->d);
		mb[0] = "boot.initrd=null";
		ret = spec_load(path, mb, 2, SPEC_CHECK_FILES, &f->spec, &f->d);
		assert_int_equal(ret, 0);
		assert_int_equal(f->d.nr, 0);
		snprintf(expect, sizeof(expect), "%s/vmlinuz", dir);
		assert_string_equal(f->spec.disks[0].path, expect);
		spec_free(&f->spec);
	}

	write_file(dir, "syntax.json", "{\n\"vcpus\": 1\n\"boot\": {}}");
	snprintf(path, sizeof(path), "%s/syntax.json", dir);
	assert_int_equal(spec_load(path, NULL, 0, 0, &f->spec, &f->d), -EINVAL);
	snprintf(expect, sizeof(expect), "%s: line 3, column 6: '}' expected near '\"boot\"'\n",
		 path);
	assert_diags(&f->d, expect);
	diag_free(&f->d);

	snprintf(path, sizeof(path), "%s/missing.json", dir);
	assert_int_equal(spec_load(path, NULL, 0, 0, &f->spec, &f->d), -ENOENT);
	snprintf(expect, sizeof(expect), "%s: cannot open: No such file or directory\n", path);
	assert_diags(&f->d, expect);

	remove_tree(dir, names, ARRAY_SIZE(names));
	free(dir);
}

/* With SPEC_CHECK_FILES an image attached twice is found through a symlink too, and a block
 * device (which the block layer cannot open) is refused before anything starts. */
static void test_check_files_image_identity(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "a.img", "link.img" };
	static const char *const blockdevs[] = { "/dev/loop0", "/dev/ram0", "/dev/vda", "/dev/sda",
						 "/dev/nvme0n1" };
	char *dir = make_tmpdir(), path[PATH_MAX], link[PATH_MAX], json[PATH_MAX * 3 + 256];
	const char *blockdev = NULL;
	struct stat st;

	write_file(dir, "a.img", "disk");
	snprintf(path, sizeof(path), "%s/a.img", dir);
	snprintf(link, sizeof(link), "%s/link.img", dir);
	assert_int_equal(symlink(path, link), 0);
	snprintf(json, sizeof(json),
		 "{\"boot\": {\"kernel\": \"%s\"}, \"disks\": [{\"path\": \"%s\"}, {\"path\": "
		 "\"%s\", \"bus\": \"ahci\"}]}",
		 path, path, link);
	assert_int_equal(spec_parse_string(json, dir, NULL, 0, 0, &f->spec, &f->d), 0);
	spec_free(&f->spec);
	assert_int_equal(spec_parse_string(json, dir, NULL, 0, SPEC_CHECK_FILES, &f->spec, &f->d),
			 -EINVAL);
	assert_diags(&f->d, "disks[1].path: the same image as disks[0]; an image can be attached "
			    "twice only when both are read-only\n");
	diag_free(&f->d);

	for (size_t i = 0; i < ARRAY_SIZE(blockdevs) && !blockdev; i++) {
		int fd = open(blockdevs[i], O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd >= 0 && !fstat(fd, &st) && S_ISBLK(st.st_mode))
			blockdev = blockdevs[i];
		if (fd >= 0)
			close(fd);
	}
	if (blockdev) {
		char expect[256];

		snprintf(json, sizeof(json),
			 "{\"boot\": {\"kernel\": \"%s\"}, \"disks\": [{\"path\": \"%s\", "
			 "\"readonly\": true}]}",
			 path, blockdev);
		assert_int_equal(
			spec_parse_string(json, dir, NULL, 0, SPEC_CHECK_FILES, &f->spec, &f->d),
			-EINVAL);
		snprintf(expect, sizeof(expect),
			 "disks[0].path: %s is a block device; this build opens only regular "
			 "files\n",
			 blockdev);
		assert_diags(&f->d, expect);
	} else {
		print_message("no readable block device here: the block device case is skipped\n");
	}
	remove_tree(dir, names, ARRAY_SIZE(names));
	free(dir);
}

static void test_relative_base_dir(void **state)
{
	struct fixture *f = *state;
	char cwd[PATH_MAX], expect[PATH_MAX + 32];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(spec_parse_string(MIN_LINUX "}", NULL, NULL, 0, 0, &f->spec, &f->d), 0);
	f->parsed = true;
	snprintf(expect, sizeof(expect), "%s/vmlinuz", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(f->spec.boot.image, expect);
	spec_free(&f->spec);
	assert_int_equal(spec_parse_string(MIN_LINUX "}", "guests", NULL, 0, 0, &f->spec, &f->d),
			 0);
	snprintf(expect, sizeof(expect), "%s/guests/vmlinuz", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(f->spec.boot.image, expect);
	spec_free(&f->spec);
	assert_int_equal(spec_parse_string(MIN_LINUX "}", "/", NULL, 0, 0, &f->spec, &f->d), 0);
	assert_string_equal(f->spec.boot.image, "/vmlinuz");
	spec_free(&f->spec);

	/* Leading ../ climbs an existing (canonical) base, and stops at the root. */
	assert_int_equal(spec_parse_string("{\"boot\": {\"kernel\": \"./../x/./k\", \"initrd\": "
					   "\"../../../../i\"}}",
					   "/tmp/", NULL, 0, 0, &f->spec, &f->d),
			 0);
	assert_string_equal(f->spec.boot.image, "/x/./k");
	assert_string_equal(f->spec.boot.initrd, "/i");
	spec_free(&f->spec);
	/* A base that does not exist may hide symlinks: ../ is kept for the kernel to walk. */
	assert_int_equal(spec_parse_string("{\"boot\": {\"kernel\": \"../k\"}}",
					   "/nonexistent-base", NULL, 0, 0, &f->spec, &f->d),
			 0);
	assert_string_equal(f->spec.boot.image, "/nonexistent-base/../k");
}

static void test_names_and_keys(void **state)
{
	const char *const *keys;

	(void)state;
	assert_string_equal(spec_accel_name(SPEC_ACCEL_BT), "bt");
	assert_string_equal(boot_kind_name(BOOT_FIRMWARE), "firmware");
	assert_string_equal(serial_target_name(SERIAL_UNIX), "unix");
	assert_string_equal(disk_cache_name(DISK_CACHE_WRITETHROUGH), "writethrough");
	assert_string_equal(nic_model_name(NIC_MODEL_E1000), "e1000");
	assert_string_equal(display_type_name(DISPLAY_VNC), "vnc");
	assert_string_equal(spec_on_triple_fault_name(SPEC_ON_TRIPLE_FAULT_RESET), "reset");
	assert_string_equal(spec_accel_name((enum spec_accel)7), "?");
	keys = spec_section_keys("");
	assert_non_null(keys);
	assert_string_equal(keys[0], "name");
	assert_non_null(spec_section_keys("disks[]"));
	assert_null(spec_section_keys("disks"));
	for (const char *const *s = spec_sections(); *s; s++)
		assert_non_null(spec_section_keys(*s));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_linux_full),
		T(test_multiboot_modules),
		T(test_flat_load_address),
		T(test_firmware_and_extras),
		T(test_firmware_with_kernel),
		T(test_boot_methods),
		T(test_cmdline_limit),
		T(test_serial_targets),
		T(test_unix_path_length),
		T(test_disks),
		T(test_nics),
		T(test_display),
		T(test_debug_exit_port),
		T(test_cpu_model),
		T(test_unbuilt_refused),
		T(test_disk_limits),
		T(test_firmware_keys),
		T(test_debug_state_roundtrip),
		T(test_name_rules),
		T(test_types_and_limits),
		T(test_unknown_keys_suggest),
		T(test_syntax_error),
		T(test_diag_limit),
		T(test_set_overrides),
		T(test_set_errors),
		T(test_check_files_and_load),
		T(test_check_files_image_identity),
		T(test_relative_base_dir),
		T(test_names_and_keys),
	};
#undef T
	return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
