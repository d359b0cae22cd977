#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The skip paths of a host without KVM, checked on any host by making this one look like it
(scripts/host-without: a private mount namespace, so it needs root; skipped otherwise).

usage: host_kinds.py {kvm|kvm-unusable} SOURCE_ROOT VMM LIFECYCLE_GUESTS TEST_KVM GUEST_RUNNER
                     TINY_GUESTS
  kvm           /dev/kvm absent;  kvm-unusable: /dev/kvm is not KVM (/dev/null bound over it)

Checked, each as the test suite or a user meets it on such a host:
  vmm host-info says so and `accel auto` picks the BT engine; `vmm run` with accel kvm exits 3
  saying the accelerator is not available; the same guest with accel auto runs (under BT);
  test_kvm, the guest runner, run_guest.sh (kvm) and a lifecycle test (kvm) exit 77 (skip)
  with the reason."""
import os
import subprocess
import sys

from harness import VM, fail, flat_spec, skip

mode, root, vmm, lc_dir, test_kvm, runner, tiny = sys.argv[1:8]
host_without = os.path.join(root, "scripts", "host-without")

if mode not in ("kvm", "kvm-unusable"):
    fail(f"unknown mode {mode}")
if mode not in os.environ.get("VMM_TEST_HOST_LACKS", "").split(","):
    r = subprocess.run([host_without, mode, "--", "true"], capture_output=True, text=True)
    if r.returncode:
        skip(f"cannot make this host look like one without KVM: {r.stderr.strip()}")
    os.execv(host_without, [host_without, mode, "--", sys.executable] + sys.argv)

if mode == "kvm" and os.path.exists("/dev/kvm"):
    fail("/dev/kvm is visible inside host-without kvm")


def run(args, env=None, timeout=120):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                       env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout + r.stderr


def expect_skip(what, args, env=None):
    rc, out = run(args, env)
    if rc != 77:
        fail(f"{what}: exit status {rc}, want 77 (skip)\n{out}")
    reason = next((ln for ln in out.splitlines() if "SKIP" in ln), None)
    if not reason:
        fail(f"{what}: skipped without saying why\n{out}")
    print(f"ok: {what} skips: {reason.strip()}")


rc, out = run([vmm, "host-info"])
want = "/dev/kvm: absent" if mode == "kvm" else "/dev/kvm: present, not usable"
if rc != 0 or want not in out or "accel auto: bt" not in out:
    fail(f"vmm host-info: exit {rc}, want {want!r} and 'accel auto: bt'\n{out}")
print(f"ok: vmm host-info: {want}, accel auto: bt")

poweroff = os.path.join(lc_dir, "poweroff_acpi.bin")
vm = VM(vmm, dict(flat_spec(poweroff), accel="kvm"))
vm.expect_exit(3, "not available")
vm = VM(vmm, dict(flat_spec(poweroff), accel="auto"))
vm.wait_serial("poweroff via ACPI")
vm.expect_exit(0, "powered off")

expect_skip("test_kvm", [test_kvm])
expect_skip("kvm_guest_runner", [runner, os.path.join(tiny, "real_uart.bin"), "0x7c00", "0",
                                 "hello from real mode", "30", "1"])
expect_skip("run_guest.sh (kvm)",
            [os.path.join(root, "tests", "guests", "run_guest.sh"), vmm,
             os.path.join(tiny, "real_uart.json"), "0", "hello from real mode", "kvm"])
expect_skip("lifecycle poweroff (kvm)",
            [sys.executable, os.path.join(root, "tests", "integration", "lifecycle.py"), vmm,
             lc_dir, "poweroff"], env={"VMM_TEST_ACCEL": "kvm"})
print("PASS")
