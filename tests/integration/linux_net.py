#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Linux-driver network test (issue 12, "Tests"): the generic Debian kernel of the default guest
drives our NICs with its own e1000 and virtio_net drivers under accel bt.

Cases:
  user-e1000, user-virtio  one NIC on user-mode networking (libslirp): the guest gets its address
      by DHCP (busybox udhcpc), fetches a random file from an HTTP server this test runs on the
      host loopback (through slirp's 10.0.2.2) and the md5 sums must agree; a host client reaches
      the guest's busybox httpd through a hostfwd rule; the e1000 guest has the MAC the spec
      gives, the virtio guest the MTU the spec gives (VIRTIO_NET_F_MTU); the API takes the link down
      (PUT vm.set-link) and the guest driver reports carrier lost, then back on link up, and
      traffic flows again; vm.counters shows the NIC's frames and bytes (and, for virtio-net,
      that slirp's TCP segments reached the guest coalesced into segmentation offload frames).
  user-restrict  virtio-net with "restrict": true and "dns": false: the guest cannot reach the
      host (no flow out of the VM) while the hostfwd port still reaches the guest, and DHCP
      announces no DNS server.
  bridge  two VMs, one on e1000 and one on virtio-net, each on a TAP, both on a bridge inside a
      network namespace this test creates (traffic only inside it): ping both ways, then a
      64 MiB file moves from one to the other over HTTP with its md5 sum checked; the
      guest-to-guest throughput is printed. The virtio NIC has "queues": 2 on a multi_queue TAP
      and its guest (2 vCPUs: Linux uses at most one pair per CPU) sees two queue pairs. Needs
      root, /dev/net/tun and network namespaces (skipped with the reason otherwise).

Usage: linux_net.py VMM DEFAULT_GUEST_DIR CASE
  The guest comes from $VMM_GUEST_DIR, else DEFAULT_GUEST_DIR (scripts/build-guest.sh output).
  VMM_LINUX_ENGINE=qemu runs the user cases under qemu-system-x86_64 -accel tcg (a reference;
  no API there). VMM_NET_ACCEL=kvm runs our guests under KVM instead of the BT engine (virtio
  notifications through ioeventfds, interrupts through irqfds): skipped unless the host has
  hardware-assisted KVM (the software-only kvm_pvm runs Debian's kernels ~5000x slower).
  VMM_TEST_LOG=FILE copies the guest console to FILE.
Exit 0 pass, 1 fail, 77 skip."""
import functools
import hashlib
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import linux_storage as ls
from api_client import Api
from guest_shell import GuestError, LinuxGuest, guest_dir

SKIP = 77
MIB = 1 << 20
MODULES = ["virtio_pci", "virtio_net", "e1000"]
# Kernel messages that mean a driver met an error from one of our devices.
DMESG_ERRORS = re.compile(r"(Detected Tx Unit Hang|NETDEV WATCHDOG|transmit queue \d+ timed out"
                          r"|virtio_net.*(error|failed|bad)|e1000.*(error|failed|bad|Hang)"
                          r"|Call Trace|nobody cared|soft lockup)", re.I)
UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc's event script: configure the interface from the lease, print what came.
case "$1" in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	for r in $router; do ip route add default via "$r" dev "$interface"; done
	echo "dhcp: $interface ip $ip mask $mask router $router dns [$dns]"
	;;
deconfig)
	ip addr flush dev "$interface"
	ip link set "$interface" up
	;;
esac
"""


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}", flush=True)
    sys.exit(SKIP)


def build_initrd(gdir, work):
    """The default initramfs with the NIC drivers' modules, /vmmtest/load (insmod them in
    order) and /vmmtest/udhcpc.sh (linux_storage.build_initrd)."""
    initrd, release, _ = ls.build_initrd(gdir, work, MODULES,
                                         [("vmmtest/udhcpc.sh", 0o100755, UDHCPC_SCRIPT.encode())])
    return initrd, release


def grun(g, cmd, timeout=300, ok=True):
    st, out = g.run(cmd, timeout=timeout)
    if ok and st != 0:
        raise GuestError(f"`{cmd}` exited {st}:\n{out}")
    return out


def md5_of(g, path):
    for _ in range(3):  # a line lost on a slow console is not a wrong sum
        m = re.search(r"^([0-9a-f]{32})\s", grun(g, f"md5sum {path}", timeout=600), re.M)
        if m:
            return m.group(1)
    raise GuestError(f"no md5sum output for {path}")


def fetch(g, url, path, want, timeout=900):
    """wget url to path in the guest; its md5 must be want. Seconds it took."""
    t = time.monotonic()
    grun(g, f"wget -q -O {path} {url}", timeout=timeout)
    dt = time.monotonic() - t
    got = md5_of(g, path)
    if got != want:
        raise GuestError(f"{url}: md5 {got} in the guest, {want} sent")
    return dt


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class HttpServer:
    """A static file server on 127.0.0.1 for the guest to fetch from through slirp."""

    def __init__(self, root):
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                   functools.partial(Quiet, directory=root))
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def guest_up(g, iface="eth0"):
    grun(g, "dmesg -n 1")
    out = grun(g, "/vmmtest/load", timeout=600)
    grun(g, f"ip link set {iface} up")
    return out


