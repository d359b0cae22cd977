/* SPDX-License-Identifier: MIT */
/*
 * Host capability detection (see hostinfo.h). Sources: /proc/cpuinfo
 * ("model name", "flags": vmx = Intel VT-x, SDM vol. 3C 23.6; svm = AMD-V,
 * APM vol. 2 15.4), /sys/module/{kvm,kvm_intel,kvm_amd,kvm_pvm}, and
 * /dev/kvm through kvm_host_query() (vmm/kvm/kvm.h).
 */
#include "vmm/hostinfo.h"

#include "vmm/base/err.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool host_info_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; (p = strstr(p, word)) != NULL; p += n) {
		bool start = p == list || p[-1] == ' ' || p[-1] == '\t';
		bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';

		if (start && end)
			return true;
	}
	return false;
}

static void host_info_cpuinfo(struct host_info *hi)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	bool got_flags = false;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');
		char *val;

		if (!colon)
			continue;
		val = colon + 1 + (colon[1] == ' ');
		if (!hi->cpu_model[0] && strncmp(line, "model name", 10) == 0) {
			snprintf(hi->cpu_model, sizeof(hi->cpu_model), "%s", val);
			hi->cpu_model[strcspn(hi->cpu_model, "\n")] = '\0';
		} else if (!got_flags && strncmp(line, "flags", 5) == 0) {
			hi->cpu_vmx = host_info_has_word(val, "vmx");
			hi->cpu_svm = host_info_has_word(val, "svm");
			got_flags = true;
		}
		if (hi->cpu_model[0] && got_flags)
			break;
	}
	fclose(f);
}

static bool host_info_module(const char *name)
{
	char path[64];
	struct stat sb;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

void host_info_probe(struct host_info *hi)
{
	struct err err = { 0 };

	memset(hi, 0, sizeof(*hi));
	host_info_cpuinfo(hi);
	hi->mod_kvm = host_info_module("kvm");
	hi->mod_kvm_intel = host_info_module("kvm_intel");
	hi->mod_kvm_amd = host_info_module("kvm_amd");
	hi->mod_kvm_pvm = host_info_module("kvm_pvm");
	hi->kvm_present = access("/dev/kvm", F_OK) == 0;
	if (kvm_host_query(&hi->kvm, &err) == 0 && hi->kvm.api_version > 0) {
		hi->kvm_usable = true;
	} else {
		snprintf(hi->kvm_error, sizeof(hi->kvm_error), "%s",
			 err.msg[0] ? err.msg : "/dev/kvm did not answer KVM_GET_API_VERSION");
	}
}

bool host_info_hw_assist(const struct host_info *hi, char *why, size_t why_len)
{
	char tmp[256];
	bool cpu = hi->cpu_vmx || hi->cpu_svm;
	bool mod = hi->mod_kvm_intel || hi->mod_kvm_amd;
	bool ok = cpu && mod && hi->kvm_usable;

	if (!why) {
		why = tmp;
		why_len = sizeof(tmp);
	}
	if (ok)
		snprintf(why, why_len, "%s with %s loaded and /dev/kvm usable",
			 hi->cpu_vmx ? "vmx (Intel VT-x)" : "svm (AMD-V)",
			 hi->mod_kvm_intel ? "kvm_intel" : "kvm_amd");
	else if (!cpu)
		snprintf(why, why_len, "no vmx/svm CPU flag in /proc/cpuinfo%s",
			 hi->mod_kvm_pvm ? "; kvm_pvm is loaded (software-only KVM, not hardware "
					   "assist)" :
					   "");
	else if (!mod)
		snprintf(why, why_len, "CPU has %s but neither kvm_intel nor kvm_amd is loaded%s",
			 hi->cpu_vmx ? "vmx" : "svm",
			 hi->mod_kvm_pvm ? " (kvm_pvm is not hardware assist)" : "");
	else
		snprintf(why, why_len, "hardware assist present but /dev/kvm unusable: %s",
			 hi->kvm_error);
	return ok;
}

void host_info_print(const struct host_info *hi, FILE *out)
{
	char why[256];
	bool hw = host_info_hw_assist(hi, why, sizeof(why));

	fprintf(out, "cpu: %s\n", hi->cpu_model[0] ? hi->cpu_model : "(unknown)");
	fprintf(out, "cpu flags: vmx %s, svm %s\n", hi->cpu_vmx ? "yes" : "no",
		hi->cpu_svm ? "yes" : "no");
	fprintf(out, "modules: kvm %s, kvm_intel %s, kvm_amd %s, kvm_pvm %s\n",
		hi->mod_kvm ? "loaded" : "no", hi->mod_kvm_intel ? "loaded" : "no",
		hi->mod_kvm_amd ? "loaded" : "no", hi->mod_kvm_pvm ? "loaded" : "no");
	fprintf(out, "/dev/kvm: %s\n",
		hi->kvm_usable ? "usable" : (hi->kvm_present ? "present, not usable" : "absent"));
	if (!hi->kvm_usable && hi->kvm_error[0])
		fprintf(out, "  reason: %s\n", hi->kvm_error);
	if (hi->kvm_usable) {
		fprintf(out, "kvm api version: %d\n", hi->kvm.api_version);
		fprintf(out, "kvm capabilities:\n");
		for (unsigned i = 0; i < hi->kvm.nr_caps; i++)
			fprintf(out, "  %-24s %d\n", hi->kvm.caps[i].name, hi->kvm.caps[i].value);
	}
	fprintf(out, "hardware assist: %s (%s)\n", hw ? "yes" : "no", why);
	fprintf(out, "accel auto: %s\n", hw ? "kvm" : "bt");
}
