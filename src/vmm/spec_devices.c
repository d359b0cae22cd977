// SPDX-License-Identifier: MIT
/*
 * The spec's device sections: disks, nics, display, control (spec.h), and the refusal of the
 * sections this build cannot run yet. Checks that come from specifications rather than taste:
 *  - disks: at most 6 on bus "ahci" (the AHCI controller's ports), at most 30 PCI functions
 *    for disks (slots 2..31 of bus 0): one per virtio disk, one for the AHCI controller; an
 *    image may be attached twice only when every attachment is read-only.
 *  - disks[].serial: at most 20 bytes (ATA8-ACS IDENTIFY DEVICE words 10-19; virtio 1.2
 *    section 5.2.6, VIRTIO_BLK_ID_BYTES).
 *  - nics[].mac: IEEE 802 MAC-48; the I/G bit (bit 0 of octet 0) must be 0 (unicast).
 *  - nics[].tap: a Linux interface name (IFNAMSIZ 16 with the NUL; no '/', ':', blanks).
 *  - control.path, display.listen "unix:PATH": unix socket paths that fit sun_path (unix(7)).
 *  - display.vram_mib: a power of two (the framebuffer BAR's size, PCI 3.0 6.2.5.1).
 */
#include "vmm/spec_internal.h"

#include "devices/ahci.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

_Static_assert(SPEC_AHCI_DISKS_MAX == AHCI_MAX_PORTS, "AHCI ports");

static const char *const disk_format_names[] = { "auto", "raw", "vmdk", NULL };
static const char *const disk_bus_names[] = { "virtio", "ahci", NULL };
static const char *const disk_cache_names[] = { "writeback", "writethrough", "none", NULL };
static const char *const nic_backend_names[] = { "user", "tap", NULL };
static const char *const nic_model_names[] = { "virtio", "e1000", NULL };
static const char *const display_type_names[] = { "none", "vnc", "headless", NULL };

const char *disk_format_name(enum disk_format f)
{
	return SPEC_ENUM_NAME(disk_format_names, f);
}

const char *disk_bus_name(enum disk_bus b)
{
	return SPEC_ENUM_NAME(disk_bus_names, b);
}

const char *disk_cache_name(enum disk_cache c)
{
	return SPEC_ENUM_NAME(disk_cache_names, c);
}

const char *nic_backend_name(enum nic_backend b)
{
	return SPEC_ENUM_NAME(nic_backend_names, b);
}

const char *nic_model_name(enum nic_model m)
{
	return SPEC_ENUM_NAME(nic_model_names, m);
}

const char *display_type_name(enum display_type t)
{
	return SPEC_ENUM_NAME(display_type_names, t);
}

/*
 * Sections this build validates but cannot run yet: a spec that gives one is refused. The
 * work that builds a section deletes its row (and docs/spec.md's, and tests/specs/keys.json's
 * "refused" entries become proofs of effect).
 */
static const struct {
	const char *key;
	const char *what; /* completes "KEY: ... not supported by this build yet" */
} spec_unbuilt[] = {
	{ NULL, NULL }, /* none in this build: every section it knows runs */
};

static const char *const spec_unbuilt_names[] = { NULL };

_Static_assert(ARRAY_SIZE(spec_unbuilt_names) == ARRAY_SIZE(spec_unbuilt), "unbuilt keys");

const char *const *spec_unbuilt_keys(void)
{
	return spec_unbuilt_names;
}

static void spec_parse_disk(struct spec_ctx *c, const json_t *o, const char *ipath,
			    struct disk_spec *dk)
{
	char kpath[SPEC_PATH_LEN];
	bool bus_set, ro_set = false;
	const char *serial;
	json_t *j;
	u64 v;

