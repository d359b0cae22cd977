// SPDX-License-Identifier: MIT
/*
 * A validated struct vm_spec back to JSON (spec.h spec_to_json): the spec as
 * the VMM runs it, with every default filled in and every path absolute, in
 * the schema's own keys (config/vm-spec.schema.json), so that the text parses
 * back to the same struct. This is vm.info's "config" (the API's "config ==
 * body" rule: what vm.create takes, vm.info gives back) and what snapshots
 * will store.
 */
#include "vmm/spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void spec_json_set(json_t *o, const char *key, json_t *v)
{
	json_object_set_new(o, key, v);
}

static json_t *spec_json_hex(u64 v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_string(buf);
}

static json_t *spec_json_boot(const struct boot_spec *b)
{
	json_t *o = json_object();

	spec_json_set(o, boot_kind_name(b->kind), json_string(b->image));
	switch (b->kind) {
	case BOOT_LINUX:
		if (b->initrd)
			spec_json_set(o, "initrd", json_string(b->initrd));
		spec_json_set(o, "cmdline", json_string(b->cmdline));
		spec_json_set(
			o, "decompress",
			json_string(b->decompress == BOOT_DECOMPRESS_GUEST ? "guest" : "host"));
		break;
	case BOOT_MULTIBOOT: {
		json_t *mods = json_array();

		spec_json_set(o, "cmdline", json_string(b->cmdline));
		for (unsigned i = 0; i < b->nr_modules; i++)
			json_array_append_new(mods,
					      json_pack("{s:s,s:s}", "path", b->modules[i].path,
							"cmdline", b->modules[i].cmdline));
		spec_json_set(o, "modules", mods);
		break;
	}
	case BOOT_FLAT:
		spec_json_set(o, "load_address", spec_json_hex(b->load_address));
		break;
	case BOOT_FIRMWARE:
		if (b->firmware_vars)
			spec_json_set(o, "firmware_vars", json_string(b->firmware_vars));
		if (!b->fw_kernel)
			break;
		spec_json_set(o, "kernel", json_string(b->fw_kernel));
		if (b->initrd)
			spec_json_set(o, "initrd", json_string(b->initrd));
		spec_json_set(o, "cmdline", json_string(b->cmdline));
		break;
	}
	return o;
}

static json_t *spec_json_disk(const struct disk_spec *d)
{
	json_t *o =
		json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "path", d->path, "format",
			  disk_format_name(d->format), "bus", disk_bus_name(d->bus), "cache",
			  disk_cache_name(d->cache), "readonly", d->readonly, "cdrom", d->cdrom);

	if (o && d->serial)
		spec_json_set(o, "serial", json_string(d->serial));
	if (o && d->has_boot_index)
		spec_json_set(o, "boot_index", json_integer(d->boot_index));
	return o;
}

static json_t *spec_json_nic(const struct nic_spec *n)
{
	json_t *o = json_pack("{s:s,s:s}", "backend", nic_backend_name(n->backend), "model",
			      nic_model_name(n->model));
	char mac[18];

	if (o && n->mac_set) {
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		spec_json_set(o, "mac", json_string(mac));
	}
	if (o && n->tap)
		spec_json_set(o, "tap", json_string(n->tap));
	if (o)
		spec_json_set(o, "queues", json_integer(n->queues));
	if (o && n->mtu)
		spec_json_set(o, "mtu", json_integer(n->mtu));
	if (o && n->backend == NIC_BACKEND_USER) {
		json_t *fwd = json_array();

		for (unsigned i = 0; i < n->nr_hostfwd; i++)
			json_array_append_new(fwd, json_string(n->hostfwd[i].rule));
		char net[24];

		snprintf(net, sizeof(net), "%u.%u.%u.%u/%u", n->net >> 24, n->net >> 16 & 255,
			 n->net >> 8 & 255, n->net & 255, n->net_prefix);
		spec_json_set(o, "net", json_string(net));
		spec_json_set(o, "hostfwd", fwd);
		spec_json_set(o, "dns", json_boolean(n->dns));
		spec_json_set(o, "restrict", json_boolean(n->restrict_out));
	}
	return o;
}

