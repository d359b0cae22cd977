// SPDX-License-Identifier: MIT
/*
 * The VMware backdoor (vmport.h, docs/hypercall.md): the low-bandwidth commands and the
 * GuestRPC message channels, as open-vm-tools' lib/message (the client) and Linux's
 * arch/x86/kernel/cpu/vmware.c use them. Register contract of a channel call: ECX[15:0] = 30,
 * ECX[31:16] = the message type, EDX[31:16] = the channel, ESI:EDI the channel's cookie
 * (high, low); the status comes back in ECX[31:16]. High-bandwidth payloads (port 0x5659,
 * EBX[15:0] = 0): EDX[31:16] the channel, the cookie in EBP:EDI (sending) or ESI:EBP
 * (receiving), ECX the byte count; the status comes back in EBX[31:16].
 *
 * A channel carries one message each way at a time: the guest sends (SENDSIZE, then
 * SENDPAYLOAD 4 bytes at a time or one HB transfer), the host answers (RECVSIZE says the size
 * with DORECV, RECVPAYLOAD 4 bytes at a time or one HB transfer, RECVSTATUS ends it). A
 * message larger than VMPORT_MSG_MAX, a call on a channel that is closed or with another
 * cookie, a payload nobody announced: status 0 (failure), nothing changes. Work per call is
 * bounded: at most one message is processed (VMPORT_MSG_MAX bytes).
 *
 * Not implemented: GETHWVERSION, the vmmouse commands (39-41), STEALCLOCK, GET_VCPU_INFO and
 * the rest answer as unsupported (EAX = 0xffffffff); the VMCALL/VMMCALL forms of the backdoor
 * (CPUID 4000_0010h ECX offers neither).
 */
#include "devices/vmport.h"

#include "devices/vmport_rpc.h"
#include "vmm/base/log.h"
#include "vmm/state.h"
#include "vmm/timer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define VMPORT_UNSUPPORTED 0xffffffffull

static void vmport_set32(u64 *reg, u32 v)
{
	*reg = v; /* a 32-bit result, zero-extended */
}

/* xorshift64*: cookies only need to be hard to guess for another guest process. */
static u32 vmport_random(struct vmport *v)
{
	v->rng ^= v->rng >> 12;
	v->rng ^= v->rng << 25;
	v->rng ^= v->rng >> 27;
	return (u32)((v->rng * 0x2545f4914f6cdd1dull) >> 32);
}

/* ---- low-bandwidth commands ---- */

static void vmport_time(struct vmport *v, struct vmport_regs *r, bool full)
{
	u64 ns = vclock_wall_ns(&v->p->clock);
	u64 sec = ns / 1000000000ull;
	u32 usec = (u32)(ns % 1000000000ull / 1000);

	vmport_set32(&r->rbx, usec);
	vmport_set32(&r->rcx, VMPORT_MAX_TIME_LAG_US);
	if (!full) {
		vmport_set32(&r->rax, (u32)sec);
		vmport_set32(&r->rdx, 0); /* offset from UTC in minutes */
		return;
	}
	vmport_set32(&r->rax, VMPORT_MAGIC);
	vmport_set32(&r->rsi, (u32)(sec >> 32));
	vmport_set32(&r->rdx, (u32)sec);
}

static void vmport_uuid(const struct vmport *v, struct vmport_regs *r)
{
	u32 w[4];

	memcpy(w, v->uuid, sizeof(w));
	vmport_set32(&r->rax, w[0]);
	vmport_set32(&r->rbx, w[1]);
	vmport_set32(&r->rcx, w[2]);
	vmport_set32(&r->rdx, w[3]);
}

static void vmport_hz(const struct vmport *v, struct vmport_regs *r)
{
	if (!v->tsc_hz) {
		r->rax = r->rbx = VMPORT_UNSUPPORTED;
		return;
	}
	vmport_set32(&r->rax, (u32)v->tsc_hz);
	vmport_set32(&r->rbx, (u32)(v->tsc_hz >> 32));
	vmport_set32(&r->rcx, v->apic_bus_hz);
}

/* ---- message channels ---- */

static void vmport_chan_close(struct vmport_chan *c)
{
	memset(c, 0, offsetof(struct vmport_chan, out));
}