	dk->bus = DISK_BUS_VIRTIO;
	if (!spec_check_object(c, ipath, o, spec_section_keys("disks[]")))
		return;
	j = spec_member(o, ipath, "cdrom", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &dk->cdrom);
	j = spec_member(o, ipath, "readonly", kpath);
	if (j)
		ro_set = spec_get_bool(c, kpath, j, &dk->readonly);
	if (dk->cdrom && ro_set && !dk->readonly)
		spec_err(c, kpath, "a CD-ROM is always read-only");
	if (dk->cdrom) {
		dk->readonly = true;
		dk->bus = DISK_BUS_AHCI;
	}
	SPEC_GET_ENUM(c, o, ipath, "format", disk_format_names, &dk->format);
	SPEC_GET_ENUM(c, o, ipath, "cache", disk_cache_names, &dk->cache);
	bus_set = spec_member(o, ipath, "bus", kpath) != NULL;
	SPEC_GET_ENUM(c, o, ipath, "bus", disk_bus_names, &dk->bus);
	if (dk->cdrom && bus_set && dk->bus != DISK_BUS_AHCI)
		spec_err(c, kpath, "a CD-ROM needs bus \"ahci\"");

	j = spec_member(o, ipath, "serial", kpath);
	if (j && spec_get_string(c, kpath, j, &serial)) {
		size_t len = strlen(serial);
		bool printable = true;

		for (size_t i = 0; i < len; i++)
			printable &= serial[i] >= 0x20 && serial[i] < 0x7f;
		if (len < 1 || len > SPEC_DISK_SERIAL_MAX || !printable)
			spec_err(c, kpath, "must be 1..%u printable ASCII characters, got %s",
				 SPEC_DISK_SERIAL_MAX, SPEC_SHOW(serial));
		else
			dk->serial = spec_strdup(c, serial);
	}

	j = spec_member(o, ipath, "boot_index", kpath);
	if (j && spec_get_int_range(c, kpath, j, 0, SPEC_BOOT_INDEX_MAX, &v)) {
		dk->has_boot_index = true;
		dk->boot_index = (unsigned)v;
	}

	j = spec_member(o, ipath, "path", kpath);
	if (!j)
		spec_err(c, kpath, "required");
	dk->path = spec_get_path(c, kpath, j);
	if (dk->path)
		spec_check_file(c, kpath, dk->path, !dk->readonly);
}

/* Whether the disks fit the board (reported when not): AHCI ports and PCI slots. */
static bool spec_check_disk_slots(struct spec_ctx *c, const struct vm_spec *s)
{
	unsigned nr_ahci = 0, nr_virtio = 0;
	char kpath[SPEC_PATH_LEN];
	bool fits = true;

	for (unsigned i = 0; i < s->nr_disks; i++) {
		if (s->disks[i].bus == DISK_BUS_VIRTIO) {
			nr_virtio++;
			continue;
		}
		if (++nr_ahci == SPEC_AHCI_DISKS_MAX + 1) {
			spec_path_index(kpath, "disks", i);
			spec_err(c, kpath,
				 "at most %u disks on bus \"ahci\" (the AHCI controller's ports)",
				 SPEC_AHCI_DISKS_MAX);
			fits = false;
		}
	}
	if (nr_virtio + (nr_ahci ? 1 : 0) > SPEC_PCI_DISK_SLOTS) {
		spec_err(c, "disks",
			 "%u virtio disks%s need %u PCI slots; the board has %u for disks",
			 nr_virtio, nr_ahci ? " and the AHCI controller" : "",
			 nr_virtio + (nr_ahci ? 1 : 0), SPEC_PCI_DISK_SLOTS);
		fits = false;
	}
	return fits;
}

