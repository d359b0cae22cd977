// SPDX-License-Identifier: MIT
/*
 * The GuestRPC text protocols on the backdoor's message channels (vmport_rpc.h,
 * docs/hypercall.md), as open-vm-tools speaks them (lib/rpcOut, lib/rpcIn, lib/rpcChannel,
 * services/vmtoolsd):
 *  - RPCI (guest to host): the guest sends "COMMAND ARGS", the host answers "1 RESULT" (done)
 *    or "0 ERROR". Commands: "info-get guestinfo.KEY", "info-set guestinfo.KEY VALUE", "log
 *    TEXT" (to the VMM's log, rate-limited), "tools.set.version N", "tools.set.versiontype N
 *    T", "tools.capability.NAME [VALUE]" (statechange says the tools can halt and reboot),
 *    "vmx.capability.unified_loop APP", "tools.os.statechange.status OK ID"; anything else
 *    "0 Unknown command". A trailing NUL (the tools count it) is dropped.
 *  - TCLO (host to guest): the tools poll with their answer to the last request ("OK ..." or
 *    "ERROR ...", empty when there was none); the host then offers the next request. A new
 *    TCLO channel first gets "reset" (answer "OK ATR APP"), then "Capabilities_Register" and
 *    one "ping"; "OS_Halt" and "OS_Reboot" come from the control API.
 * guestinfo variables: keys of 1..63 bytes of [A-Za-z0-9._-] (stored without the
 * "guestinfo." prefix), values of up to 1023 bytes; at most VMPORT_GUESTINFO_MAX of them.
 */
#include "devices/vmport_rpc.h"

#include "vmm/base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VMPORT_GI_PREFIX "guestinfo."

static const char *const vmport_tclo_text[VMPORT_TCLO_COUNT] = {
	[VMPORT_TCLO_RESET] = "reset",	    [VMPORT_TCLO_CAPREG] = "Capabilities_Register",
	[VMPORT_TCLO_PING] = "ping",	    [VMPORT_TCLO_HALT] = "OS_Halt",
	[VMPORT_TCLO_REBOOT] = "OS_Reboot",
};

/* ---- guestinfo ---- */