static json_t *spec_json_serial(const struct serial_spec *se)
{
	json_t *o = json_pack("{s:s}", "target", serial_target_name(se->target));

	if (o && se->path)
		spec_json_set(o, "path", json_string(se->path));
	return o;
}

/* uuid, guestinfo, hypercall, consoles, rng (spec_paravirt.c). */
static void spec_json_paravirt(json_t *o, const struct vm_spec *s)
{
	char uuid[37];

	spec_uuid_format(s->uuid, uuid);
	spec_json_set(o, "uuid", json_string(uuid));
	if (s->guestinfo.nr) {
		json_t *gi = json_object();

		for (unsigned i = 0; i < s->guestinfo.nr; i++)
			spec_json_set(gi, s->guestinfo.keys[i],
				      json_string(s->guestinfo.values[i]));
		spec_json_set(o, "guestinfo", gi);
	}
	spec_json_set(o, "hypercall",
		      json_pack("{s:b,s:s}", "vmware_backdoor", s->hypercall.vmware_backdoor,
				"identity", hypercall_identity_name(s->hypercall.identity)));
	if (s->nr_consoles) {
		json_t *arr = json_array();

		for (unsigned i = 0; i < s->nr_consoles; i++) {
			json_t *p = spec_json_serial(&s->consoles[i].target);

			if (p && s->consoles[i].name)
				spec_json_set(p, "name", json_string(s->consoles[i].name));
			json_array_append_new(arr, p);
		}
		spec_json_set(o, "consoles", arr);
	}
	if (s->rng.present) {
		json_t *r = json_object();

		if (s->rng.bytes_per_second)
			spec_json_set(r, "bytes_per_second",
				      json_integer((json_int_t)s->rng.bytes_per_second));
		spec_json_set(o, "rng", r);
	}
}

/* "cpu": the named model and, under "features", every feature where the spec's CPU differs. */
static json_t *spec_json_cpu(const struct cpu_spec *c)
{
	struct cpu_model named;
	json_t *o = json_pack("{s:s}", "model", c->model.name), *feats = json_object();

	if (o && feats && cpu_model_lookup(c->model.name, &named)) {
		for (unsigned i = 0; i < cpu_nr_features(); i++) {
			enum cpu_feature f = cpu_feature_at(i);
			bool on = cpu_model_has(&c->model, f);

			if (on != cpu_model_has(&named, f))
				spec_json_set(feats, cpu_feature_name(f), json_boolean(on));
		}
	}
	if (o && feats && json_object_size(feats)) {
		spec_json_set(o, "features", feats);
		feats = NULL;
	}
	json_decref(feats);
	return o;
}