def wait_carrier(g, want, timeout=120, iface="eth0"):
    deadline = time.monotonic() + timeout
    while True:
        out = grun(g, f"cat /sys/class/net/{iface}/carrier 2>&1; true").strip()
        if out.endswith(str(want)):
            return
        if time.monotonic() > deadline:
            raise GuestError(f"{iface}: carrier {out!r}, wanted {want} within {timeout} s")
        time.sleep(1)


def check_dmesg(g, label):
    log = grun(g, "dmesg | grep -iE 'e1000|virtio|eth0|NETDEV|Call Trace|lockup|nobody'; true")
    bad = [line for line in log.splitlines() if DMESG_ERRORS.search(line)]
    if bad:
        raise GuestError(f"{label}: driver errors in dmesg:\n" + "\n".join(bad[:30]))
    return log


def host_get(url, timeout=120):
    """GET url, retrying while the forward is not up yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=30) as r:
                return r.read()
        except OSError as e:
            if time.monotonic() > deadline:
                raise GuestError(f"host GET {url}: {e}")
            time.sleep(2)


ACCEL = os.environ.get("VMM_NET_ACCEL", "bt")


def start_guest(vmm, gdir, initrd, nics, engine, log, qemu_extra=(), api=True, memory=384,
                vcpus=1):
    try:
        # no_timer_check: a loaded host's coalesced PIT ticks fail Linux's timer check
        return LinuxGuest(os.path.join(gdir, "vmlinuz-generic"), initrd, vcpus=vcpus,
                          cmdline="console=ttyS0 panic=-1 no_timer_check", memory_mib=memory,
                          engine=engine, vmm=vmm, accel=ACCEL, nics=nics,
                          qemu_extra=qemu_extra, log=log, api=api and engine == "vmm")
    except GuestError as e:
        fail(f"{engine} did not start: {e}")


def guest_fail(g, e, engine):
    tail = g.text()[-3000:]
    err = g.stderr_text()
    g.close()
    fail(f"{e}\n--- console tail ---\n{tail}\n--- {engine} stderr ---\n{err[-3000:]}")


# ---- user-mode networking ----------------------------------------------------------------

def case_user(vmm, gdir, initrd, work, model, engine, log, restrict=False):
    www = os.path.join(work, "www")
    os.makedirs(www)
    blob = os.urandom(16 * MIB)
    with open(os.path.join(www, "blob.bin"), "wb") as f:
        f.write(blob)
    want = hashlib.md5(blob).hexdigest()
    srv = HttpServer(www)
    hport = free_port()
    nic = {"model": model, "backend": "user", "hostfwd": [f"tcp:127.0.0.1:{hport}-:8080"]}
    mac, mtu = "52:54:00:ab:cd:01", 4000
    if restrict:
        nic.update({"restrict": True, "dns": False})
    elif model == "e1000":
        nic["mac"] = mac
    else:
        nic["mtu"] = mtu
    dev = {"e1000": "e1000", "virtio": "virtio-net-pci"}[model]
    qemu = ["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{hport}-:8080", "-device",
            f"{dev},netdev=n0"]
    g = start_guest(vmm, gdir, initrd, [nic], engine, log, qemu)
    api = Api(g.api_path) if g.api_path else None
    t0 = time.monotonic()
    try:
        g.wait_ready(timeout=float(os.environ.get("VMM_LINUX_TIMEOUT", "900")))
        print(f"guest ready after {time.monotonic() - t0:.1f} s", flush=True)
        guest_up(g)
        link = grun(g, "cat /sys/class/net/eth0/address /sys/class/net/eth0/mtu")
        if "mac" in nic and mac not in link:
            raise GuestError(f"the guest's MAC is not the spec's {mac}: {link}")
        if "mtu" in nic and not re.search(rf"^{mtu}$", link, re.M):
            raise GuestError(f"the guest's MTU is not the spec's {mtu}: {link}")
        print(f"ok: the guest's NIC: address and MTU {' '.join(link.split()[-2:])}", flush=True)
        out = grun(g, "udhcpc -i eth0 -s /vmmtest/udhcpc.sh -n -q -t 10 -T 3 2>&1", timeout=300)
        m = re.search(r"dhcp: eth0 ip (\S+) mask (\S+) router ?(\S*) dns \[([^\]]*)\]", out)
        # Restricted, slirp announces no router: nothing beyond its own /24.
        if not m or m.group(1) != "10.0.2.15" or m.group(3) != ("" if restrict else "10.0.2.2"):
            router = "none" if restrict else "10.0.2.2"
            raise GuestError(f"DHCP did not configure 10.0.2.15 (router {router}):\n{out}")
        print(f"ok: DHCP lease {m.group(1)}/{m.group(2)} router {m.group(3)} "
              f"dns [{m.group(4)}]", flush=True)
        if restrict and m.group(4).strip():
            raise GuestError(f"dns off, but DHCP announced [{m.group(4)}]")
        if not restrict and m.group(4).strip() != "10.0.2.3":
            raise GuestError(f"DHCP announced DNS [{m.group(4)}], not 10.0.2.3")
        url = f"http://10.0.2.2:{srv.port}/blob.bin"
        if restrict:
            st, out = g.run(f"wget -T 10 -q -O /tmp/blob {url}", timeout=120)
            if st == 0:
                raise GuestError("restricted: the guest fetched from the host")
            print("ok: restricted: the guest cannot reach the host", flush=True)
        else:
            dt = fetch(g, url, "/tmp/blob", want)
            print(f"ok: 16 MiB from the host through slirp, md5 matches "
                  f"({16 / dt:.1f} MiB/s)", flush=True)
        text = f"hello from the {model} guest\n"
        grun(g, f"mkdir -p /www && printf '{text.strip()}\\n' > /www/hello.txt && "
                "httpd -p 8080 -h /www")
        body = host_get(f"http://127.0.0.1:{hport}/hello.txt").decode()
        if body != text:
            raise GuestError(f"hostfwd: the host read {body!r}")
        print(f"ok: host 127.0.0.1:{hport} reaches the guest's httpd through hostfwd",
              flush=True)
        if api:
            user_api_checks(g, api, url if not restrict else None, want, model)
        check_dmesg(g, model)
        rc = g.poweroff(timeout=300)
    except GuestError as e:
        srv.close()
        guest_fail(g, e, engine)
    srv.close()
    g.close()
    if rc != 0:
        fail(f"{engine} exited {rc} after poweroff -f")


def user_api_checks(g, api, url, want, model):
    """Link down and up through the API; counters; an unknown id."""
    r = api.put("vm.set-link", {"id": "net0", "up": False})
    if r.status != 204:
        raise GuestError(f"vm.set-link down: {r!r}")
    wait_carrier(g, 0)
    print("ok: link down from the API: the guest driver sees carrier lost", flush=True)
    r = api.put("vm.set-link", {"id": "net0", "up": True})
    if r.status != 204:
        raise GuestError(f"vm.set-link up: {r!r}")
    wait_carrier(g, 1)
    print("ok: link up from the API: carrier back", flush=True)
    if url:
        fetch(g, url, "/tmp/blob2", want)
        print("ok: traffic flows again after link up", flush=True)
    for body, status in (({"id": "net9", "up": False}, 404), ({"id": "net0"}, 400)):
        r = api.put("vm.set-link", body)
        if r.status != status:
            raise GuestError(f"vm.set-link {body}: {r!r}, wanted {status}")
    r = api.put("vm.add-net", {"model": "e1000", "backend": "user"})
    if r.status != 409:
        raise GuestError(f"vm.add-net while Running: {r!r}, wanted 409")
    r = api.get("vm.counters")
    c = r.json().get("net0", {}) if r.status == 200 else {}
    if c.get("rx_frames", 0) <= 0 or c.get("tx_frames", 0) <= 0 or c.get("link_up") != 1:
        raise GuestError(f"vm.counters net0: {c}")
    if url and c.get("rx_bytes", 0) < 32 * MIB:
        raise GuestError(f"vm.counters net0 rx_bytes {c.get('rx_bytes')} < 32 MiB")
    # virtio-net with GUEST_TSO4: slirp's segments reach the guest coalesced (user.c).
    if url and model == "virtio" and c.get("backend_rx_coalesced", 0) <= 0:
        raise GuestError(f"vm.counters net0: no frame coalesced: {c}")
    print(f"ok: vm.counters net0 rx_frames {c['rx_frames']} rx_bytes {c['rx_bytes']} "
          f"tx_frames {c['tx_frames']}", flush=True)


# ---- two VMs on a bridge -----------------------------------------------------------------

def sh(cmd, check=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"`{cmd}`: {r.stdout}{r.stderr}")
    return r


def make_netns(ns):
    """A namespace with bridge br0 and TAPs tapa, tapb on it; None or the reason it failed."""
    if os.geteuid() != 0:
        return "not root (network namespaces and TAPs need CAP_NET_ADMIN)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun"
    if not shutil.which("ip"):
        return "no ip command (iproute2)"
    r = sh(f"ip netns add {ns}", check=False)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    try:
        for cmd in ("ip link add br0 type bridge", "ip tuntap add dev tapa mode tap",
                    "ip tuntap add dev tapb mode tap multi_queue",
                    "ip link set tapa master br0",
                    "ip link set tapb master br0", "ip link set br0 up",
                    "ip link set tapa up", "ip link set tapb up", "ip link set lo up"):
            sh(f"ip netns exec {ns} {cmd}")
    except RuntimeError as e:
        sh(f"ip netns del {ns}", check=False)
        return str(e)
    return None


def case_bridge(vmm, gdir, initrd, work, log):
    ns = f"vmmnet{os.getpid()}"
    why = make_netns(ns)
    if why:
        skip(why)
    wrapper = os.path.join(work, "vmm-in-netns")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec ip netns exec {ns} {vmm} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    guests = []
    try:
        # Two VMs: their NICs would both get the default 52:54:00:12:34:56.
        a = start_guest(wrapper, gdir, initrd, [{"model": "e1000", "backend": "tap",
                                                  "tap": "tapa", "mac": "52:54:00:77:00:01"}],
                        "vmm", log, api=False, memory=512)
        guests.append(a)
        b = start_guest(wrapper, gdir, initrd, [{"model": "virtio", "backend": "tap",
                                                  "tap": "tapb", "mac": "52:54:00:77:00:02",
                                                  "queues": 2}],
                        "vmm", None, api=False, memory=512, vcpus=2)
        guests.append(b)
        try:
            for g in guests:
                g.wait_ready(timeout=float(os.environ.get("VMM_LINUX_TIMEOUT", "900")))
            for g, ip in ((a, "192.168.77.1"), (b, "192.168.77.2")):
                guest_up(g)
                grun(g, f"ip addr add {ip}/24 dev eth0")
                wait_carrier(g, 1)
            q = grun(b, "ls /sys/class/net/eth0/queues")
            if "rx-1" not in q or "tx-1" not in q:
                raise GuestError(f"queues 2: the virtio guest has queues {q.split()}")
            print("ok: the virtio guest has two queue pairs", flush=True)
            grun(a, "ping -c 3 -W 10 192.168.77.2", timeout=120)
            grun(b, "ping -c 3 -W 10 192.168.77.1", timeout=120)
            print("ok: ping e1000 <-> virtio-net over the bridge, both ways", flush=True)
            grun(b, "mkdir -p /www && dd if=/dev/urandom of=/www/big bs=1M count=64 "
                    "2>/dev/null", timeout=900)
            want = md5_of(b, "/www/big")
            grun(b, "httpd -p 80 -h /www")
            dt = fetch(a, "http://192.168.77.2/big", "/tmp/big", want, timeout=1500)
            print(f"ok: 64 MiB virtio-net -> e1000 over the bridge, md5 matches "
                  f"({64 / dt:.1f} MiB/s guest to guest)", flush=True)
            for g, label in ((a, "e1000"), (b, "virtio")):
                check_dmesg(g, label)
            for g in guests:
                if g.poweroff(timeout=300) != 0:
                    raise GuestError("a guest did not power off cleanly")
        except GuestError as e:
            other = b if guests and guests[0] is a and len(guests) > 1 else None
            if other:
                other.close()
            guest_fail(a, e, "vmm")
        for g in guests:
            g.close()
    finally:
        sh(f"ip netns del {ns}", check=False)


def main():
    if len(sys.argv) != 4:
        print(__doc__)
        sys.exit(2)
    vmm, default_guest, case = sys.argv[1:4]
    engine = os.environ.get("VMM_LINUX_ENGINE", "vmm")
    gdir = guest_dir(default_guest)
    if not gdir:
        skip(f"no built guest in {os.environ.get('VMM_GUEST_DIR') or default_guest} "
             "(scripts/build-guest.sh DIR, or set VMM_GUEST_DIR)")
    if engine == "qemu" and not shutil.which("qemu-system-x86_64"):
        skip("qemu-system-x86_64 not installed")
    if ACCEL == "kvm":
        info = subprocess.run([vmm, "host-info"], capture_output=True, text=True).stdout
        m = re.search(r"^hardware assist: (.*)$", info, re.M)
        if not m or not m.group(1).startswith("yes"):
            skip(f"needs hardware-assisted KVM; this host: {m.group(1) if m else info[-200:]}")
    work = tempfile.mkdtemp(prefix="vmm-linux-net-")
    initrd, release = build_initrd(gdir, work)
    log = open(os.environ["VMM_TEST_LOG"], "w") if os.environ.get("VMM_TEST_LOG") else None
    print(f"case {case}, engine {engine}, kernel {release}, work dir {work}", flush=True)
    try:
        if case in ("user-e1000", "user-virtio"):
            case_user(vmm, gdir, initrd, work, case.split("-")[1], engine, log)
        elif case == "user-restrict":
            case_user(vmm, gdir, initrd, work, "virtio", engine, log, restrict=True)
        elif case == "bridge":
            if engine != "vmm":
                skip("the bridge case runs our vmm only")
            case_bridge(vmm, gdir, initrd, work, log)
        else:
            print(__doc__)
            sys.exit(2)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
