#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The vmm command line as a user meets it: help, version, validate (examples, errors, --set),
host-info, and accel auto on this host. Usage: cli.py VMM SOURCE_ROOT"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

from harness import fail, kvm_usable

vmm, root = sys.argv[1], sys.argv[2]


def run(*args, stdin=None):
    p = subprocess.run([vmm, *args], capture_output=True, text=True, timeout=60, input=stdin)
    return p.returncode, p.stdout, p.stderr


def expect(args, status, out_has=(), err_has=()):
    rc, out, err = run(*args)
    if rc != status:
        fail(f"vmm {' '.join(args)}: exit {rc}, expected {status}\nstdout: {out}\nstderr: {err}")
    for s in out_has:
        if s not in out:
            fail(f"vmm {' '.join(args)}: stdout lacks {s!r}:\n{out}")
    for s in err_has:
        if s not in err:
            fail(f"vmm {' '.join(args)}: stderr lacks {s!r}:\n{err}")
    return out, err


# Help and version.
expect(["--help"], 0, out_has=["run SPEC.json", "validate SPEC.json", "host-info"])
expect(["--version"], 0, out_has=["vmm "])
for cmd in ("run", "validate", "host-info"):
    expect([cmd, "--help"], 0, out_has=["Usage: vmm " + cmd])
    expect(["help", cmd], 0, out_has=["Usage: vmm " + cmd])
expect(["frobnicate"], 2, err_has=["unknown command 'frobnicate'"])
expect(["run"], 2, err_has=["expected one spec file"])

# Every example spec validates (without checking that the kernels exist).
examples = sorted(glob.glob(os.path.join(root, "config/examples/*.json")))
if len(examples) < 3:
    fail(f"expected example specs in config/examples, found {examples}")
for ex in examples:
    expect(["validate", "--no-file-check", ex], 0, out_has=["valid"])

d = tempfile.mkdtemp(prefix="vmm-cli-")
spec = os.path.join(d, "spec.json")
with open(os.path.join(d, "vmlinuz"), "wb") as f:
    f.write(b"\0" * 1024)
with open(spec, "w") as f:
    json.dump({"name": "demo", "vcpus": 1, "memory_mib": 512, "accel": "auto",
               "boot": {"kernel": "vmlinuz", "initrd": "initrd.img", "cmdline": "console=ttyS0"},
               "serial": {"target": "stdio"}}, f)

# File checks resolve relative paths against the spec's folder and name the JSON path.
out, _ = expect(["validate", spec], 2, out_has=["boot.initrd: "])
if os.path.join(d, "initrd.img") not in out:
    fail(f"the missing initrd's absolute path is not named:\n{out}")
expect(["validate", "--no-file-check", spec], 0, out_has=["512 MiB"])
# --set overrides go through the same checks and messages.
expect(["validate", "--no-file-check", "--set", "memory_mib=1024", spec], 0,
       out_has=["1024 MiB"])
expect(["validate", "--no-file-check", "--set", "vcpus=0", spec], 2,
       out_has=["vcpus: must be 1..255, got 0"])
# Every problem is reported, not just the first.
out, _ = expect(["validate", "--no-file-check", "--set", "vcpus=0", "--set", "accel=fast",
                 spec], 2)
if "vcpus:" not in out or "accel:" not in out:
    fail(f"expected both problems reported:\n{out}")
# run refuses an invalid spec with the same message and exit status 2.
expect(["run", "--set", "vcpus=300", spec], 2, err_has=["vcpus: must be 1..255, got 300"])

# host-info names what the host has and what auto picks, and why.
out, _ = expect(["host-info"], 0, out_has=["auto accelerator:"])
with open("/proc/cpuinfo") as f:
    flags = f.read()
hw = re.search(r"^flags\s*:.*\b(vmx|svm)\b", flags, re.M) is not None
assist_mod = any(os.path.exists(f"/sys/module/{m}") for m in ("kvm_intel", "kvm_amd"))
kvm_why = kvm_usable()
kind = ("real KVM" if hw and assist_mod and not kvm_why else
        "PVM KVM" if not kvm_why and os.path.exists("/sys/module/kvm_pvm") else
        "KVM without hardware assist" if not kvm_why else f"no usable KVM ({kvm_why})")
print(f"host kind: {kind}")
if hw and assist_mod and not kvm_why:
    if "auto accelerator: kvm" not in out:
        fail(f"hardware-assisted KVM is usable here, yet auto does not pick kvm:\n{out}")
elif "auto accelerator: bt" not in out:
    fail(f"no hardware-assisted KVM here ({kind}), yet auto does not pick bt:\n{out}")
if not hw:
    if "auto accelerator: bt" not in out:
        fail(f"no vmx/svm on this host, yet auto does not pick bt:\n{out}")
    if os.path.exists("/sys/module/kvm_pvm") and "kvm_pvm" not in out:
        fail(f"host-info does not mention the kvm_pvm module:\n{out}")
    # accel auto picks the BT engine here; whatever it can do, it never hangs and says why.
    with open(spec, "w") as f:
        json.dump({"name": "demo", "memory_mib": 64, "accel": "auto",
                   "boot": {"kernel": "vmlinuz"}, "serial": {"target": "none"}}, f)
    rc, out, err = run("run", spec)
    if "no hardware virtualization" not in err or "BT engine" not in err:
        fail(f"accel auto does not explain its choice:\n{err}")
    if rc == 3 and "not available" not in err:
        fail(f"accelerator unavailable without a reason:\n{err}")
print("ok: cli")