static bool vmport_gi_key_ok(const char *key, size_t len)
{
	if (!len || len >= VMPORT_GI_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = key[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static struct vmport_gi *vmport_gi_find(const struct vmport *v, const char *key, size_t len)
{
	for (unsigned i = 0; i < VMPORT_GUESTINFO_MAX; i++) {
		const struct vmport_gi *g = &v->gi[i];

		if (g->used && g->key_len == len && !memcmp(g->key, key, len))
			return (struct vmport_gi *)g;
	}
	return NULL;
}

/* Set key (len bytes, checked) to value (vlen bytes): 0, -EINVAL, -ENOSPC. */
static int vmport_gi_store(struct vmport *v, const char *key, size_t len, const char *value,
			   size_t vlen)
{
	struct vmport_gi *g = vmport_gi_find(v, key, len);

	if (vlen >= VMPORT_GI_VALUE_MAX || memchr(value, 0, vlen))
		return -EINVAL;
	for (unsigned i = 0; !g && i < VMPORT_GUESTINFO_MAX; i++) {
		if (!v->gi[i].used)
			g = &v->gi[i];
	}
	if (!g)
		return -ENOSPC;
	memset(g, 0, sizeof(*g));
	g->used = true;
	g->key_len = (u8)len;
	memcpy(g->key, key, len);
	g->value_len = (u16)vlen;
	memcpy(g->value, value, vlen);
	return 0;
}

const char *vmport_guestinfo_get(const struct vmport *v, const char *key)
{
	const struct vmport_gi *g = vmport_gi_find(v, key, strlen(key));

	return g ? (const char *)g->value : NULL;
}

int vmport_guestinfo_set(struct vmport *v, const char *key, const char *value, struct err *err)
{
	size_t len = strlen(key);
	struct vmport_gi *g;
	int ret;

	if (!vmport_gi_key_ok(key, len))
		return err_set(err, -EINVAL,
			       "guestinfo key '%.64s': must be 1..%u characters of [A-Za-z0-9._-]",
			       key, VMPORT_GI_KEY_MAX - 1);
	if (!value) {
		g = vmport_gi_find(v, key, len);
		if (g)
			memset(g, 0, sizeof(*g));
		return 0;
	}
	ret = vmport_gi_store(v, key, len, value, strlen(value));
	if (ret == -EINVAL)
		return err_set(err, ret, "guestinfo.%s: the value is longer than %u bytes", key,
			       VMPORT_GI_VALUE_MAX - 1);
	if (ret == -ENOSPC)
		return err_set(err, ret, "guestinfo.%s: already %u variables", key,
			       VMPORT_GUESTINFO_MAX);
	return 0;
}

void vmport_guestinfo_each(const struct vmport *v, vmport_guestinfo_fn fn, void *opaque)
{
	for (unsigned i = 0; i < VMPORT_GUESTINFO_MAX; i++) {
		if (v->gi[i].used)
			fn(opaque, (const char *)v->gi[i].key, (const char *)v->gi[i].value);
	}
}

/* ---- RPCI ---- */

static void vmport_reply(struct vmport_chan *c, bool ok, const char *text, size_t len)
{
	len = MIN(len, (size_t)VMPORT_MSG_MAX - 2);
	c->in[0] = ok ? '1' : '0';
	c->in[1] = ' ';
	memcpy(c->in + 2, text, len);
	c->in_len = (u32)len + 2;
	c->in_pos = 0;
	c->ready = true;
}

static void vmport_reply_str(struct vmport_chan *c, bool ok, const char *text)
{
	vmport_reply(c, ok, text, strlen(text));
}

/* "info-get guestinfo.KEY" */
static void vmport_rpci_info_get(struct vmport *v, struct vmport_chan *c, const char *args)
{
	size_t plen = strlen(VMPORT_GI_PREFIX), len;
	const struct vmport_gi *g = NULL;

	len = strcspn(args, " ");
	if (len > plen && !strncmp(args, VMPORT_GI_PREFIX, plen))
		g = vmport_gi_find(v, args + plen, len - plen);
	if (!g) {
		vmport_reply_str(c, false, "No value found");
		return;
	}
	vmport_reply(c, true, (const char *)g->value, g->value_len);
}

/* "info-set guestinfo.KEY VALUE" (VALUE: everything after the space, maybe empty) */
static void vmport_rpci_info_set(struct vmport *v, struct vmport_chan *c, const char *args)
{
	size_t plen = strlen(VMPORT_GI_PREFIX), len = strcspn(args, " ");
	const char *value = args[len] ? args + len + 1 : args + len;
	int ret;

	if (len <= plen || strncmp(args, VMPORT_GI_PREFIX, plen) ||
	    !vmport_gi_key_ok(args + plen, len - plen)) {
		vmport_reply_str(c, false, "Invalid key");
		return;
	}
	ret = vmport_gi_store(v, args + plen, len - plen, value, strlen(value));
	if (ret < 0) {
		vmport_reply_str(c, false,
				 ret == -ENOSPC ? "Too many variables" : "Value too long");
		return;
	}
	vmport_reply_str(c, true, "");
}

static void vmport_rpci_log(struct vmport *v, struct vmport_chan *c, const char *args)
{
	static struct log_ratelimit rl;
	char text[160];
	size_t i;

	for (i = 0; args[i] && i < sizeof(text) - 1; i++)
		text[i] = args[i] >= 0x20 && args[i] < 0x7f ? args[i] : '?';
	text[i] = 0;
	if (log_ratelimit_ok(&rl))
		log_info("%s: guest log: %s", v->name, text);
	vmport_reply_str(c, true, "");
}

static void vmport_rpci_capability(struct vmport *v, struct vmport_chan *c, const char *name)
{
	if (!strncmp(name, "statechange", strlen("statechange")) && (name[11] == ' ' || !name[11]))
		v->tools.statechange = true;
	vmport_reply_str(c, true, "");
}

void vmport_rpc_rpci(struct vmport *v, struct vmport_chan *c)
{
	char msg[VMPORT_MSG_MAX + 1];
	const char *args;
	size_t cmd;
	unsigned long n;

	v->stats.rpci++;
	memcpy(msg, c->out, c->out_len);
	msg[c->out_len] = 0; /* a NUL inside ends the command (the tools send one at the end) */
	cmd = strcspn(msg, " ");
	args = msg[cmd] ? msg + cmd + 1 : msg + cmd;
	msg[cmd] = 0;
	if (!strcmp(msg, "info-get")) {
		vmport_rpci_info_get(v, c, args);
	} else if (!strcmp(msg, "info-set")) {
		vmport_rpci_info_set(v, c, args);
	} else if (!strcmp(msg, "log")) {
		vmport_rpci_log(v, c, args);
	} else if (!strcmp(msg, "tools.set.version") || !strcmp(msg, "tools.set.versiontype")) {
		n = strtoul(args, NULL, 10);
		v->tools.version = (u32)MIN(n, 0xffffffffUL);
		vmport_reply_str(c, true, "");
	} else if (!strncmp(msg, "tools.capability.", strlen("tools.capability."))) {
		vmport_rpci_capability(v, c, msg + strlen("tools.capability."));
	} else if (!strcmp(msg, "vmx.capability.unified_loop") ||
		   !strcmp(msg, "tools.os.statechange.status")) {
		vmport_reply_str(c, true, "");
	} else {
		log_dbg(LOG_CAT_DEV, "%s: RPC '%.40s' not implemented", v->name, msg);
		vmport_reply_str(c, false, "Unknown command");
	}
}

/* ---- TCLO ---- */

static void vmport_tclo_push(struct vmport *v, enum vmport_tclo req)
{
	if (v->tclo_nr < VMPORT_TCLO_QUEUE)
		v->tclo_queue[v->tclo_nr++] = (u8)req;
}

void vmport_rpc_tclo_open(struct vmport *v, unsigned id)
{
	v->tclo_chan = (s32)id;
	memset(&v->tools, 0, sizeof(v->tools));
	v->tclo_nr = 0;
	vmport_tclo_push(v, VMPORT_TCLO_RESET);
}

/* The tools answered request req with text ("OK ..." or "ERROR ..."). */
static void vmport_tclo_answer(struct vmport *v, enum vmport_tclo req, const char *text)
{
	bool ok = !strncmp(text, "OK", 2);

	v->stats.tclo++;
	snprintf((char *)v->tools.last_reply, sizeof(v->tools.last_reply), "%s", text);
	switch (req) {
	case VMPORT_TCLO_RESET:
		if (ok && !strncmp(text, "OK ATR ", 7)) {
			v->tools.running = true;
			log_info("%s: the guest's tools (%.32s) are running", v->name, text + 7);
			vmport_tclo_push(v, VMPORT_TCLO_CAPREG);
		}
		break;
	case VMPORT_TCLO_CAPREG:
		v->tools.capabilities = ok;
		vmport_tclo_push(v, VMPORT_TCLO_PING);
		break;
	case VMPORT_TCLO_PING:
		if (ok)
			v->tools.pings++;
		break;
	case VMPORT_TCLO_HALT:
	case VMPORT_TCLO_REBOOT:
		log_info("%s: the guest's tools answered %s: %.40s", v->name, vmport_tclo_text[req],
			 text);
		break;
	default:
		break;
	}
}

void vmport_rpc_tclo(struct vmport *v, struct vmport_chan *c)
{
	char msg[VMPORT_TCLO_CMD_MAX];
	size_t len = MIN((size_t)c->out_len, sizeof(msg) - 1);
	const char *text;
	size_t tlen;

	memcpy(msg, c->out, len);
	msg[len] = 0;
	if (c->tclo_inflight != VMPORT_TCLO_NONE && c->tclo_inflight < VMPORT_TCLO_COUNT)
		vmport_tclo_answer(v, c->tclo_inflight, msg);
	c->tclo_inflight = VMPORT_TCLO_NONE;
	if ((s32)(c - v->ch) != v->tclo_chan || !v->tclo_nr)
		return; /* nothing to ask: the poll gets no message */
	c->tclo_inflight = v->tclo_queue[0];
	memmove(v->tclo_queue, v->tclo_queue + 1, --v->tclo_nr);
	text = vmport_tclo_text[c->tclo_inflight];
	tlen = strlen(text);
	memcpy(c->in, text, tlen);
	c->in_len = (u32)tlen;
	c->in_pos = 0;
	c->ready = true;
}

int vmport_tools_request(struct vmport *v, enum vmport_tools_req req, struct err *err)
{
	static const u8 map[] = { [VMPORT_TOOLS_HALT] = VMPORT_TCLO_HALT,
				  [VMPORT_TOOLS_REBOOT] = VMPORT_TCLO_REBOOT,
				  [VMPORT_TOOLS_PING] = VMPORT_TCLO_PING };

	if (v->tclo_chan < 0 || !v->tools.running)
		return err_set(err, -ENOTCONN,
			       "%s: no guest tools are listening (vmtoolsd is not running)",
			       v->name);
	if (req != VMPORT_TOOLS_PING && !v->tools.statechange)
		return err_set(err, -EOPNOTSUPP,
			       "%s: the guest's tools did not register the statechange capability",
			       v->name);
	if (v->tclo_nr == VMPORT_TCLO_QUEUE)
		return err_set(err, -EBUSY, "%s: %u requests already wait for the guest's tools",
			       v->name, VMPORT_TCLO_QUEUE);
	vmport_tclo_push(v, map[req]);
	return 0;
}

void vmport_tools_get(const struct vmport *v, struct vmport_tools *out)
{
	*out = v->tools;
}