/* Two names of one file: the same absolute path, or (with SPEC_CHECK_FILES) the same inode. */
static bool spec_same_file(const struct spec_ctx *c, const char *a, const char *b)
{
	struct stat sa, sb;

	if (!strcmp(a, b))
		return true;
	return (c->flags & SPEC_CHECK_FILES) && !stat(a, &sa) && !stat(b, &sb) &&
	       sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* An image attached twice, once writable: two devices would write it, unaware of each other. */
static void spec_check_disk_twice(struct spec_ctx *c, const struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];

	for (unsigned i = 1; i < s->nr_disks; i++) {
		const struct disk_spec *di = &s->disks[i];

		for (unsigned j = 0; di->path && j < i; j++) {
			const struct disk_spec *dj = &s->disks[j];

			if (!dj->path || (di->readonly && dj->readonly) ||
			    !spec_same_file(c, di->path, dj->path))
				continue;
			snprintf(kpath, sizeof(kpath), "disks[%u].path", i);
			spec_err(c, kpath,
				 "the same image as disks[%u]; an image can be attached twice only "
				 "when both are read-only",
				 j);
			break;
		}
	}
}

/* A boot order is the firmware's: unique indexes, and only when a firmware reads them. */
static void spec_check_boot_index(struct spec_ctx *c, const struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];

	for (unsigned i = 0; i < s->nr_disks; i++) {
		if (!s->disks[i].has_boot_index)
			continue;
		snprintf(kpath, sizeof(kpath), "disks[%u].boot_index", i);
		if (s->boot.kind != BOOT_FIRMWARE) {
			spec_err(c, kpath,
				 "only valid with boot.firmware (the firmware follows the boot "
				 "order; boot.%s does not boot from disks)",
				 boot_kind_name(s->boot.kind));
			continue;
		}
		for (unsigned j = 0; j < i; j++)
			if (s->disks[j].has_boot_index &&
			    s->disks[j].boot_index == s->disks[i].boot_index)
				spec_err(c, kpath, "%u is also disks[%u]'s boot_index",
					 s->disks[i].boot_index, j);
	}
}

void spec_parse_disks(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN], ipath[SPEC_PATH_LEN];
	json_t *arr = spec_member(root, "", "disks", kpath);
	json_t *o;
	size_t i;

	if (!arr)
		return;
	s->disks = spec_new_array(c, kpath, arr, SIZE_MAX, "disks", sizeof(*s->disks));
	if (!s->disks)
		return;
	json_array_foreach(arr, i, o)
	{
		spec_path_index(ipath, "disks", i);
		spec_parse_disk(c, o, ipath, &s->disks[s->nr_disks++]);
	}
	if (spec_check_disk_slots(c, s))
		spec_check_disk_twice(c, s);
	spec_check_boot_index(c, s);
}

static bool spec_parse_mac(const char *str, u8 mac[6])
{
	for (unsigned i = 0; i < 6; i++) {
		const char *p = str + i * 3;

		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
		    p[2] != (i == 5 ? '\0' : ':'))
			return false;
		mac[i] = (u8)strtoul((char[3]){ p[0], p[1], '\0' }, NULL, 16);
	}
	return true;
}

static bool spec_valid_ifname(const char *name)
{
	size_t len = strlen(name);

	if (len < 1 || len > SPEC_TAP_NAME_MAX || !strcmp(name, ".") || !strcmp(name, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch == '/' || ch == ':' || ch <= 0x20 || ch >= 0x7f)
			return false;
	}
	return true;
}

