#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every ioctl request the KVM accelerator issues (an ioctl() in src/vmm/kvm/*.c naming a KVM_
request that <linux/kvm.h> defines with _IO*) is on one of the sandbox's lists in
src/vmm/kvm/kvm_sandbox.c; a missing one would end vmm with status 159 the first time it runs.
Usage: check_kvm_ioctls.py SOURCE_ROOT"""
import glob
import os
import re
import sys

src = sys.argv[1]
kvm_h = open("/usr/include/linux/kvm.h").read()
requests = set(re.findall(r"#define\s+(KVM_[A-Z0-9_]+)\s+_IO", kvm_h))
used = {}
for f in glob.glob(os.path.join(src, "src/vmm/kvm/*.c")):
    if f.endswith("kvm_sandbox.c"):
        continue
    text = re.sub(r"/\*.*?\*/|//[^\n]*", "", open(f).read(), flags=re.S)  # code only
    if "ioctl" not in text:
        continue
    for name in set(re.findall(r"\b(KVM_[A-Z0-9_]+)\b", text)) & requests:
        used.setdefault(name, os.path.basename(f))
allowed = set(re.findall(r"\b(KVM_[A-Z0-9_]+)\b",
                         open(os.path.join(src, "src/vmm/kvm/kvm_sandbox.c")).read()))
missing = sorted(n for n in used if n not in allowed)
if missing:
    print("FAIL: not on any sandbox list in kvm_sandbox.c: " +
          ", ".join(f"{n} ({used[n]})" for n in missing))
    sys.exit(1)
print(f"ok: {len(used)} KVM ioctl requests used, all on the sandbox's lists")
