#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Snapshots (docs/snapshots.md) with the counter guest (guests/snap_counter.S), real `vmm run`
processes and the control API.

usage: snapshot.py VMM VMMCTL VMM_IMG GUEST_DIR CASE

  continue   the guest counts (PIT interrupts through the PIC) and 16 bytes wait in the UART's
             receive FIFO; vm.snapshot with "resume": false, the process killed, `vmm run
             --restore` in a new process: the count goes on at the next value with no gap and
             no repeat, the bytes come out of the FIFO, the memory walk holds, no second boot
  twice      the same snapshot restored twice, one process after the other: both print the
             same lines from the same value on; the VM has a display (VGA with Bochs VBE, its
             i8042 keyboard and mouse), the VMware backdoor, a virtio-console port and
             virtio-rng, whose state sections the state file carries and the restores load
  api        vmmctl snapshot (the VM runs on afterwards) and vmmctl restore (--paused, then
             resume) on a VMM started empty; vm.restore on a VMM that has a VM; events
  refusals   restores refused with their messages and nothing started: a damaged state
             (checksum), a newer format, an unknown section (a skippable one loads), a format 2
             state without its devmem section (a format 1 one, written before video RAM
             was carried, loads), a cut
             state file, a missing memory file, a spec that does not match (memory_mib,
             vcpus); snapshots refused: into a directory holding one, a relative path, with a
             writable raw disk, with no VM
  disks      a writable VMDK disk is frozen at the snapshot: the VM goes on in a new delta,
             the frozen image keeps its bytes while the VM and two restores write (each restore
             in a delta of its own)
  firmware-vars  a firmware (guests/flash_vars.S) programs its variable store before and after
             a snapshot: the snapshot carries the store as it was (firmware_vars.fd), the VM goes
             on with its own file, each of two restores finds the byte written after the
             snapshot erased, in a copy of its own; a missing or short copy is refused
  cross      a snapshot taken under bt restores under kvm (the count goes on, the PIT keeps
             interrupting, the FIFO's bytes come out), and a snapshot of that VM restores
             under bt again, the count unbroken (needs /dev/kvm)

VMM_TEST_ACCEL picks the accelerator (kvm cases skip without KVM)."""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

from harness import ACCEL, fail, kvm_usable, require_accel, skip
from snaptest import COUNT_RE, Vmm, consecutive, kill_all

vmm, vmmctl, vmm_img, guests, case = sys.argv[1:6]
COUNTER = os.path.join(guests, "snap_counter.bin")
FIFO_BYTES = b"0123456789abcdef"


def check(cond, what, *context):
    if not cond:
        fail(what + "".join(f"\n{c}" for c in context))


def counter_spec(tmp, **extra):
    s = {"name": "snap-test", "memory_mib": 16, "accel": ACCEL,
         "boot": {"flat": COUNTER, "load_address": "0x7c00"},
         "serial": {"target": "unix", "path": os.path.join(tmp, "boot-serial.sock")}}
    s.update(extra)
    path = os.path.join(tmp, "spec.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def boot(tmp, **extra):
    v = Vmm(vmm, [counter_spec(tmp, **extra), "--set", "serial.path=@SERIAL@"], "src", tmp)
    v.wait_api()
    v.open_console()
    return v


def snapshot(v, snap, resume=False, want=204):
    r = v.api.put("vm.snapshot", {"destination_url": "file://" + snap, "resume": resume},
                  timeout=300)
    check(r.status == want, f"vm.snapshot: {r!r}", v.stderr())
    return r


def restore(tmp, snap, name, extra=()):
    v = Vmm(vmm, ["--restore", snap, "--set", "serial.path=@SERIAL@"] + list(extra), name, tmp)
    v.wait_api()
    v.open_console()
    return v


def take_counter_snapshot(tmp, **extra):
    """Boot, put FIFO_BYTES in the UART's FIFO between two drains, snapshot Paused. Returns
    (snapshot dir, the source's console text, count at which the bytes were sent). The VM may
    have paused in the middle of a line: the restored VM prints the rest of it."""
    src = boot(tmp, **extra)
    c = src.console
    # Right after a drain (counts that are multiples of 16 drain), so the bytes wait ~14 counts.
    vals = c.wait_count(lambda v: v[-1] >= 17 and v[-1] % 16 == 1, "count 16k+1", proc=src.proc)
    sent_at = vals[-1]
    c.send(FIFO_BYTES)
    time.sleep(0.05)
    snap = os.path.join(tmp, "snap")
    snapshot(src, snap)
    check(src.api.state() == "Paused", "the VM is not Paused after vm.snapshot resume=false")
    time.sleep(0.3)  # the console has everything the guest printed before the pause
    vals, ok = c.counts()
    check(ok, "the memory walk broke before the snapshot", c.text()[-400:])
    last = vals[-1]
    check(last < (sent_at // 16 + 1) * 16,
          f"the snapshot came too late: count {last} drained the FIFO already")
    time.sleep(0.2)
    text = c.text()
    time.sleep(0.2)
    check(c.text() == text, "a Paused VM went on printing", text[-200:], c.text()[-200:])
    src.kill()
    return snap, text, sent_at


def check_continues(v, src_text, sent_at, upto=40):
    """The source's console followed by the restored VM's is one unbroken count."""
    c = v.console
    first = COUNT_RE.findall(src_text)
    last = int(first[-1][0], 16) if first else 0
    c.wait_count(lambda vs: vs[-1] >= last + upto, f"count {last + upto}", proc=v.proc)
    both = src_text + c.text()
    vals = [int(m.group(1), 16) for m in COUNT_RE.finditer(both)]
    bad = consecutive(vals, 1)
    check(bad is None, f"the count does not go on across the restore: {bad}",
          src_text[-120:] + "|" + c.text()[:200])
    check(all(m.group(2) == "m=ok" for m in COUNT_RE.finditer(both)),
          "the memory walk broke", c.text()[-400:])
    check(both.count("boot") == 1, "the restored guest booted again", c.text()[:200])
    drain = f"r={FIFO_BYTES.decode()}"
    check(drain in c.text(), f"the bytes in the UART FIFO were lost (no {drain!r})",
          c.text()[:800])
    return last


def case_continue():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    snap, src_text, sent_at = take_counter_snapshot(tmp)
    for f in ("config.json", "state", "memory"):
        check(os.path.exists(os.path.join(snap, f)), f"the snapshot has no {f}")
    # Sparse: 16 MiB of RAM, a few pages touched.
    st = os.stat(os.path.join(snap, "memory"))
    check(st.st_size == 16 << 20 and st.st_blocks * 512 < 4 << 20,
          f"memory file: {st.st_size} bytes, {st.st_blocks * 512} allocated")
    dst = restore(tmp, snap, "dst")
    check(dst.api.state() == "Running", "the restored VM is not Running")
    last = check_continues(dst, src_text, sent_at)
    # The console works both ways after the restore: bytes sent now are drained too.
    dst.console.send(b"Z")
    dst.console.wait_count(lambda vs: "r=Z" in dst.console.text(), "the byte Z drained",
                           proc=dst.proc)
    dst.kill()
    print(f"ok: restored at count {last + 1}, FIFO bytes kept, console live")


# The instance names of the devices that come with the display and the paravirtual interfaces
# (each device record names its instance after its type, docs/snapshots.md).
PV_DEVICES = ("vga0", "i8042", "vmport", "virtio-console0", "virtio-rng0")


def devices_spec(tmp):
    return {"display": {"type": "headless", "rom": "/usr/share/seabios/vgabios-stdvga.bin"},
            "hypercall": {"vmware_backdoor": True},
            "rng": {},
            "consoles": [{"target": "file", "path": os.path.join(tmp, "hvc0.out")}]}


def case_twice():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    snap, src_text, sent_at = take_counter_snapshot(tmp, **devices_spec(tmp))
    state = bytes(read_state(snap))
    for name in PV_DEVICES:
        check(bytes([len(name)]) + name.encode() in state, f"the state file has no {name} record")
    outs = []
    for i in range(2):
        v = restore(tmp, snap, f"r{i}")
        last = check_continues(v, src_text, sent_at, upto=34)
        text = v.console.text()
        # Up to the line of count last+34 (the runs are cut at different moments after it).
        end = text.index(f"c={last + 34:08x}")
        outs.append(text[:end])
        v.kill()
    check(outs[0] == outs[1], "two restores of one snapshot printed different lines",
          outs[0][-300:], outs[1][-300:])
    print(f"ok: two restores printed the same {len(outs[0])} bytes from count {last + 1}")


def vmmctl_run(sock, *args, timeout=120):
    return subprocess.run([vmmctl, "--socket", sock] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def case_api():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    src = boot(tmp)
    c = src.console
    c.wait_count(lambda v: v[-1] >= 3, "count 3", proc=src.proc)
    snap = os.path.join(tmp, "snap1")
    r = vmmctl_run(src.api_path, "snapshot", snap)
    check(r.returncode == 0 and "snapshot written" in r.stdout, f"vmmctl snapshot: {r}")
    check(src.api.state() == "Running", "vmmctl snapshot: the VM did not run on")
    e = src.api.wait_event("snapshotted")
    check("MiB of RAM" in e["properties"]["message"], f"event: {e}")
    n = c.counts()[0][-1]
    c.wait_count(lambda v: v[-1] >= n + 3, "counting on after the snapshot", proc=src.proc)
    # A second snapshot into the same directory is refused; the VM goes on running.
    r = src.api.put("vm.snapshot", {"destination_url": "file://" + snap}, timeout=60)
    check(r.status == 409 and "holds a snapshot already" in r.json()["error"]["desc"],
          f"snapshot into a used directory: {r!r}")
    check(src.api.state() == "Running", "a refused snapshot left the VM paused")
    # vm.restore where a VM exists.
    r = src.api.put("vm.restore", {"source_url": "file://" + snap})
    check(r.status == 409, f"vm.restore with a VM: {r!r}")
    src.kill()

    # The snapshot's console socket was the killed source's: the restore takes the path over.
    empty = Vmm(vmm, [], "empty", tmp)
    empty.wait_api()
    r = vmmctl_run(empty.api_path, "restore", snap, "--paused")
    check(r.returncode == 0, f"vmmctl restore --paused: {r}", empty.stderr())
    check(empty.api.state() == "Paused", "restore --paused: not Paused")
    info = empty.api.get("vm.info").json()
    check(info["engine"] == ACCEL, f"vm.info after restore: {info}")
    empty.serial_path = src.serial_path
    cons = empty.open_console()
    time.sleep(0.3)
    check(not cons.counts()[0], "a VM restored Paused ran")
    r = vmmctl_run(empty.api_path, "resume")
    check(r.returncode == 0, f"resume: {r}")
    cons.wait_count(lambda v: len(v) >= 5, "counting after resume", proc=empty.proc)
    bad = consecutive(cons.counts()[0], cons.counts()[0][0])
    check(bad is None, f"restored counter: {bad}")
    e = empty.api.wait_event("restored")
    check("restored from" in e["properties"]["message"], f"event: {e}")
    empty.kill()
    print("ok: vmmctl snapshot/restore, refusals with a VM, events")


def read_state(snap):
    with open(os.path.join(snap, "state"), "rb") as f:
        return bytearray(f.read())


def write_state(snap, data, fix_crc=True):
    if fix_crc:
        data[-4:] = struct.pack("<I", zlib.crc32(bytes(data[:-4])))
    with open(os.path.join(snap, "state"), "wb") as f:
        f.write(data)


def restore_refused(tmp, snap, want, extra=()):
    r = subprocess.run([vmm, "run", "--restore", snap, "--set",
                        f"serial.path={os.path.join(tmp, 'refused.sock')}"] + list(extra),
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and want in r.stderr and "nothing was started" in r.stderr,
          f"restore of {snap} {extra}: status {r.returncode}, want {want!r}", r.stderr)


def case_refusals():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    src = boot(tmp)
    src.console.wait_count(lambda v: v[-1] >= 2, "count 2", proc=src.proc)
    good = os.path.join(tmp, "good")
    snapshot(src, good, resume=True)
    # Snapshots refused.
    r = src.api.put("vm.snapshot", {"destination_url": "file://relative/dir"})
    check(r.status == 400, f"relative snapshot dir: {r!r}")
    r = src.api.put("vm.snapshot", {"destination_url": "/no/scheme"})
    check(r.status == 400 and "file://" in r.json()["error"]["desc"], f"no scheme: {r!r}")
    r = src.api.put("vm.snapshot", {"destination_url": "file:///x", "bogus": 1})
    check(r.status == 400 and "bogus" in r.json()["error"]["desc"], f"unknown key: {r!r}")
    src.kill()
    # A writable raw disk cannot be frozen.
    raw = os.path.join(tmp, "raw.img")
    with open(raw, "wb") as f:
        f.truncate(1 << 20)
    v = boot(tmp, disks=[{"path": raw, "format": "raw"}])
    r = v.api.put("vm.snapshot", {"destination_url": "file://" + os.path.join(tmp, "rawsnap")})
    check(r.status == 400 and "raw image" in r.json()["error"]["desc"], f"raw disk: {r!r}")
    check(v.api.state() == "Running", "a refused snapshot left the VM paused")
    v.kill()
    empty = Vmm(vmm, [], "empty", tmp)
    empty.wait_api()
    r = empty.api.put("vm.snapshot", {"destination_url": "file://" + os.path.join(tmp, "x")})
    check(r.status == 404, f"snapshot without a VM: {r!r}")
    r = empty.api.put("vm.restore", {"source_url": "file://" + os.path.join(tmp, "nothing")})
    check(r.status == 400 and "No such file" in r.json()["error"]["desc"],
          f"restore of nothing: {r!r}")
    empty.kill()

    def variant(name, mutate):
        d = os.path.join(tmp, name)
        shutil.copytree(good, d)
        mutate(d)
        return d

    def flip(d):
        s = read_state(d)
        s[len(s) // 2] ^= 0x40
        write_state(d, s, fix_crc=False)

    def newer(d):
        s = read_state(d)
        s[8:12] = struct.pack("<I", 99)
        write_state(d, s)

    def add_section(flags):
        def mutate(d):
            s = read_state(d)
            body = s[:-4]
            nsec = struct.unpack_from("<I", body, 16)[0]
            body[16:20] = struct.pack("<I", nsec + 1)
            name = b"future"
            body += bytes([len(name)]) + name + struct.pack("<IIQ", 1, flags, 3) + b"abc"
            write_state(d, body + b"\0\0\0\0")
        return mutate

    def cut(d):
        s = read_state(d)
        write_state(d, s[:len(s) - 100] + s[-4:])

    def no_memory(d):
        os.unlink(os.path.join(d, "memory"))

    def drop_devmem(format_):
        """The devmem section out (format 2 added it: the devices' memory), the format set."""
        def mutate(d):
            s = read_state(d)
            body, at, out = s[:-4], 32, bytearray(s[:32])
            while at < len(body):
                n = body[at]
                name = bytes(body[at + 1:at + 1 + n])
                length = struct.unpack_from("<Q", body, at + 1 + n + 8)[0]
                end = at + 1 + n + 16 + length
                if name != b"devmem":
                    out += body[at:end]
                at = end
            check(len(out) < len(body), "the snapshot has no devmem section")
            out[8:12] = struct.pack("<I", format_)
            out[16:20] = struct.pack("<I", struct.unpack_from("<I", body, 16)[0] - 1)
            write_state(d, out + b"\0\0\0\0")
        return mutate

    restore_refused(tmp, variant("flip", flip), "checksum mismatch")
    restore_refused(tmp, variant("newer", newer), "format 99 was written by a newer VMM")
    restore_refused(tmp, variant("unknown", add_section(0)),
                    "section future is not known to this VMM")
    restore_refused(tmp, variant("cut", cut), "state")
    restore_refused(tmp, variant("nomem", no_memory), "guest memory file is missing")
    restore_refused(tmp, variant("nodevmem", drop_devmem(2)), "the devmem section is missing")
    restore_refused(tmp, good, "does not match", ["--set", "memory_mib=32"])
    restore_refused(tmp, good, "vCPUs", ["--set", "vcpus=2"])
    # A section a newer VMM marked skippable is skipped: the snapshot loads.
    d = variant("skippable", add_section(1))
    v = restore(tmp, d, "skip")
    v.console.wait_count(lambda vs: len(vs) >= 3, "counting after a skipped section",
                         proc=v.proc)
    v.kill()
    # A format 1 snapshot (before the devices' memory was carried) still loads.
    v = restore(tmp, variant("format1", drop_devmem(1)), "format1")
    v.console.wait_count(lambda vs: len(vs) >= 3, "counting after a format 1 restore",
                         proc=v.proc)
    v.kill()
    print("ok: every refusal named its reason; a skippable unknown section and format 1 load")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def case_disks():
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    img = os.path.join(tmp, "disk.vmdk")
    r = subprocess.run([vmm_img, "create", img, "1M"], capture_output=True, text=True)
    check(r.returncode == 0, f"vmm-img create: {r}")
    src = boot(tmp, disks=[{"path": img, "format": "vmdk"}])
    src.console.wait_count(lambda v: v[-1] >= 2, "count 2", proc=src.proc)
    snap = os.path.join(tmp, "snap")
    snapshot(src, snap, resume=True)
    before = sha(img)  # as the snapshot froze it
    cfg = json.load(open(os.path.join(snap, "config.json")))
    check(cfg["disks"][0]["path"] == img, f"config.json names {cfg['disks'][0]['path']}")
    info = src.api.get("vm.info").json()
    live = info["config"]["disks"][0]["path"]
    check(live == os.path.join(tmp, "disk-1.vmdk"), f"the VM goes on in {live}")
    # The live VM's delta is a child of the frozen image.
    r = subprocess.run([vmm_img, "info", live], capture_output=True, text=True)
    check(r.returncode == 0 and "disk.vmdk" in r.stdout, f"vmm-img info {live}: {r.stdout}")
    time.sleep(0.3)
    src.kill()
    check(sha(img) == before, "the frozen image changed after the snapshot")
    r = subprocess.run([vmm_img, "check", img], capture_output=True, text=True)
    check(r.returncode == 0, f"vmm-img check of the frozen image: {r.stdout}{r.stderr}")
    for name, want in (("r1", "disk-2.vmdk"), ("r2", "disk-3.vmdk")):
        v = restore(tmp, snap, name)
        v.console.wait_count(lambda vs: len(vs) >= 2, "counting", proc=v.proc)
        d = v.api.get("vm.info").json()["config"]["disks"][0]["path"]
        check(d == os.path.join(tmp, want), f"restore {name} writes to {d}, not {want}")
        v.kill()
    check(sha(img) == before, "a restore changed the frozen image")
    print("ok: the frozen image is unchanged; the VM and each restore got a delta of their own")


FLASH_VARS = os.path.join(guests, "flash_vars.bin")


def vars_spec(tmp, store):
    s = {"name": "snap-vars", "memory_mib": 16, "accel": ACCEL,
         "boot": {"firmware": FLASH_VARS, "firmware_vars": store},
         "serial": {"target": "unix", "path": os.path.join(tmp, "boot-serial.sock")}}
    path = os.path.join(tmp, "vars-spec.json")
    with open(path, "w") as f:
        json.dump(s, f)
    return path


def wait_text(v, want, what):
    deadline = time.monotonic() + 60
    while want not in v.console.text():
        check(v.proc.poll() is None, f"vmm exited with {v.proc.returncode} before {what}",
              v.stderr())
        check(time.monotonic() < deadline, f"timed out waiting for {what}",
              v.console.text()[-400:], v.stderr())
        time.sleep(0.01)


def case_firmware_vars():
    # The guest (guests/flash_vars.S) programs byte N of its store in round N and first says
    # what the byte held. Round 0 before the snapshot, round 1 after it: a restore must see
    # the store as the snapshot had it (byte 1 erased), in a copy of its own, however often.
    require_accel()
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    store = os.path.join(tmp, "vars.fd")
    with open(store, "wb") as f:
        f.write(b"\xff" * (64 << 10))
    src = Vmm(vmm, [vars_spec(tmp, store), "--set", "serial.path=@SERIAL@"], "src", tmp)
    src.wait_api()
    src.open_console()
    wait_text(src, "programmed 0\n", "round 0")
    snap = os.path.join(tmp, "snap")
    snapshot(src, snap, resume=True)
    copy = os.path.join(snap, "firmware_vars.fd")
    check(open(copy, "rb").read(2) == b"A\xff", "the snapshot's copy of the store: "
          f"{open(copy, 'rb').read(2)!r}, want b'A\\xff'")
    cfg = json.load(open(os.path.join(snap, "config.json")))
    check(cfg["boot"]["firmware_vars"] == "firmware_vars.fd",
          f"config.json names {cfg['boot']['firmware_vars']}")
    src.console.send(b"x")  # round 1 after the snapshot: the VM goes on with its own file
    wait_text(src, "programmed 1\n", "round 1")
    check(src.api.get("vm.info").json()["config"]["boot"]["firmware_vars"] == store,
          "the VM does not go on with its own store")
    src.kill()
    after = open(store, "rb").read()
    check(after[:2] == b"AB", f"the VM's store after round 1: {after[:2]!r}")
    frozen = sha(copy)
    for name, want in (("r1", "firmware_vars-1.fd"), ("r2", "firmware_vars-2.fd")):
        v = restore(tmp, snap, name)
        live = v.api.get("vm.info").json()["config"]["boot"]["firmware_vars"]
        check(live == os.path.join(snap, want), f"restore {name} writes to {live}, not {want}")
        v.console.send(b"x")
        wait_text(v, "programmed 1\n", f"round 1 of restore {name}")
        text = v.console.text()
        check("vars[1]=empty" in text and "vars[1]=B" not in text,
              f"restore {name}: the store is not the snapshot's: {text!r}")
        v.kill()
        check(open(os.path.join(snap, want), "rb").read(2) == b"AB",
              f"restore {name}: its store after round 1")
    check(sha(copy) == frozen, "a restore changed the snapshot's copy of the store")
    check(open(store, "rb").read() == after, "a restore changed the VM's own store")
    # The copy missing or cut short: refused, nothing started.
    data = open(copy, "rb").read()
    os.unlink(copy)
    restore_refused(tmp, snap, f"cannot open {copy} for writing")
    with open(copy, "wb") as f:
        f.write(data[:32 << 10])
    restore_refused(tmp, snap, "does not fill a flash whose size is a power of two")
    check(not os.path.exists(os.path.join(snap, "firmware_vars-3.fd")),
          "a refused restore left a copy of the store")
    print("ok: the snapshot carries the store; each restore sees it as it was, in a copy of "
          "its own; the VM goes on with its file; a missing or short copy is refused")


def case_cross():
    why = kvm_usable()
    if why:
        skip(why + " (this case restores a snapshot under the other engine)")
    tmp = tempfile.mkdtemp(prefix="vmm-snap-")
    # bt -> kvm: the count goes on, the armed PIT keeps interrupting, the FIFO's bytes come out.
    snap, text, sent_at = take_counter_snapshot(tmp, accel="bt")
    v = restore(tmp, snap, "to-kvm", ["--set", "accel=kvm"])
    check(v.api.get("vm.info").json()["engine"] == "kvm", "the restore does not run under kvm")
    check_continues(v, text, sent_at)
    # kvm -> bt: the VM restored under kvm, snapshotted and restored under bt, goes on too.
    snap2 = os.path.join(tmp, "snap-kvm")
    snapshot(v, snap2)
    time.sleep(0.3)  # everything printed before the pause is on the console
    text2 = v.console.text()
    v.kill()
    w = restore(tmp, snap2, "to-bt", ["--set", "accel=bt"])
    check(w.api.get("vm.info").json()["engine"] == "bt", "the restore does not run under bt")
    last = int(COUNT_RE.findall(text2)[-1][0], 16)
    w.console.wait_count(lambda vs: vs[-1] >= last + 40, f"count {last + 40}", proc=w.proc)
    both = text2 + w.console.text()
    vals = [int(m.group(1), 16) for m in COUNT_RE.finditer(both)]
    bad = consecutive(vals, vals[0])
    check(bad is None, f"the count does not go on across the kvm -> bt restore: {bad}",
          text2[-120:] + "|" + w.console.text()[:200])
    check(all(m.group(2) == "m=ok" for m in COUNT_RE.finditer(both)),
          "the memory walk broke", w.console.text()[-400:])
    w.kill()
    print(f"ok: bt -> kvm -> bt, the count unbroken up to {vals[-1]}")


try:
    {"continue": case_continue, "twice": case_twice, "api": case_api,
     "refusals": case_refusals, "disks": case_disks, "cross": case_cross,
     "firmware-vars": case_firmware_vars}[case]()
finally:
    kill_all()