/* The channel a call names (EDX[31:16]) if it is open and the cookie matches, else NULL. */
static struct vmport_chan *vmport_chan_get(struct vmport *v, const struct vmport_regs *r,
					   u32 cookie_hi, u32 cookie_lo)
{
	unsigned id = (u32)r->rdx >> 16;
	struct vmport_chan *c;

	if (id >= VMPORT_CHANNELS)
		return NULL;
	c = &v->ch[id];
	if (!c->open || (c->has_cookie && (c->cookie_hi != cookie_hi || c->cookie_lo != cookie_lo)))
		return NULL;
	return c;
}

static u32 vmport_open(struct vmport *v, struct vmport_regs *r)
{
	u32 proto = (u32)r->rbx & ~VMPORT_FLAG_COOKIE;

	if (proto != VMPORT_PROTO_RPCI && proto != VMPORT_PROTO_TCLO)
		return 0;
	for (unsigned id = 0; id < VMPORT_CHANNELS; id++) {
		struct vmport_chan *c = &v->ch[id];

		if (c->open)
			continue;
		vmport_chan_close(c);
		c->open = true;
		c->proto = proto;
		c->has_cookie = (u32)r->rbx & VMPORT_FLAG_COOKIE;
		if (c->has_cookie) {
			c->cookie_hi = vmport_random(v);
			c->cookie_lo = vmport_random(v);
			vmport_set32(&r->rsi, c->cookie_hi);
			vmport_set32(&r->rdi, c->cookie_lo);
		}
		vmport_set32(&r->rdx, (id << 16) | ((u32)r->rdx & 0xffff));
		if (proto == VMPORT_PROTO_TCLO)
			vmport_rpc_tclo_open(v, id);
		return VMPORT_ST_SUCCESS;
	}
	log_guest("%s: every message channel is open; open refused", v->name);
	return 0;
}

/* The guest's message is complete: hand it to its protocol. */
static void vmport_msg_done(struct vmport *v, struct vmport_chan *c)
{
	c->sending = false;
	c->ready = false;
	v->stats.messages++;
	if (c->proto == VMPORT_PROTO_RPCI)
		vmport_rpc_rpci(v, c);
	else
		vmport_rpc_tclo(v, c);
}

static u32 vmport_sendsize(struct vmport *v, struct vmport_chan *c, u32 size)
{
	if (size > VMPORT_MSG_MAX) {
		v->stats.refused++;
		log_guest("%s: a message of %u bytes refused (at most %u)", v->name, size,
			  VMPORT_MSG_MAX);
		return 0;
	}
	c->sending = true;
	c->out_len = size;
	c->out_pos = 0;
	if (!size)
		vmport_msg_done(v, c);
	return VMPORT_ST_SUCCESS | (v->hb ? VMPORT_ST_HB : 0);
}

static u32 vmport_sendpayload(struct vmport *v, struct vmport_chan *c, u32 word)
{
	u32 n;

	if (!c->sending)
		return 0;
	n = MIN(4u, c->out_len - c->out_pos);
	memcpy(c->out + c->out_pos, &word, n);
	c->out_pos += n;
	if (c->out_pos == c->out_len)
		vmport_msg_done(v, c);
	return VMPORT_ST_SUCCESS;
}

static u32 vmport_recvsize(struct vmport *v, struct vmport_chan *c, struct vmport_regs *r)
{
	if (!c->ready || c->in_pos)
		return VMPORT_ST_SUCCESS; /* nothing to receive */
	vmport_set32(&r->rbx, c->in_len);
	vmport_set32(&r->rdx, (VMPORT_MSG_SENDSIZE << 16) | ((u32)r->rdx & 0xffff));
	return VMPORT_ST_SUCCESS | VMPORT_ST_DORECV | (v->hb ? VMPORT_ST_HB : 0);
}

static u32 vmport_recvpayload(struct vmport_chan *c, struct vmport_regs *r)
{
	u32 word = 0, n;

	if (!c->ready || c->in_pos >= c->in_len)
		return 0;
	n = MIN(4u, c->in_len - c->in_pos);
	memcpy(&word, c->in + c->in_pos, n);
	c->in_pos += n;
	vmport_set32(&r->rbx, word);
	vmport_set32(&r->rdx, (VMPORT_MSG_SENDPAYLOAD << 16) | ((u32)r->rdx & 0xffff));
	return VMPORT_ST_SUCCESS;
}