/* "a.b.c.d" into *out (host byte order); an empty string is 0. */
static bool spec_parse_ipv4(const char *s, size_t len, u32 *out)
{
	char buf[16];
	struct in_addr a;

	*out = 0;
	if (!len)
		return true;
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

/* "[ADDR]:PORT" with a port of 1..65535. */
static bool spec_parse_endpoint(const char *s, size_t len, u32 *addr, u16 *port)
{
	const char *colon = memchr(s, ':', len);
	unsigned long p = 0;
	size_t plen;

	if (!colon)
		return false;
	plen = len - (size_t)(colon + 1 - s);
	if (!plen || plen > 5)
		return false;
	for (size_t i = 0; i < plen; i++) {
		if (!isdigit((unsigned char)colon[1 + i]))
			return false;
		p = p * 10 + (unsigned long)(colon[1 + i] - '0');
	}
	if (p < 1 || p > 65535)
		return false;
	*port = (u16)p;
	return spec_parse_ipv4(s, (size_t)(colon - s), addr);
}

/* QEMU's hostfwd syntax: "[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT". */
static bool spec_parse_hostfwd(const char *rule, struct nic_hostfwd *h)
{
	const char *s = rule, *dash = strchr(rule, '-'), *first = NULL;
	unsigned colons = 0;

	memset(h, 0, sizeof(*h));
	if (!dash)
		return false;
	for (const char *p = s; p < dash; p++) {
		if (*p == ':' && !colons++)
			first = p;
	}
	/* Three fields before the dash: the first is the protocol (empty: tcp). */
	if (colons == 2) {
		if (!strncmp(s, "udp:", 4))
			h->udp = true;
		else if (strncmp(s, "tcp:", 4) && s[0] != ':')
			return false;
		s = first + 1;
	}
	return spec_parse_endpoint(s, (size_t)(dash - s), &h->host_addr, &h->host_port) &&
	       spec_parse_endpoint(dash + 1, strlen(dash + 1), &h->guest_addr, &h->guest_port);
}

static void spec_parse_hostfwds(struct spec_ctx *c, const json_t *arr, const char *path,
				struct nic_spec *n)
{
	char ipath[SPEC_PATH_LEN];
	const char *rule;
	json_t *r;
	size_t i;

	if (!json_is_array(arr)) {
		spec_err(c, path,
			 "expected an array of rules like \"tcp:127.0.0.1:2222-:22\", got "
			 "%s",
			 spec_type_name(arr));
		return;
	}
	if (json_array_size(arr) > SPEC_NIC_HOSTFWD_MAX) {
		spec_err(c, path, "at most %d rules, got %zu", SPEC_NIC_HOSTFWD_MAX,
			 json_array_size(arr));
		return;
	}
	n->hostfwd = calloc(json_array_size(arr) + 1, sizeof(*n->hostfwd));
	if (!n->hostfwd) {
		c->oom = true;
		return;
	}
	json_array_foreach(arr, i, r)
	{
		struct nic_hostfwd *h = &n->hostfwd[n->nr_hostfwd];

		spec_path_index(ipath, path, i);
		if (!spec_get_string(c, ipath, r, &rule))
			continue;
		if (!spec_parse_hostfwd(rule, h)) {
			spec_err(
				c, ipath,
				"expected \"[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT\" "
				"(IPv4, ports 1..65535), got %s",
				SPEC_SHOW(rule));
			continue;
		}
		for (unsigned k = 0; k < n->nr_hostfwd; k++) {
			const struct nic_hostfwd *o = &n->hostfwd[k];

			if (o->udp == h->udp && o->host_port == h->host_port &&
			    (o->host_addr ? o->host_addr : 0x7f000001u) ==
				    (h->host_addr ? h->host_addr : 0x7f000001u))
				spec_err(c, ipath, "host port %s %u is forwarded twice",
					 h->udp ? "udp" : "tcp", h->host_port);
		}
		h->rule = spec_strdup(c, rule);
		n->nr_hostfwd++;
	}
}

/* A user NIC's "net": "A.B.C.D/N", N 8..24, the host bits zero. */
static void spec_parse_nic_net(struct spec_ctx *c, const char *kpath, const json_t *j,
			       struct nic_spec *n)
{
	const char *str, *slash;
	unsigned long len = 0;
	char *end = NULL;
	u32 addr, mask;

	if (!spec_get_string(c, kpath, j, &str))
		return;
	slash = strchr(str, '/');
	if (slash && isdigit((unsigned char)slash[1])) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
	}
	if (!slash || slash == str || !end || *end || errno ||
	    !spec_parse_ipv4(str, (size_t)(slash - str), &addr)) {
		spec_err(c, kpath, "expected a network like \"10.0.3.0/24\", got %s",
			 SPEC_SHOW(str));
		return;
	}
	if (len < SPEC_NIC_NET_PREFIX_MIN || len > SPEC_NIC_NET_PREFIX_MAX) {
		spec_err(c, kpath, "the prefix must be %u..%u bits, got /%lu",
			 SPEC_NIC_NET_PREFIX_MIN, SPEC_NIC_NET_PREFIX_MAX, len);
		return;
	}
	mask = 0xffffffffu << (32 - len);
	if (addr & ~mask) {
		addr &= mask;
		spec_err(c, kpath, "%s has host bits set: the network is %u.%u.%u.%u/%lu", str,
			 addr >> 24, addr >> 16 & 255, addr >> 8 & 255, addr & 255, len);
		return;
	}
	n->net = addr;
	n->net_prefix = (unsigned)len;
}

