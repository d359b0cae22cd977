#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every config/examples/*.json passes `vmm validate` with its files checked, as a user sees
it after the README's commands: the examples name the default guest (build/guest, from
scripts/build-guest.sh), programs and blank disks the build makes (build/tests/..,
build/config/..) and Debian's SeaBIOS (the seabios package, in scripts/deps.sh).

The examples' paths lead into build/ (the tree the README's commands use): in another build
tree the test skips, as it does when build/guest has no guest yet.
Usage: check_examples.py VMM SOURCE_ROOT BUILD_ROOT"""
import glob
import os
import subprocess
import sys

vmm, root, build = sys.argv[1:4]
readme_tree = os.path.join(root, "build")
if os.path.realpath(build) != os.path.realpath(readme_tree):
    print(f"SKIP: the examples name files under {readme_tree} (the README's tree); "
          f"this tree is {build}")
    sys.exit(77)
kernel = os.path.join(readme_tree, "guest", "vmlinuz-cloud")
if not os.path.exists(kernel):
    print(f"SKIP: no default guest ({kernel}): scripts/build-guest.sh build/guest makes it")
    sys.exit(77)

examples = sorted(glob.glob(os.path.join(root, "config", "examples", "*.json")))
failures = 0
for ex in examples:
    p = subprocess.run([vmm, "validate", ex], capture_output=True, text=True, timeout=30)
    if p.returncode != 0 or ": valid (" not in p.stdout:
        print(f"FAIL {os.path.basename(ex)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
        failures += 1
    else:
        print(f"ok   {p.stdout.strip()}")
if len(examples) < 7:
    print(f"FAIL expected at least 7 examples, found {len(examples)}")
    failures += 1
if failures and not os.path.exists("/usr/share/seabios/bios.bin"):
    print("hint: /usr/share/seabios/bios.bin is Debian's seabios package (scripts/deps.sh test)")
print(f"{len(examples)} examples, {failures} failures")
sys.exit(1 if failures else 0)
