/* SPDX-License-Identifier: MIT */
/*
 * Internal to the VMware backdoor (vmport.c: commands and message channels; vmport_rpc.c: the
 * RPC text protocols, guestinfo and the tools' state). Not for other files.
 */
#ifndef DEVICES_VMPORT_RPC_H
#define DEVICES_VMPORT_RPC_H

#include "devices/vmport.h"

/* A TCLO request: what the host asks the guest's tools. */
enum vmport_tclo {
	VMPORT_TCLO_NONE,
	VMPORT_TCLO_RESET,
	VMPORT_TCLO_CAPREG, /* Capabilities_Register */
	VMPORT_TCLO_PING,
	VMPORT_TCLO_HALT,
	VMPORT_TCLO_REBOOT,
	VMPORT_TCLO_COUNT,
};

struct vmport_chan {
	bool open;
	bool has_cookie;
	u32 proto; /* VMPORT_PROTO_RPCI or _TCLO */
	u32 cookie_hi, cookie_lo;
	/* The guest's message being sent (SENDSIZE seen, out_pos < out_len). */
	bool sending;
	u32 out_len, out_pos;
	/* The host's message the guest may receive (RECVSIZE / RECVPAYLOAD / HB in). */
	bool ready;
	u32 in_len, in_pos;
	u8 tclo_inflight; /* enum vmport_tclo: the request the tools are answering */
	u8 out[VMPORT_MSG_MAX];
	u8 in[VMPORT_MSG_MAX];
};

struct vmport_gi {
	bool used;
	u8 key_len;
	u16 value_len;
	u8 key[VMPORT_GI_KEY_MAX];     /* NUL-terminated */
	u8 value[VMPORT_GI_VALUE_MAX]; /* NUL-terminated */
};

struct vmport {
	struct platform *p;
	char name[32];
	/* Configuration (the spec). */
	u64 ram_bytes;
	u8 uuid[16];
	u64 tsc_hz;
	u32 apic_bus_hz;
	bool hb;
	u64 rng; /* cookie generator */
	struct vmport_chan ch[VMPORT_CHANNELS];
	struct vmport_gi gi[VMPORT_GUESTINFO_MAX];
	/* Requests for the tools, oldest first, and the channel they answer on (-1: none). */
	u8 tclo_queue[VMPORT_TCLO_QUEUE];
	u8 tclo_nr;
	s32 tclo_chan;
	struct vmport_tools tools;

	/* vm.counters; not guest-visible, not state. */
	struct {
		u64 calls, unknown, messages, rpci, tclo, hb_bytes, refused;
	} stats;
};

/* A complete guest message on an RPCI channel: run the command, put the reply in c->in. */
void vmport_rpc_rpci(struct vmport *v, struct vmport_chan *c);
/* A complete guest message on a TCLO channel: the answer to the request in flight (or a
 * poll); then the next request, if any, goes ready in c->in. */
void vmport_rpc_tclo(struct vmport *v, struct vmport_chan *c);
/* A TCLO channel opened (the tools started): forget what was known, queue "reset". */
void vmport_rpc_tclo_open(struct vmport *v, unsigned id);

#endif
