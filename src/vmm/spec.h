/* SPDX-License-Identifier: MIT */
/*
 * The VM spec: a JSON file (config/vm-spec.schema.json describes it, config/examples/ shows it,
 * docs/spec.md explains every key) turned into a validated, defaulted, typed struct vm_spec
 * (docs/architecture.md "Configuration flow", docs/conventions.md section 10). jansson is used
 * only inside spec*.c; nothing here exposes a json_t.
 *
 * Errors are collected, not stopped at: every problem found goes into a struct diag as a JSON
 * path ("disks[1].bus") and a message, so `vmm validate` can print them all
 * (docs/conventions.md section 8).
 *
 * A key the parser accepts has an effect. Sections this build validates but cannot run yet
 * (spec_unbuilt_keys; none today) are refused with "PATH: ... not supported by
 * this build yet"; tests/specs/keys.json names, for every other key, the code that reads it
 * and the test that shows its effect.
 *
 * Paths: relative paths in the spec resolve against the folder of the spec file (or the
 * base_dir given to spec_parse_string); the struct holds absolute paths only.
 *
 * Standards the checks follow: MAC addresses per IEEE 802 (the I/G bit, bit 0 of the first
 * octet, must be clear for a NIC), unix socket paths fit sun_path (108 bytes with the NUL,
 * unix(7)), Linux cmdline limit of 2048 bytes with the NUL (boot protocol 2.06+
 * cmdline_size), ATA/virtio-blk serial numbers of at most 20 bytes (ATA8-ACS IDENTIFY words
 * 10-19, virtio 1.2 section 5.2.6 VIRTIO_BLK_ID_BYTES).
 *
 * Not done here: whether flat/multiboot images fit in RAM (the loaders know the image sizes),
 * host capabilities (accel availability).
 *
 * Threads: all functions may be called from any thread; a struct vm_spec or struct diag is
 * owned by its caller and not shared while being filled.
 */
#ifndef VMM_SPEC_H
#define VMM_SPEC_H

#include "vmm/base/compiler.h"
#include "vmm/base/cpu_model.h"
#include "vmm/base/types.h"

#include <stdio.h>

/* ---- diagnostics ---- */

struct diag_entry {
	char *path; /* JSON path ("boot.kernel", "disks[0].bus"), "--set", or "" */
	char *msg;
};

struct diag {
	struct diag_entry *entries; /* entries[0 .. nr-1] in the order found */
	unsigned nr;
	unsigned cap;
	unsigned dropped; /* problems not recorded (past DIAG_MAX, or out of memory) */
};

#define DIAG_MAX 256 /* more than this many problems are counted in dropped, not stored */

#define DIAG_INIT             \
	{                     \
		NULL, 0, 0, 0 \
	}

void diag_init(struct diag *d);

/* Record one problem. path may be NULL (same as ""). Never fails: on ENOMEM it counts dropped. */
void diag_add(struct diag *d, const char *path, const char *fmt, ...) PRINTF(3, 4);

/* Print "path: message" lines (just "message" when path is empty), then a count of dropped. */
void diag_print(const struct diag *d, FILE *f);

/* Free the entries; d is empty and reusable afterwards. */
void diag_free(struct diag *d);

/* ---- the spec ---- */

enum spec_accel {
	SPEC_ACCEL_AUTO, /* KVM when the host has hardware assist, else BT */
	SPEC_ACCEL_KVM,
	SPEC_ACCEL_BT,
};

enum spec_machine {
	SPEC_MACHINE_PC,  /* default: i440FX host bridge + PIIX3 */
	SPEC_MACHINE_Q35, /* Q35 MCH with PCIe ECAM + ICH9 LPC, AHCI at 00:1f.2 */
};

enum boot_kind {
	BOOT_LINUX,	/* "kernel": bzImage, Linux x86 boot protocol */
	BOOT_MULTIBOOT, /* "multiboot": Multiboot v1 ELF or a.out-kludge image */
	BOOT_FLAT,	/* "flat": raw binary at load_address, real mode, CS:IP = load_address */
	BOOT_FIRMWARE,	/* "firmware": a BIOS image (SeaBIOS bios.bin) mapped below 4 GiB */
};

