// SPDX-License-Identifier: MIT
/*
 * The "cpu" section of the VM spec (docs/spec.md, docs/cpu-model.md): {"model": NAME,
 * "features": {FEATURE: true|false, ...}}. The named model (vmm/base/cpu_model.h; default
 * CPU_MODEL_DEFAULT), then each feature added (true) or removed (false). Unknown models and
 * feature names are refused by name with the parser's usual suggestion, a feature the VMM does
 * not implement is refused when asked for, and so is a result the model cannot run (a feature
 * without what it needs: x2apic without apic, avx2 without avx).
 */
#include "vmm/spec_internal.h"

#include <jansson.h>
#include <string.h>

const char *const spec_cpu_keys[] = { "model", "features", NULL };

void spec_parse_cpu(struct spec_ctx *c, const json_t *root, struct cpu_spec *cs)
{
	char kpath[SPEC_PATH_LEN], fpath[SPEC_PATH_LEN], why[128];
	json_t *cpu = spec_member(root, "", "cpu", kpath), *j, *v;
	unsigned model = 0, errors = c->nr_errors;
	const char *key;

	if (!cpu || !spec_check_object(c, "cpu", cpu, spec_cpu_keys))
		return;
	cs->set = true;
	while (strcmp(cpu_model_names[model], CPU_MODEL_DEFAULT))
		model++;
	SPEC_GET_ENUM(c, cpu, "cpu", "model", cpu_model_names, &model);
	if (!cpu_model_lookup(cpu_model_names[model], &cs->model))
		return;
	j = spec_member(cpu, "cpu", "features", kpath);
	if (!j || !spec_check_object(c, "cpu.features", j, cpu_feature_names))
		return;
	json_object_foreach(j, key, v)
	{
		enum cpu_feature f;
		bool on;

		spec_path_key(fpath, kpath, key);
		if (!spec_get_bool(c, fpath, v, &on) || !cpu_feature_lookup(key, &f))
			continue;
		if (on && !cpu_feature_implemented(f)) {
			spec_err(c, fpath, "CPU feature %s is not supported by this build yet",
				 key);
			continue;
		}
		cpu_model_set(&cs->model, f, on);
	}
	if (c->nr_errors == errors && cpu_model_check(&cs->model, why, sizeof(why)) < 0)
		spec_err(c, "cpu", "CPU model %s with these features cannot run: %s",
			 cs->model.name, why);
}