/* A forward's explicit guest address must be on the NIC's network (its DHCP hands out .15). */
static void spec_check_hostfwd_net(struct spec_ctx *c, const char *ipath, const struct nic_spec *n)
{
	u32 mask = 0xffffffffu << (32 - n->net_prefix);
	char kpath[SPEC_PATH_LEN + 24]; /* ipath, ".hostfwd[", k, "]" */

	for (unsigned k = 0; k < n->nr_hostfwd; k++) {
		u32 g = n->hostfwd[k].guest_addr;

		if (!g || (g & mask) == n->net)
			continue;
		snprintf(kpath, sizeof(kpath), "%s.hostfwd[%u]", ipath, k);
		spec_err(c, kpath,
			 "guest address %u.%u.%u.%u is not on the NIC's network %u.%u.%u.%u/%u",
			 g >> 24, g >> 16 & 255, g >> 8 & 255, g & 255, n->net >> 24,
			 n->net >> 16 & 255, n->net >> 8 & 255, n->net & 255, n->net_prefix);
	}
}

/* The keys that belong to one back end or model. */
static void spec_check_nic_keys(struct spec_ctx *c, const json_t *o, const char *ipath,
				struct nic_spec *n)
{
	static const char *const user_only[] = { "net", "hostfwd", "dns", "restrict" };
	char kpath[SPEC_PATH_LEN];
	u64 v;
	json_t *j;

	for (size_t i = 0; i < ARRAY_SIZE(user_only); i++) {
		j = spec_member(o, ipath, user_only[i], kpath);
		if (j && n->backend != NIC_BACKEND_USER)
			spec_err(c, kpath, "only valid with backend \"user\"");
	}
	j = spec_member(o, ipath, "queues", kpath);
	if (j && spec_get_int_range(c, kpath, j, 1, SPEC_NIC_QUEUES_MAX, &v)) {
		n->queues = (unsigned)v;
		if (v > 1 && n->model != NIC_MODEL_VIRTIO)
			spec_err(c, kpath,
				 "model \"e1000\" has one queue; several need model "
				 "\"virtio\"");
		else if (v > 1 && n->backend == NIC_BACKEND_USER)
			spec_err(c, kpath,
				 "backend \"user\" has one queue; several need backend "
				 "\"tap\" (a multi_queue TAP)");
	}
	j = spec_member(o, ipath, "mtu", kpath);
	if (j && spec_get_int_range(c, kpath, j, SPEC_NIC_MTU_MIN,
				    n->model == NIC_MODEL_E1000	   ? SPEC_NIC_MTU_MAX_E1000 :
				    n->backend == NIC_BACKEND_USER ? SPEC_NIC_MTU_MAX_USER :
								     65535,
				    &v))
		n->mtu = (unsigned)v;
	j = spec_member(o, ipath, "net", kpath);
	if (j && n->backend == NIC_BACKEND_USER)
		spec_parse_nic_net(c, kpath, j, n);
	j = spec_member(o, ipath, "dns", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &n->dns);
	j = spec_member(o, ipath, "restrict", kpath);
	if (j)
		spec_get_bool(c, kpath, j, &n->restrict_out);
	j = spec_member(o, ipath, "hostfwd", kpath);
	if (j && n->backend == NIC_BACKEND_USER)
		spec_parse_hostfwds(c, j, kpath, n);
}