/* Where a bzImage's compressed kernel is unpacked ("boot.decompress"). */
enum boot_decompress {
	BOOT_DECOMPRESS_HOST,  /* by the loader, on the host (default) */
	BOOT_DECOMPRESS_GUEST, /* by the bzImage's own decompressor, in the guest */
};

enum serial_target {
	SERIAL_STDIO,
	SERIAL_FILE,
	SERIAL_PTY,
	SERIAL_UNIX, /* a listening unix stream socket */
	SERIAL_NONE,
};

enum spec_on_reset {
	SPEC_ON_RESET_RESTART, /* default */
	SPEC_ON_RESET_EXIT,
};

enum spec_on_triple_fault {
	SPEC_ON_TRIPLE_FAULT_EXIT, /* default */
	SPEC_ON_TRIPLE_FAULT_RESET,
};

enum disk_format {
	DISK_FORMAT_AUTO, /* default: probe the image */
	DISK_FORMAT_RAW,
	DISK_FORMAT_VMDK,
};

enum disk_bus {
	DISK_BUS_VIRTIO, /* default for disks */
	DISK_BUS_AHCI,	 /* default for CD-ROMs */
};

enum disk_cache {
	DISK_CACHE_WRITEBACK, /* default */
	DISK_CACHE_WRITETHROUGH,
	DISK_CACHE_NONE, /* O_DIRECT */
};

enum nic_backend {
	NIC_BACKEND_USER, /* default: user-mode networking */
	NIC_BACKEND_TAP,
};

enum nic_model {
	NIC_MODEL_VIRTIO, /* default */
	NIC_MODEL_E1000,
};

enum display_type {
	DISPLAY_NONE,	  /* default: no display device */
	DISPLAY_VNC,	  /* the VGA, shown by a VNC server */
	DISPLAY_HEADLESS, /* the VGA, seen through the control API only */
};

/* What CPUID's hypervisor leaves say (hypercall.identity, docs/hypercall.md). */
enum hypercall_identity {
	HYPERCALL_IDENTITY_DEFAULT, /* the accelerator's own signature */
	HYPERCALL_IDENTITY_VMWARE,  /* "VMwareVMware" and the 4000_0010h timing leaf */
};

/* How the BT engine runs guest code ("bt.engine"). */
enum spec_bt_engine {
	SPEC_BT_JIT,	     /* default: hot blocks compiled to host code, the rest interpreted */
	SPEC_BT_INTERPRETER, /* every instruction interpreted */
};

/* debug.exit_code_style: how the value written to the exit port becomes the exit status. */
enum spec_exit_code_style {
	SPEC_EXIT_CODE_VMM,  /* default: V & 0xff */
	SPEC_EXIT_CODE_QEMU, /* QEMU's isa-debug-exit: ((V << 1) | 1) & 0xff */
};

const char *spec_accel_name(enum spec_accel a);
const char *spec_bt_engine_name(enum spec_bt_engine e);
const char *spec_exit_code_style_name(enum spec_exit_code_style s);
const char *spec_machine_name(enum spec_machine m);
const char *boot_kind_name(enum boot_kind k);
const char *serial_target_name(enum serial_target t);
const char *spec_on_reset_name(enum spec_on_reset r);
const char *spec_on_triple_fault_name(enum spec_on_triple_fault t);
const char *disk_format_name(enum disk_format f);
const char *disk_bus_name(enum disk_bus b);
const char *disk_cache_name(enum disk_cache c);
const char *nic_backend_name(enum nic_backend b);
const char *nic_model_name(enum nic_model m);
const char *display_type_name(enum display_type t);
const char *hypercall_identity_name(enum hypercall_identity i);

