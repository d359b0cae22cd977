/* SPDX-License-Identifier: MIT */
/*
 * The VMware backdoor ("vmport", docs/hypercall.md): the hypercall interface VMware guests
 * use, on I/O ports 0x5658 (one call per "IN EAX, DX", registers in and out) and 0x5659 (bulk
 * transfers by "REP INSB/OUTSB"), with the magic 0x564D5868 in EAX and the command in CX.
 * The accelerator routes those instructions here with every general register (vmm/accel.h
 * accel_io.backdoor; the board translates to struct vmport_regs), so the device is not on
 * the port bus: any other access to the two ports is plain port I/O (all ones).
 *
 * Commands: GETMHZ, GETVERSION, GETSCREENSIZE, GET_UUID, GETMEMSIZE, GETTIME, GETTIMEFULL,
 * GETHZ and MESSAGE (the GuestRPC channels: open, send size, send payload, receive size,
 * receive payload, receive status, close, and the high-bandwidth payloads); every other
 * command answers EAX = 0xffffffff, the other registers unchanged (how VMware answers one
 * it does not have: Linux reads STEALCLOCK's -1 and GET_VCPU_INFO's reserved bit 31 so).
 * The RPC text protocols on the channels (RPCI guest to host, TCLO host to guest) are in
 * vmport_rpc.c.
 *
 * Locking: every entry point runs with the VM-wide device lock held (the board's backdoor
 * hook and the control API take it).
 */
#ifndef DEVICES_VMPORT_H
#define DEVICES_VMPORT_H

#include "devices/device.h"
#include "vmm/base/compiler.h"
#include "vmm/base/err.h"
#include "vmm/base/types.h"
#include "vmm/platform.h"

#define VMPORT_MAGIC	       0x564d5868u
#define VMPORT_VERSION	       6 /* GETVERSION's EAX; open-vm-tools wants exactly 6 */
#define VMPORT_PRODUCT	       2 /* GETVERSION's ECX: VMX_TYPE_SCALABLE_SERVER */
#define VMPORT_CMD_GETMHZ      1
#define VMPORT_CMD_GETVERSION  10
#define VMPORT_CMD_GETSCREEN   15
#define VMPORT_CMD_GETUUID     19
#define VMPORT_CMD_GETMEMSIZE  20
#define VMPORT_CMD_GETTIME     23
#define VMPORT_CMD_MESSAGE     30
#define VMPORT_CMD_GETHZ       45
#define VMPORT_CMD_GETTIMEFULL 46
#define VMPORT_MAX_TIME_LAG_US 1000000u /* GETTIME's ECX */

/* MESSAGE types (ECX[31:16]) and status bits (ECX[31:16] of the answer; EBX for HB). */
#define VMPORT_MSG_OPEN	       0
#define VMPORT_MSG_SENDSIZE    1
#define VMPORT_MSG_SENDPAYLOAD 2
#define VMPORT_MSG_RECVSIZE    3
#define VMPORT_MSG_RECVPAYLOAD 4
#define VMPORT_MSG_RECVSTATUS  5
#define VMPORT_MSG_CLOSE       6
#define VMPORT_ST_SUCCESS      0x01
#define VMPORT_ST_DORECV       0x02
#define VMPORT_ST_CLOSED       0x04
#define VMPORT_ST_HB	       0x80
#define VMPORT_FLAG_COOKIE     0x80000000u
#define VMPORT_PROTO_RPCI      0x49435052u /* guest to host commands */
#define VMPORT_PROTO_TCLO      0x4f4c4354u /* host to guest commands */

#define VMPORT_CHANNELS	     8
#define VMPORT_MSG_MAX	     8192 /* bytes of one message either way; larger: refused */
#define VMPORT_GUESTINFO_MAX 64	  /* guestinfo variables */
#define VMPORT_GI_KEY_MAX    64	  /* bytes of a key (after "guestinfo.") */
#define VMPORT_GI_VALUE_MAX  1024 /* bytes of a value */
#define VMPORT_TCLO_QUEUE    4	  /* host requests waiting for the guest's tools */
#define VMPORT_TCLO_CMD_MAX  64

/* The registers of one call (what vmm/accel.h's struct accel_backdoor carries). */
struct vmport_regs {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp;
	/* High bandwidth (port 0x5659): as struct accel_backdoor's hb fields. */
	bool hb, hb_out;
	u8 *hb_buf;
	u32 hb_len;
};

struct vmport_config {
	const char *name; /* "vmport" */
	u64 ram_bytes;
	u8 uuid[16]; /* GET_UUID's 16 bytes, in the order the registers return them */
	u64 tsc_hz;  /* 0: unknown (GETHZ then answers "unsupported") */
	u32 apic_bus_hz;
	bool hb; /* offer high-bandwidth transfers (the accelerator routes them) */
	/* guestinfo variables from the spec: keys (without "guestinfo.") and values. */
	const char *const *gi_keys;
	const char *const *gi_values;
	unsigned nr_gi;
};

struct vmport;

/* -EINVAL (a guestinfo variable too long, too many), -ENOMEM with a message. Main thread. */
MUST_CHECK int vmport_create(struct platform *p, const struct vmport_config *cfg,
			     struct vmport **out, struct err *err);
void vmport_destroy(struct vmport *v);
/* Power-on state: every channel closed, requests to the tools dropped; guestinfo stays. */
void vmport_reset(struct vmport *v);

/* One backdoor call from a vCPU: r in, r out. Device lock held. */
void vmport_call(struct vmport *v, struct vmport_regs *r);

/* ---- guestinfo and the guest's tools, for the control API (device lock held) ---- */

/* A guestinfo variable: its value, or NULL. */
const char *vmport_guestinfo_get(const struct vmport *v, const char *key);
/* Set (value non-NULL) or remove (NULL) a variable. -EINVAL (key or value), -ENOSPC. */
MUST_CHECK int vmport_guestinfo_set(struct vmport *v, const char *key, const char *value,
				    struct err *err);
typedef void (*vmport_guestinfo_fn)(void *opaque, const char *key, const char *value);
void vmport_guestinfo_each(const struct vmport *v, vmport_guestinfo_fn fn, void *opaque);

enum vmport_tools_req {
	VMPORT_TOOLS_HALT,   /* TCLO "OS_Halt": the tools shut the guest down */
	VMPORT_TOOLS_REBOOT, /* TCLO "OS_Reboot" */
	VMPORT_TOOLS_PING,   /* TCLO "ping" */
};

struct vmport_tools {
	bool running;			    /* a TCLO channel answered "reset" */
	bool capabilities;		    /* Capabilities_Register answered */
	bool statechange;		    /* the tools can run OS_Halt / OS_Reboot */
	u32 version;			    /* tools.set.version(type), 0 if not said */
	u64 pings;			    /* "ping" requests answered OK */
	u8 last_reply[VMPORT_TCLO_CMD_MAX]; /* the tools' last TCLO answer, NUL-terminated */
};

/*
 * Queue a request for the guest's tools. -ENOTCONN: no tools on a TCLO channel;
 * -EOPNOTSUPP: they did not register the state-change capability (halt, reboot); -EBUSY: the
 * queue is full. err says which.
 */
MUST_CHECK int vmport_tools_request(struct vmport *v, enum vmport_tools_req req, struct err *err);
void vmport_tools_get(const struct vmport *v, struct vmport_tools *out);

extern const struct device_ops vmport_device_ops;

#endif
