#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The "cpu" spec keys have the effect they name: `vmm run` (accel bt) of the CPUID probe
(guests/cpuid_probe.S), which prints the vendor, the signature and the nine CPUID feature
words of enum cpu_fword (src/vmm/base/cpu_model.h).

  - each named model shows its vendor and signature, and the default is epyc;
  - each feature the VMM implements, flipped against epyc ("x": false if epyc has it, true if
    not), changes exactly its own CPUID bit, or the spec is refused because a feature still
    there needs it ("cannot run: ... needs x");
  - the features it does not implement are refused when asked for (tests/specs/keys.json
    checks that through vmm validate).

Usage: cpu_effects.py VMM PROBE_BIN SOURCE_ROOT WORK_DIR. Exit 0 pass, 1 fail."""
import json
import os
import re
import subprocess
import sys

vmm, probe, root, work = (os.path.abspath(a) for a in sys.argv[1:5])
MODELS = {"k8": ("AuthenticAMD", 0x00020fb1), "x86-64-v2": ("AuthenticAMD", 0x00a00f11),
          "epyc": ("AuthenticAMD", 0x00a00f11), "icelake": ("GenuineIntel", 0x000606a6)}
WORDS = ["CPU_FW_1_EDX", "CPU_FW_1_ECX", "CPU_FW_7_EBX", "CPU_FW_7_ECX", "CPU_FW_7_EDX",
         "CPU_FW_X1_EDX", "CPU_FW_X1_ECX", "CPU_FW_D1_EAX", "CPU_FW_X7_EDX"]
LINE = re.compile(r"cpuid (\w{12}) ([0-9a-f]{8})((?: [0-9a-f]{8}){9})\n")
failures = []


def features():
    with open(os.path.join(root, "src/vmm/base/cpu_model.h")) as f:
        text = f.read()
    return [(n, WORDS.index(w), int(b), i == "1")
            for n, w, b, i in re.findall(r'X\(\w+, "([^"]+)", (CPU_FW_\w+), (\d+), (\d)\)', text)]


def run(cpu, tag):
    os.makedirs(work, exist_ok=True)
    spec = {"name": "cpu-probe", "memory_mib": 4, "accel": "bt",
            "boot": {"flat": probe, "load_address": "0x7c00"},
            "serial": {"target": "stdio"}, "debug": {"exit_port": "0xf4"}}
    if cpu is not None:
        spec["cpu"] = cpu
    path = os.path.join(work, f"{tag}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    p = subprocess.run([vmm, "run", path], capture_output=True, text=True, timeout=60)
    m = LINE.search(p.stdout)
    if p.returncode == 0 and m:
        return {"vendor": m.group(1), "sig": int(m.group(2), 16),
                "words": [int(w, 16) for w in m.group(3).split()]}
    return {"rc": p.returncode, "err": p.stderr + p.stdout}


def main():
    feats = features()
    seen = {}
    for name, (vendor, sig) in MODELS.items():
        r = run({"model": name}, name)
        seen[name] = r
        if "words" not in r:
            failures.append(f"model {name}: no probe output: {r}")
        elif r["vendor"] != vendor or r["sig"] != sig:
            failures.append(f"model {name}: {r['vendor']} {r['sig']:#x}, want {vendor} {sig:#x}")
    default = run(None, "default")
    if "words" not in seen["epyc"] or default.get("words") != seen["epyc"]["words"]:
        failures.append(f"no cpu section: {default}, not epyc's {seen['epyc']}")
    base = seen["epyc"].get("words")
    flipped = refused = 0
    for name, word, bit, impl in feats:
        if not impl or base is None:
            continue
        has = bool(base[word] >> bit & 1)
        r = run({"features": {name: not has}}, "f-" + name)
        if "words" in r:
            want = list(base)
            want[word] ^= 1 << bit
            got = r["words"]
            # AMD mirrors leaf 1 EDX in 8000_0001h EDX (APM vol. 3 E.4.2).
            if word == 0:
                want[5] = (want[5] & ~0x0183f3ff) | (want[0] & 0x0183f3ff)
            if got != want:
                failures.append(f"{name}: {not has}: words {[hex(w) for w in got]}, "
                                f"want {[hex(w) for w in want]}")
            flipped += 1
        elif r["rc"] == 2 and "cannot run" in r["err"] and "needs " + name in r["err"]:
            refused += 1
        else:
            failures.append(f"{name}: {not has}: vmm exit {r['rc']}: {r['err'][-300:]}")
    for msg in failures:
        print(f"FAIL {msg}")
    print(f"{len(MODELS)} models, {flipped} features flipped, {refused} refused as needed by "
          f"another, {len(failures)} problems")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