#define SPEC_CMDLINE_MAX		 2047 /* bytes, without the NUL */
#define SPEC_NAME_MAX			 63
#define SPEC_VCPUS_MAX			 255
#define SPEC_MEMORY_MIB_MAX		 1048576ull /* 1 TiB */
#define SPEC_FLAT_LOAD_DEFAULT		 0x7c00
#define SPEC_DISK_SERIAL_MAX		 20
#define SPEC_BOOT_INDEX_MAX		 255
#define SPEC_BOOT_MODULES_MAX		 16 /* the multiboot loader's BOOT_MAX_MODULES */
#define SPEC_AHCI_DISKS_MAX		 6  /* the AHCI controller's ports, AHCI_MAX_PORTS */
#define SPEC_PCI_DISK_SLOTS		 30 /* bus 0 slots 2..31: virtio disks + the AHCI one */
#define SPEC_EXIT_PORT_WIDTH		 4  /* ports the debug-exit device claims */
#define SPEC_TAP_NAME_MAX		 15 /* IFNAMSIZ - 1 */
#define SPEC_NIC_QUEUES_MAX		 7  /* virtio-net: 2 x 7 queues + control within 16 */
#define SPEC_NIC_HOSTFWD_MAX		 64
#define SPEC_NIC_MTU_MIN		 68    /* RFC 791: every IPv4 host */
#define SPEC_NIC_MTU_MAX_USER		 65520 /* libslirp's largest */
#define SPEC_NIC_NET_PREFIX_MIN		 8     /* a user NIC's "net": 8..24 bits of prefix */
#define SPEC_NIC_NET_PREFIX_MAX		 24
#define SPEC_NIC_MTU_MAX_E1000		 16110 /* 82540EM: 16128-byte frames less header, tag, FCS */
#define SPEC_NICS_MAX			 200
#define SPEC_DISPLAY_LISTEN_DEFAULT_HOST "127.0.0.1"
#define SPEC_DISPLAY_LISTEN_DEFAULT_PORT 5900
#define SPEC_DISPLAY_VRAM_DEFAULT_MIB	 16
#define SPEC_DISPLAY_VRAM_MIN_MIB	 4
#define SPEC_DISPLAY_VRAM_MAX_MIB	 256
#define SPEC_DISPLAY_ROM_MAX		 (1u << 20) /* bytes of VGA BIOS the card's ROM holds */
#define SPEC_GUESTINFO_MAX		 64	    /* the backdoor's VMPORT_GUESTINFO_MAX */
#define SPEC_GUESTINFO_KEY_MAX		 63	    /* bytes, [A-Za-z0-9._-] */
#define SPEC_GUESTINFO_VALUE_MAX	 1023	    /* bytes */
#define SPEC_CONSOLES_MAX		 7 /* virtio-console ports: VIRTIO_CONSOLE_MAX_PORTS */
#define SPEC_CONSOLE_NAME_MAX		 63
#define SPEC_FLASH_BLOCK		 4096ull       /* boot.firmware_vars: flash block */
#define SPEC_FLASH_MAX			 (16ull << 20) /* code and variables, below 4 GiB */
#define SPEC_RNG_RATE_MAX		 (1ull << 32)  /* bytes per second */

struct boot_module {
	char *path;    /* absolute */
	char *cmdline; /* never NULL; "" when not given */
};

struct boot_spec {
	enum boot_kind kind;
	/* The one image of this boot kind (absolute): the bzImage, the multiboot kernel, the
	 * flat binary or the firmware image. */
	char *image;
	/* BOOT_FIRMWARE with boot.kernel: the bzImage the firmware boots (fw_cfg's kernel
	 * items); NULL otherwise. */
	char *fw_kernel;
	/* BOOT_FIRMWARE: the firmware's variable store (an OVMF_VARS file, absolute), mapped
	 * read-write as CFI flash right below the code and written through; NULL: none. */
	char *firmware_vars;
	char *initrd;  /* BOOT_LINUX and fw_kernel; NULL when not given */
	char *cmdline; /* BOOT_LINUX, fw_kernel, BOOT_MULTIBOOT; never NULL, "" when not given */
	struct boot_module *modules; /* BOOT_MULTIBOOT */
	unsigned nr_modules;
	u64 load_address;		 /* BOOT_FLAT; below 1 MiB, default 0x7c00 */
	enum boot_decompress decompress; /* BOOT_LINUX */
};