static void spec_parse_nic(struct spec_ctx *c, const json_t *o, const char *ipath,
			   struct nic_spec *n)
{
	char kpath[SPEC_PATH_LEN];
	const char *str;
	json_t *j;

	n->queues = 1;
	n->dns = true;
	if (!spec_check_object(c, ipath, o, spec_section_keys("nics[]")))
		return;
	SPEC_GET_ENUM(c, o, ipath, "backend", nic_backend_names, &n->backend);
	SPEC_GET_ENUM(c, o, ipath, "model", nic_model_names, &n->model);

	j = spec_member(o, ipath, "mac", kpath);
	if (j && spec_get_string(c, kpath, j, &str)) {
		if (!spec_parse_mac(str, n->mac))
			spec_err(c, kpath,
				 "expected a MAC address like \"52:54:00:12:34:56\", got %s",
				 SPEC_SHOW(str));
		else if (n->mac[0] & 1)
			spec_err(c, kpath,
				 "%s is a multicast address (bit 0 of the first octet is set)",
				 str);
		else
			n->mac_set = true;
	}

	j = spec_member(o, ipath, "tap", kpath);
	if (!j && n->backend == NIC_BACKEND_TAP) {
		spec_err(c, kpath, "required with backend \"tap\"");
	} else if (j && n->backend != NIC_BACKEND_TAP) {
		spec_err(c, kpath, "only valid with backend \"tap\"");
	} else if (j && spec_get_string(c, kpath, j, &str)) {
		if (!spec_valid_ifname(str))
			spec_err(c, kpath,
				 "not a valid interface name: %s (1..%u characters, no '/', ':' or "
				 "blanks)",
				 SPEC_SHOW(str), SPEC_TAP_NAME_MAX);
		else
			n->tap = spec_strdup(c, str);
	}
	spec_check_nic_keys(c, o, ipath, n);
}

static bool spec_mac_used(const struct vm_spec *s, const u8 mac[6], unsigned upto)
{
	for (unsigned i = 0; i < upto; i++) {
		if (s->nics[i].mac_set && !memcmp(s->nics[i].mac, mac, 6))
			return true;
	}
	return false;
}

/* Report duplicate MACs; give the NICs without one 52:54:00:12:34:xx not used by another. */
static void spec_assign_macs(struct spec_ctx *c, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN];
	unsigned next = 0x56;

	for (unsigned i = 0; i < s->nr_nics; i++) {
		const u8 *m = s->nics[i].mac;

		if (!s->nics[i].mac_set || !spec_mac_used(s, m, i))
			continue;
		snprintf(kpath, sizeof(kpath), "nics[%u].mac", i);
		spec_err(c, kpath, "%02x:%02x:%02x:%02x:%02x:%02x is already used by another NIC",
			 m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	for (unsigned i = 0; i < s->nr_nics; i++) {
		u8 mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0 };

		if (s->nics[i].mac_set)
			continue;
		do {
			mac[5] = (u8)next++;
		} while (spec_mac_used(s, mac, s->nr_nics));
		memcpy(s->nics[i].mac, mac, 6);
	}
}