static void vmport_message(struct vmport *v, struct vmport_regs *r)
{
	unsigned type = (u32)r->rcx >> 16;
	struct vmport_chan *c = NULL;
	u32 st = 0;

	if (type != VMPORT_MSG_OPEN && !(c = vmport_chan_get(v, r, (u32)r->rsi, (u32)r->rdi))) {
		v->stats.refused++;
		vmport_set32(&r->rcx, (u32)r->rcx & 0xffff);
		return;
	}
	switch (type) {
	case VMPORT_MSG_OPEN:
		st = vmport_open(v, r);
		break;
	case VMPORT_MSG_SENDSIZE:
		st = vmport_sendsize(v, c, (u32)r->rbx);
		break;
	case VMPORT_MSG_SENDPAYLOAD:
		st = vmport_sendpayload(v, c, (u32)r->rbx);
		break;
	case VMPORT_MSG_RECVSIZE:
		st = vmport_recvsize(v, c, r);
		break;
	case VMPORT_MSG_RECVPAYLOAD:
		st = vmport_recvpayload(c, r);
		break;
	case VMPORT_MSG_RECVSTATUS:
		/* The guest has the message (EBX = SUCCESS) or gave up on it: either way it is
		 * gone. */
		st = c->ready ? VMPORT_ST_SUCCESS : 0;
		c->ready = false;
		break;
	case VMPORT_MSG_CLOSE:
		if ((s32)(c - v->ch) == v->tclo_chan)
			v->tclo_chan = -1;
		vmport_chan_close(c);
		st = VMPORT_ST_SUCCESS;
		break;
	default:
		break;
	}
	if (!st)
		v->stats.refused++;
	vmport_set32(&r->rcx, (st << 16) | ((u32)r->rcx & 0xffff));
}

/* A high-bandwidth payload: the whole message in one REP OUTSB or REP INSB. */
static void vmport_hb(struct vmport *v, struct vmport_regs *r)
{
	u32 st = 0, len = (u32)r->rcx;
	struct vmport_chan *c;

	if ((u16)r->rbx != 0 || !v->hb) { /* BDOORHB_CMD_MESSAGE */
		vmport_set32(&r->rbx, (u32)r->rbx & 0xffff);
		return;
	}
	c = r->hb_out ? vmport_chan_get(v, r, (u32)r->rbp, (u32)r->rdi) :
			vmport_chan_get(v, r, (u32)r->rsi, (u32)r->rbp);
	if (c && r->hb_out && c->sending && !c->out_pos && len == c->out_len && r->hb_buf) {
		memcpy(c->out, r->hb_buf, len);
		c->out_pos = len;
		v->stats.hb_bytes += len;
		vmport_msg_done(v, c);
		st = VMPORT_ST_SUCCESS;
	} else if (c && !r->hb_out && c->ready && !c->in_pos && len == c->in_len && r->hb_buf) {
		memcpy(r->hb_buf, c->in, len);
		r->hb_len = len;
		c->in_pos = len;
		v->stats.hb_bytes += len;
		st = VMPORT_ST_SUCCESS;
	} else {
		v->stats.refused++;
		if (!r->hb_out)
			r->hb_len = 0;
	}
	vmport_set32(&r->rbx, st << 16);
}

void vmport_call(struct vmport *v, struct vmport_regs *r)
{
	v->stats.calls++;
	if ((u32)r->rax != VMPORT_MAGIC) {
		r->rax = VMPORT_UNSUPPORTED; /* as a plain read of the port */
		if (r->hb && !r->hb_out)
			r->hb_len = 0;
		return;
	}
	if (r->hb) {
		vmport_hb(v, r);
		return;
	}
	switch ((u16)r->rcx) {
	case VMPORT_CMD_GETMHZ:
		if (v->tsc_hz) {
			vmport_set32(&r->rax, (u32)((v->tsc_hz + 500000) / 1000000));
			vmport_set32(&r->rbx, VMPORT_MAGIC);
		} else {
			r->rax = VMPORT_UNSUPPORTED;
		}
		break;
	case VMPORT_CMD_GETVERSION:
		vmport_set32(&r->rax, VMPORT_VERSION);
		vmport_set32(&r->rbx, VMPORT_MAGIC);
		vmport_set32(&r->rcx, VMPORT_PRODUCT);
		break;
	case VMPORT_CMD_GETSCREEN:
		vmport_set32(&r->rax, 0); /* no display: a 0 x 0 screen */
		break;
	case VMPORT_CMD_GETUUID:
		vmport_uuid(v, r);
		break;
	case VMPORT_CMD_GETMEMSIZE:
		vmport_set32(&r->rax, (u32)(v->ram_bytes >> 20));
		break;
	case VMPORT_CMD_GETTIME:
	case VMPORT_CMD_GETTIMEFULL:
		vmport_time(v, r, (u16)r->rcx == VMPORT_CMD_GETTIMEFULL);
		break;
	case VMPORT_CMD_GETHZ:
		vmport_hz(v, r);
		break;
	case VMPORT_CMD_MESSAGE:
		vmport_message(v, r);
		break;
	default:
		v->stats.unknown++;
		log_dbg(LOG_CAT_DEV, "%s: command %u not implemented", v->name, (u16)r->rcx);
		r->rax = VMPORT_UNSUPPORTED;
		break;
	}
}