struct serial_spec {
	enum serial_target target;
	char *path; /* SERIAL_FILE and SERIAL_UNIX (absolute); NULL otherwise */
};

struct disk_spec {
	char *path; /* absolute */
	enum disk_format format;
	enum disk_bus bus;
	enum disk_cache cache;
	bool readonly; /* always true for a CD-ROM */
	bool cdrom;
	char *serial; /* NULL when not given; 1..20 printable ASCII bytes */
	/* The firmware's boot order (boot.firmware only): lower boots first; unique. */
	bool has_boot_index;
	unsigned boot_index; /* 0..SPEC_BOOT_INDEX_MAX */
};

/* One "hostfwd" rule of a user NIC: "[tcp:|udp:][HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT". */
struct nic_hostfwd {
	bool udp;
	u32 host_addr;	/* IPv4 in host byte order; 0: 127.0.0.1 */
	u16 host_port;	/* 1..65535 */
	u32 guest_addr; /* 0: the address DHCP hands out (.15) */
	u16 guest_port; /* 1..65535 */
	char *rule;	/* as written */
};

struct nic_spec {
	enum nic_backend backend;
	enum nic_model model;
	u8 mac[6];	 /* given, or 52:54:00:12:34:(0x56 + index) */
	bool mac_set;	 /* the spec gave a MAC */
	char *tap;	 /* NIC_BACKEND_TAP: the interface name; NULL otherwise */
	unsigned queues; /* queue pairs, 1..SPEC_NIC_QUEUES_MAX (virtio only above 1); default 1 */
	unsigned mtu;	 /* 0: not given (1500); virtio advertises a given one to the guest */
	bool dns;	 /* user: DNS forwarded at .3; default true */
	bool restrict_out; /* user ("restrict"): no flow out of the VM but forwarded ports */
	struct nic_hostfwd *hostfwd; /* user */
	unsigned nr_hostfwd;
	/* user: the guest's network (host order) and prefix length; given, or 10.0.(2 + i).0/24
	 * for NIC i, so two user NICs never share a subnet, an address and a router */
	u32 net;
	unsigned net_prefix;
};

struct display_spec {
	enum display_type type;
	char *listen_host; /* DISPLAY_VNC on TCP: without brackets for IPv6; NULL otherwise */
	u16 listen_port;
	char *listen_path; /* DISPLAY_VNC on "unix:PATH": the socket (absolute); NULL otherwise */
	char *rom;	   /* the VGA BIOS for the card's ROM (absolute); NULL: none */
	unsigned vram_mib; /* video RAM: a power of two, 4..256; default 16 */
};

struct control_spec {
	char *path; /* the control socket (absolute); NULL: no control socket */
};

/* Hypercall interfaces (docs/hypercall.md). */
struct hypercall_spec {
	bool vmware_backdoor; /* the VMware backdoor ports, at any CPL */
	enum hypercall_identity identity;
};

/* guestinfo variables for the backdoor's RPC (keys without the "guestinfo." prefix). */
struct guestinfo_spec {
	char **keys, **values;
	unsigned nr;
};

/* One virtio-console port (consoles[]): a console (hvcN) without a name, else a named port. */
struct console_port_spec {
	char *name; /* NULL: a console port */
	struct serial_spec target;
};

/* virtio-rng (rng): present, and its rate limit. */
struct rng_spec {
	bool present;
	u64 bytes_per_second; /* 0: unlimited */
};

#define SPEC_STATE_ROUNDTRIP_MAX_MS 3600000u /* an hour */

/* debug.forbidden_syscall: a thread that makes a system call the sandbox forbids (tests). */
enum spec_forbidden_syscall {
	SPEC_FORBIDDEN_SYSCALL_NONE, /* default */
	SPEC_FORBIDDEN_SYSCALL_MAIN, /* the main thread, right after its lockdown */
	SPEC_FORBIDDEN_SYSCALL_VCPU, /* vcpu0, right after its lockdown */
};