/* Every NIC is a PCI function of its own, in the slots the disks leave (2..31). */
static void spec_check_nic_slots(struct spec_ctx *c, const struct vm_spec *s)
{
	unsigned disks = 0, ahci = 0;

	for (unsigned i = 0; i < s->nr_disks; i++) {
		if (s->disks[i].bus == DISK_BUS_VIRTIO)
			disks++;
		else
			ahci = 1;
	}
	disks += ahci;
	if (disks <= SPEC_PCI_DISK_SLOTS && disks + s->nr_nics > SPEC_PCI_DISK_SLOTS)
		spec_err(c, "nics",
			 "%u NICs and %u PCI functions for disks need %u PCI slots; the board has "
			 "%u",
			 s->nr_nics, disks, s->nr_nics + disks, SPEC_PCI_DISK_SLOTS);
}

void spec_parse_nics(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s)
{
	char kpath[SPEC_PATH_LEN], ipath[SPEC_PATH_LEN];
	json_t *arr = spec_member(root, "", "nics", kpath);
	json_t *o;
	size_t i;

	if (!arr)
		return;
	s->nics = spec_new_array(c, kpath, arr, SPEC_NICS_MAX, "NICs", sizeof(*s->nics));
	if (!s->nics)
		return;
	json_array_foreach(arr, i, o)
	{
		struct nic_spec *n = &s->nics[s->nr_nics++];

		spec_path_index(ipath, "nics", i);
		spec_parse_nic(c, o, ipath, n);
		if (n->backend == NIC_BACKEND_USER && !n->net_prefix) {
			/* its own subnet: two on one would share an address and a router */
			n->net = 0x0a000000u | (u32)(2 + i) << 8;
			n->net_prefix = 24;
		}
		if (n->backend == NIC_BACKEND_USER)
			spec_check_hostfwd_net(c, ipath, n);
	}
	spec_assign_macs(c, s);
	spec_check_nic_slots(c, s);
}

/* "host:port" or "[ipv6]:port"; host is returned without brackets. */
static bool spec_parse_listen(const char *str, char *host, size_t host_size, u16 *port)
{
	const char *colon = strrchr(str, ':'), *h = str, *hend;
	unsigned long p;
	char *end;

	if (!colon || !colon[1] || !isdigit((unsigned char)colon[1]))
		return false;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (*end || errno || p < 1 || p > 65535)
		return false;
	hend = colon;
	if (h[0] == '[') {
		if (hend[-1] != ']' || hend - h < 3)
			return false;
		h++;
		hend--;
	}
	if (hend <= h || (size_t)(hend - h) >= host_size)
		return false;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (u16)p;
	if (h != str) {
		struct in6_addr a6;

		return inet_pton(AF_INET6, host, &a6) == 1;
	}
	for (const char *q = host; *q; q++) {
		if (!spec_isalnum((unsigned char)*q) && *q != '.' && *q != '-')
			return false;
	}
	return true;
}

static void spec_parse_display_listen(struct spec_ctx *c, const char *kpath, const json_t *j,
				      struct display_spec *ds)
{
	char host[256];
	const char *str;

	snprintf(host, sizeof(host), "%s", SPEC_DISPLAY_LISTEN_DEFAULT_HOST);
	ds->listen_port = SPEC_DISPLAY_LISTEN_DEFAULT_PORT;
	if (j && spec_get_string(c, kpath, j, &str) && !strncmp(str, "unix:", 5)) {
		if (!str[5]) {
			spec_err(c, kpath, "\"unix:\" needs a socket path after it");
			return;
		}
		ds->listen_path = spec_resolve(c, str + 5);
		spec_check_unix_path(c, kpath, ds->listen_path);
		return;
	}
	if (j && json_is_string(j) && !spec_parse_listen(str, host, sizeof(host), &ds->listen_port))
		spec_err(c, kpath,
			 "expected \"host:port\" like \"127.0.0.1:5900\", \"[::1]:5900\" or "
			 "\"unix:PATH\", got %s",
			 SPEC_SHOW(str));
	ds->listen_host = spec_strdup(c, host);
}