/* ---- lifecycle ---- */

int vmport_create(struct platform *p, const struct vmport_config *cfg, struct vmport **out,
		  struct err *err)
{
	struct vmport *v;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v)
		return err_set(err, -ENOMEM, "%s: out of memory", cfg->name);
	v->p = p;
	snprintf(v->name, sizeof(v->name), "%s", cfg->name);
	v->ram_bytes = cfg->ram_bytes;
	memcpy(v->uuid, cfg->uuid, sizeof(v->uuid));
	v->tsc_hz = cfg->tsc_hz;
	v->apic_bus_hz = cfg->apic_bus_hz;
	v->hb = cfg->hb;
	v->tclo_chan = -1;
	if (getrandom(&v->rng, sizeof(v->rng), 0) != sizeof(v->rng))
		v->rng = (u64)(uintptr_t)v ^ vclock_wall_ns(&p->clock);
	v->rng |= 1; /* xorshift needs a non-zero state */
	for (unsigned i = 0; i < cfg->nr_gi; i++) {
		ret = vmport_guestinfo_set(v, cfg->gi_keys[i], cfg->gi_values[i], err);
		if (ret < 0) {
			free(v);
			return err_prefix(err, "%s", cfg->name), ret;
		}
	}
	*out = v;
	return 0;
}

void vmport_reset(struct vmport *v)
{
	for (unsigned id = 0; id < VMPORT_CHANNELS; id++)
		vmport_chan_close(&v->ch[id]);
	v->tclo_nr = 0;
	v->tclo_chan = -1;
	memset(&v->tools, 0, sizeof(v->tools));
}

void vmport_destroy(struct vmport *v)
{
	free(v);
}

static void vmport_ops_reset(void *dev)
{
	vmport_reset(dev);
}

static void vmport_ops_destroy(void *dev)
{
	vmport_destroy(dev);
}

static void vmport_ops_counters(void *dev, device_counter_fn fn, void *opaque)
{
	const struct vmport *v = dev;

	fn(opaque, "calls", v->stats.calls);
	fn(opaque, "unknown_commands", v->stats.unknown);
	fn(opaque, "messages", v->stats.messages);
	fn(opaque, "rpci_commands", v->stats.rpci);
	fn(opaque, "tclo_replies", v->stats.tclo);
	fn(opaque, "hb_bytes", v->stats.hb_bytes);
	fn(opaque, "refused", v->stats.refused);
}

/* ---- state ---- */

static const struct state_field vmport_chan_fields[] = {
	STATE_BOOL(struct vmport_chan, open),
	STATE_BOOL(struct vmport_chan, has_cookie),
	STATE_U32(struct vmport_chan, proto),
	STATE_U32(struct vmport_chan, cookie_hi),
	STATE_U32(struct vmport_chan, cookie_lo),
	STATE_BOOL(struct vmport_chan, sending),
	STATE_U32(struct vmport_chan, out_len, STATE_MAX(VMPORT_MSG_MAX)),
	STATE_U32(struct vmport_chan, out_pos, STATE_MAX(VMPORT_MSG_MAX)),
	STATE_BOOL(struct vmport_chan, ready),
	STATE_U32(struct vmport_chan, in_len, STATE_MAX(VMPORT_MSG_MAX)),
	STATE_U32(struct vmport_chan, in_pos, STATE_MAX(VMPORT_MSG_MAX)),
	STATE_U8(struct vmport_chan, tclo_inflight, STATE_MAX(VMPORT_TCLO_COUNT - 1)),
	STATE_ARRAY(struct vmport_chan, out, U8),
	STATE_ARRAY(struct vmport_chan, in, U8),
	STATE_END,
};

static const struct state_desc vmport_chan_state = {
	.name = "vmport-channel",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vmport_chan),
	.fields = vmport_chan_fields,
};