struct debug_spec {
	bool has_exit_port;
	u16 exit_port; /* isa-debug-exit style: the guest writes its exit status here */
	enum spec_exit_code_style exit_code_style; /* only with exit_port */
	bool test_device; /* the PIO+MMIO test device for tiny guest programs */
	bool pc_testdev;  /* QEMU's PC test device (ports 0xe0-0xeb, 0x2000-0x2017; 0xff000000) */
	bool pci_testdev; /* QEMU's PCI test device 1b36:0005 */
	bool fw_cfg;	  /* fw_cfg also without boot.firmware (it is always there with it) */
	/*
	 * Every this many ms of host time, pause, save the whole state, reset every device and
	 * vCPU, load it back and resume (vm_state_roundtrip); 0: never.
	 */
	unsigned state_roundtrip_ms;
	/* boot.firmware: what the firmware writes to its debug port 0x402 goes here; NULL: off. */
	char *firmware_log;
	enum spec_forbidden_syscall forbidden_syscall;
};

/* "cpu": the CPU model the guest sees (docs/cpu-model.md). */
struct cpu_spec {
	bool set;		/* the spec has a "cpu" section (KVM refuses one) */
	struct cpu_model model; /* the named model ("model", default CPU_MODEL_DEFAULT) with the
				   "features" added and removed; passed cpu_model_check */
};

/* The BT engine's tuning ("bt"); used whenever the VM runs on BT (accel bt, or auto without KVM). */
#define SPEC_BT_JIT_THRESHOLD_DEFAULT  16
#define SPEC_BT_JIT_THRESHOLD_MAX      1000000
#define SPEC_BT_CODE_CACHE_MIB_DEFAULT 32
#define SPEC_BT_CODE_CACHE_MIB_MAX     1024

struct bt_spec {
	enum spec_bt_engine engine;
	unsigned jit_threshold;	 /* runs of a block before it is compiled; 1..1000000, default 16 */
	unsigned code_cache_mib; /* code cache of each vCPU; 1..1024, default 32 */
};

struct vm_spec {
	char *name;	/* 1..63 of [A-Za-z0-9._-]; default "vm" */
	unsigned vcpus; /* 1..255; default 1 */
	u64 memory_mib; /* 1..1048576; default 256 */
	enum spec_accel accel;
	enum spec_machine machine;
	struct boot_spec boot;
	struct serial_spec serial;
	enum spec_on_reset on_reset;
	enum spec_on_triple_fault on_triple_fault;
	struct debug_spec debug;
	struct cpu_spec cpu;
	struct disk_spec *disks;
	unsigned nr_disks;
	struct nic_spec *nics;
	unsigned nr_nics;
	struct display_spec display;
	struct control_spec control;
	struct bt_spec bt;
	bool sandbox_off; /* "sandbox": false (default true: the seccomp sandbox is on) */
	/* The VM's UUID (the backdoor's GET_UUID): given, or derived from the name. */
	u8 uuid[16];
	bool uuid_set;
	struct hypercall_spec hypercall;
	struct guestinfo_spec guestinfo;
	struct console_port_spec *consoles;
	unsigned nr_consoles;
	struct rng_spec rng;
};

enum spec_flags {
	/* Input files (kernel, initrd, modules, flat, firmware, disks) must exist and be readable
	 * regular files (disks writable unless readonly), and an image attached twice is found
	 * by its inode as well as by its name. */
	SPEC_CHECK_FILES = 1u << 0,
	/* Validate the sections this build cannot run yet (spec_unbuilt_keys) instead of
	 * refusing them, so that their checks stay tested until they are built. For the
	 * parser's own unit tests; the vmm command never passes it. */
	SPEC_ALLOW_UNBUILT = 1u << 1,
};