static json_t *spec_json_tree(const struct vm_spec *s)
{
	json_t *o = json_object(), *debug;

	spec_json_set(o, "name", json_string(s->name));
	spec_json_set(o, "vcpus", json_integer(s->vcpus));
	spec_json_set(o, "memory_mib", json_integer((json_int_t)s->memory_mib));
	spec_json_set(o, "accel", json_string(spec_accel_name(s->accel)));
	spec_json_set(o, "machine", json_string(spec_machine_name(s->machine)));
	spec_json_set(o, "boot", spec_json_boot(&s->boot));
	spec_json_set(o, "serial", spec_json_serial(&s->serial));
	spec_json_set(o, "on_reset", json_string(spec_on_reset_name(s->on_reset)));
	spec_json_set(o, "on_triple_fault",
		      json_string(spec_on_triple_fault_name(s->on_triple_fault)));
	debug = json_pack("{s:b, s:b, s:b, s:b}", "test_device", s->debug.test_device, "pc_testdev",
			  s->debug.pc_testdev, "pci_testdev", s->debug.pci_testdev, "fw_cfg",
			  s->debug.fw_cfg);
	if (debug && s->debug.has_exit_port) {
		spec_json_set(debug, "exit_port", spec_json_hex(s->debug.exit_port));
		spec_json_set(debug, "exit_code_style",
			      json_string(spec_exit_code_style_name(s->debug.exit_code_style)));
	}
	if (debug && s->debug.firmware_log)
		spec_json_set(debug, "firmware_log", json_string(s->debug.firmware_log));
	if (debug && s->debug.state_roundtrip_ms)
		spec_json_set(debug, "state_roundtrip_ms",
			      json_integer(s->debug.state_roundtrip_ms));
	spec_json_set(o, "debug", debug);
	if (s->nr_disks) {
		json_t *disks = json_array();

		for (unsigned i = 0; i < s->nr_disks; i++)
			json_array_append_new(disks, spec_json_disk(&s->disks[i]));
		spec_json_set(o, "disks", disks);
	}
	if (s->nr_nics) {
		json_t *nics = json_array();

		for (unsigned i = 0; i < s->nr_nics; i++)
			json_array_append_new(nics, spec_json_nic(&s->nics[i]));
		spec_json_set(o, "nics", nics);
	}
	if (s->display.type != DISPLAY_NONE) {
		json_t *d = json_pack("{s:s}", "type", display_type_name(s->display.type));
		char listen[4200];

		if (s->display.listen_path)
			snprintf(listen, sizeof(listen), "unix:%s", s->display.listen_path);
		else if (s->display.listen_host && strchr(s->display.listen_host, ':')) /* IPv6 */
			snprintf(listen, sizeof(listen), "[%s]:%u", s->display.listen_host,
				 s->display.listen_port);
		else if (s->display.listen_host)
			snprintf(listen, sizeof(listen), "%s:%u", s->display.listen_host,
				 s->display.listen_port);
		if (s->display.type == DISPLAY_VNC)
			json_object_set_new(d, "listen", json_string(listen));
		if (s->display.rom)
			json_object_set_new(d, "rom", json_string(s->display.rom));
		json_object_set_new(d, "vram_mib", json_integer(s->display.vram_mib));
		spec_json_set(o, "display", d);
	}
	if (s->control.path)
		spec_json_set(o, "control", json_pack("{s:s}", "path", s->control.path));
	spec_json_paravirt(o, s);
	if (s->cpu.set) /* only then: under KVM a "cpu" section is refused */
		spec_json_set(o, "cpu", spec_json_cpu(&s->cpu));
	return o;
}

char *spec_to_json(const struct vm_spec *s)
{
	json_t *o = spec_json_tree(s);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(o);
	return text;
}

int spec_add_nic(const struct vm_spec *cur, const char *nic_json, struct nic_spec *out,
		 struct diag *d)
{
	char *text = spec_to_json(cur), *grown = NULL;
	json_t *root = text ? json_loads(text, 0, NULL) : NULL, *nic, *nics;
	struct vm_spec tmp;
	json_error_t je;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	free(text);
	if (!root)
		goto out;
	nic = json_loads(nic_json, JSON_REJECT_DUPLICATES, &je);
	if (!nic || !json_is_object(nic)) {
		diag_add(d, "", "the body must be one NIC object, as an entry of \"nics\"");
		json_decref(nic);
		ret = -EINVAL;
		goto out;
	}
	nics = json_object_get(root, "nics");
	if (!nics) {
		nics = json_array();
		json_object_set_new(root, "nics", nics);
	}
	json_array_append_new(nics, nic);
	grown = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!grown)
		goto out;
	ret = spec_parse_string(grown, NULL, NULL, 0, 0, &tmp, d);
	if (ret < 0)
		goto out;
	*out = tmp.nics[tmp.nr_nics - 1]; /* moved: the rest goes */
	memset(&tmp.nics[tmp.nr_nics - 1], 0, sizeof(*out));
	spec_free(&tmp);
out:
	json_decref(root);
	free(grown);
	return ret;
}