/* The card takes the slot after the disks': there must be one. */
static void spec_check_display_slot(struct spec_ctx *c, const struct vm_spec *s)
{
	unsigned used = 0;
	bool ahci = false;

	for (unsigned i = 0; i < s->nr_disks; i++) {
		used += s->disks[i].bus == DISK_BUS_VIRTIO;
		ahci |= s->disks[i].bus == DISK_BUS_AHCI;
	}
	used += ahci;
	if (s->display.type != DISPLAY_NONE && used >= SPEC_PCI_DISK_SLOTS)
		spec_err(c, "display",
			 "the VGA card needs a PCI slot, and the disks take all %u; drop a disk",
			 SPEC_PCI_DISK_SLOTS);
}

void spec_parse_display(struct spec_ctx *c, const struct json_t *root, struct vm_spec *s)
{
	struct display_spec *ds = &s->display;
	char kpath[SPEC_PATH_LEN];
	json_t *display = spec_member(root, "", "display", kpath);
	json_t *j;
	u64 v;

	ds->vram_mib = SPEC_DISPLAY_VRAM_DEFAULT_MIB;
	if (!display || !spec_check_object(c, "display", display, spec_section_keys("display")))
		return;
	SPEC_GET_ENUM(c, display, "display", "type", display_type_names, &ds->type);
	j = spec_member(display, "display", "listen", kpath);
	if (j && ds->type != DISPLAY_VNC)
		spec_err(c, kpath, "only valid with type \"vnc\"");
	else if (ds->type == DISPLAY_VNC)
		spec_parse_display_listen(c, kpath, j, ds);
	j = spec_member(display, "display", "rom", kpath);
	if (j && ds->type == DISPLAY_NONE) {
		spec_err(c, kpath, "only valid with a display (type \"vnc\" or \"headless\")");
	} else if (j) {
		ds->rom = spec_get_path(c, kpath, j);
		if (ds->rom)
			spec_check_file(c, kpath, ds->rom, false);
	}
	j = spec_member(display, "display", "vram_mib", kpath);
	if (j && ds->type == DISPLAY_NONE)
		spec_err(c, kpath, "only valid with a display (type \"vnc\" or \"headless\")");
	else if (j && spec_get_int_range(c, kpath, j, SPEC_DISPLAY_VRAM_MIN_MIB,
					 SPEC_DISPLAY_VRAM_MAX_MIB, &v)) {
		if (v & (v - 1))
			spec_err(c, kpath, "must be a power of two (4, 8, 16, ... 256), got %llu",
				 (unsigned long long)v);
		else
			ds->vram_mib = (unsigned)v;
	}
	spec_check_display_slot(c, s);
}

void spec_parse_control(struct spec_ctx *c, const struct json_t *root, struct control_spec *cs)
{
	char kpath[SPEC_PATH_LEN];
	json_t *control = spec_member(root, "", "control", kpath);
	json_t *j;

	if (!control || !spec_check_object(c, "control", control, spec_section_keys("control")))
		return;
	j = spec_member(control, "control", "path", kpath);
	if (!j) {
		spec_err(c, kpath, "required");
		return;
	}
	cs->path = spec_get_path(c, kpath, j);
	spec_check_unix_path(c, kpath, cs->path);
}

/* A section this build cannot run is refused, whatever else is wrong with it. An empty
 * array asks for nothing and is not. */
void spec_refuse_unbuilt(struct spec_ctx *c, const struct json_t *root)
{
	for (size_t i = 0; spec_unbuilt[i].key; i++) {
		const json_t *j = json_object_get(root, spec_unbuilt[i].key);
		char kpath[SPEC_PATH_LEN];

		if (!j || (json_is_array(j) && !json_array_size(j)))
			continue;
		if (json_is_array(j))
			spec_path_index(kpath, spec_unbuilt[i].key, 0);
		else
			spec_path_key(kpath, "", spec_unbuilt[i].key);
		spec_err(c, kpath, "%s not supported by this build yet", spec_unbuilt[i].what);
	}
}