/*
 * Read the spec file at path, apply the --set overrides ("key=value", see spec_set_apply)
 * to the JSON tree in order, then validate and fill *out. Relative paths, in the file or
 * given with --set, resolve against the folder of the spec file. On success returns 0 and *out must
 * be released with spec_free(); d may still hold nothing. On failure returns -EINVAL (spec
 * problems, all recorded in d), -ENOENT/-EACCES/... (the file itself could not be read, also
 * recorded in d) or -ENOMEM; *out is then left zeroed and needs no spec_free().
 */
MUST_CHECK int spec_load(const char *path, const char *const *sets, unsigned nr_sets,
			 unsigned flags, struct vm_spec *out, struct diag *d);

/*
 * The same from a string. base_dir is the folder relative paths resolve against (NULL: the
 * current directory; a relative base_dir is taken relative to the current directory).
 */
MUST_CHECK int spec_parse_string(const char *json, const char *base_dir, const char *const *sets,
				 unsigned nr_sets, unsigned flags, struct vm_spec *out,
				 struct diag *d);

/*
 * The spec as JSON text (malloc'd; NULL on ENOMEM): every default filled in, every path
 * absolute, in the schema's keys, so it parses back (spec_parse_string) to the same struct.
 * vm.info's "config" (spec_json.c).
 */
char *spec_to_json(const struct vm_spec *s);

/*
 * cur with one more NIC (nic_json: one object as in "nics"), validated as a whole spec (errors
 * name "nics[N]..." paths in d): the new entry in *out, owned by the caller (free its strings
 * with spec_nic_free). 0, -EINVAL, -ENOMEM.
 */
MUST_CHECK int spec_add_nic(const struct vm_spec *cur, const char *nic_json, struct nic_spec *out,
			    struct diag *d);
void spec_nic_free(struct nic_spec *n);
/* The UUID in its canonical text form, 36 characters and a NUL. */
void spec_uuid_format(const u8 uuid[16], char out[37]);

/*
 * Whether a firmware code image of code_size bytes and a variables file (boot.firmware_vars)
 * of vars_size bytes make one flash: a whole number of 4 KiB blocks each, together a power of
 * two of at most 16 MiB, the layout of one OVMF build (its variables at the start of the
 * flash, the code at its end, ending at 4 GiB). NULL when they do, else what is wrong.
 */
const char *spec_firmware_flash_fault(u64 code_size, u64 vars_size);

/* Free everything a successful spec_load/spec_parse_string allocated; s is zeroed. */
void spec_free(struct vm_spec *s);

/*
 * The keys the parser accepts in one object of the spec, NULL-terminated, in schema order.
 * section: "" (the top level), "boot", "boot.modules[]", "serial", "debug", "disks[]",
 * "nics[]", "display", "control", "hypercall", "consoles[]", "rng". Returns NULL for any other
 * section. For the schema test.
 */
const char *const *spec_section_keys(const char *section);

/* The object sections spec_section_keys knows, NULL-terminated. */
const char *const *spec_sections(void);

/*
 * The top-level keys this build refuses (unless SPEC_ALLOW_UNBUILT), NULL-terminated: a spec
 * that gives one (a non-empty array for "nics") gets "KEY: ... not supported by this build
 * yet" ("nics[0]: ..." for the array). For the schema and key-table tests.
 */
const char *const *spec_unbuilt_keys(void);

/*
 * Internal to spec.c and spec_set.c (the tree type is only forward-declared so that jansson
 * stays inside spec*.c): apply one --set override "key=value" to the JSON object root.
 * key is a dotted path with array indexes ("boot.cmdline", "disks[0].readonly"); missing
 * objects on the way are created, an index equal to an array's length appends. value is
 * parsed as JSON when it parses (number, true/false, object, array, quoted string), else
 * taken as a plain string; "null" removes the key (back to its default). Returns 0, or
 * -EINVAL with a diag at path "--set", or -ENOMEM.
 */
struct json_t;
MUST_CHECK int spec_set_apply(struct json_t *root, const char *set, struct diag *d);

#endif