static const struct state_field vmport_gi_fields[] = {
	STATE_BOOL(struct vmport_gi, used),
	STATE_U8(struct vmport_gi, key_len, STATE_MAX(VMPORT_GI_KEY_MAX - 1)),
	STATE_U16(struct vmport_gi, value_len, STATE_MAX(VMPORT_GI_VALUE_MAX - 1)),
	STATE_ARRAY(struct vmport_gi, key, U8),
	STATE_ARRAY(struct vmport_gi, value, U8),
	STATE_END,
};

static const struct state_desc vmport_gi_state = {
	.name = "vmport-guestinfo",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vmport_gi),
	.fields = vmport_gi_fields,
};

static const struct state_field vmport_tools_fields[] = {
	STATE_BOOL(struct vmport_tools, running),
	STATE_BOOL(struct vmport_tools, capabilities),
	STATE_BOOL(struct vmport_tools, statechange),
	STATE_U32(struct vmport_tools, version),
	STATE_U64(struct vmport_tools, pings),
	STATE_ARRAY(struct vmport_tools, last_reply, U8),
	STATE_END,
};

static const struct state_desc vmport_tools_state = {
	.name = "vmport-tools",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vmport_tools),
	.fields = vmport_tools_fields,
};

/* What the message and guestinfo code relies on: positions within lengths, strings ended. */
static int vmport_post_load(void *obj, u32 version, struct err *err)
{
	struct vmport *v = obj;

	(void)version;
	for (unsigned id = 0; id < VMPORT_CHANNELS; id++) {
		const struct vmport_chan *c = &v->ch[id];

		if (c->out_pos > c->out_len || c->in_pos > c->in_len ||
		    (c->open && c->proto != VMPORT_PROTO_RPCI && c->proto != VMPORT_PROTO_TCLO))
			return err_set(err, -EINVAL, "channel %u: inconsistent message state", id);
	}
	for (unsigned i = 0; i < VMPORT_GUESTINFO_MAX; i++) {
		struct vmport_gi *g = &v->gi[i];

		if (g->used && (!g->key_len || memchr(g->key, 0, g->key_len) ||
				g->key[g->key_len] || g->value[g->value_len]))
			return err_set(err, -EINVAL, "guestinfo %u: malformed variable", i);
	}
	if (v->tclo_nr > VMPORT_TCLO_QUEUE || v->tclo_chan < -1 || v->tclo_chan >= VMPORT_CHANNELS)
		return err_set(err, -EINVAL, "tools request queue out of range");
	for (unsigned i = 0; i < v->tclo_nr; i++) {
		if (v->tclo_queue[i] == VMPORT_TCLO_NONE || v->tclo_queue[i] >= VMPORT_TCLO_COUNT)
			return err_set(err, -EINVAL, "tools request %u out of range", i);
	}
	v->tools.last_reply[sizeof(v->tools.last_reply) - 1] = 0;
	return 0;
}

static const struct state_field vmport_fields[] = {
	STATE_HOST(struct vmport, p, "the platform"),
	STATE_HOST(struct vmport, name, "the board's name"),
	STATE_U64(struct vmport, ram_bytes, STATE_CHECKED),
	STATE_ARRAY(struct vmport, uuid, U8, STATE_CHECKED),
	STATE_U64(struct vmport, tsc_hz, STATE_CHECKED),
	STATE_U32(struct vmport, apic_bus_hz, STATE_CHECKED),
	STATE_BOOL(struct vmport, hb, STATE_CHECKED),
	STATE_U64(struct vmport, rng),
	STATE_STRUCT_ARRAY(struct vmport, ch, vmport_chan_state),
	STATE_STRUCT_ARRAY(struct vmport, gi, vmport_gi_state),
	STATE_ARRAY(struct vmport, tclo_queue, U8),
	STATE_U8(struct vmport, tclo_nr, STATE_MAX(VMPORT_TCLO_QUEUE)),
	STATE_S32(struct vmport, tclo_chan),
	STATE_STRUCT(struct vmport, tools, vmport_tools_state),
	STATE_HOST(struct vmport, stats, "statistics (vm.counters), not guest-visible"),
	STATE_END,
};

static const struct state_desc vmport_state = {
	.name = "vmport",
	.version = 1,
	.min_version = 1,
	STATE_LAYOUT(struct vmport),
	.fields = vmport_fields,
	.post_load = vmport_post_load,
};

const struct device_ops vmport_device_ops = {
	.type = "vmport",
	.reset = vmport_ops_reset,
	.state = &vmport_state,
	.destroy = vmport_ops_destroy,
	.counters = vmport_ops_counters,
};
