# SPDX-License-Identifier: MIT
"""Two network namespaces this test creates, joined by a veth pair (traffic only between them),
for the migrations over TCP (migrate.py, linux_migrate.py)."""
import os
import subprocess

from harness import skip


def sh(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True)


class VethPair:
    """with VethPair() as p: p.ns_a / p.ns_b are the namespaces, p.addr_a / p.addr_b their
    addresses on the veth pair, p.prefix(ns) the command prefix that runs a program in ns.
    Skips (77) without root or `ip netns`; the namespaces go away on exit."""

    def __init__(self, net="10.214.7"):
        tag = f"{os.getpid() % 100000}"
        self.ns_a, self.ns_b = f"vmmmigA{tag}", f"vmmmigB{tag}"
        self.dev_a, self.dev_b = f"vma{tag}", f"vmb{tag}"
        self.addr_a, self.addr_b = f"{net}.1", f"{net}.2"

    @staticmethod
    def prefix(ns):
        return ["ip", "netns", "exec", ns]

    def __enter__(self):
        if os.geteuid() != 0:
            skip("network namespaces need root")
        if sh("ip", "netns", "add", self.ns_a).returncode != 0:
            skip("cannot create a network namespace (ip netns add)")
        steps = [
            ["ip", "netns", "add", self.ns_b],
            ["ip", "link", "add", self.dev_a, "netns", self.ns_a, "type", "veth", "peer",
             "name", self.dev_b, "netns", self.ns_b],
            ["ip", "-n", self.ns_a, "addr", "add", self.addr_a + "/24", "dev", self.dev_a],
            ["ip", "-n", self.ns_b, "addr", "add", self.addr_b + "/24", "dev", self.dev_b],
            ["ip", "-n", self.ns_a, "link", "set", self.dev_a, "up"],
            ["ip", "-n", self.ns_b, "link", "set", self.dev_b, "up"],
            ["ip", "-n", self.ns_a, "link", "set", "lo", "up"],
            ["ip", "-n", self.ns_b, "link", "set", "lo", "up"],
        ]
        for s in steps:
            r = sh(*s)
            if r.returncode != 0:
                self.__exit__(None, None, None)
                skip(f"cannot set up the namespaces ({' '.join(s)}): {r.stderr.strip()}")
        return self

    def __exit__(self, *exc):
        sh("ip", "netns", "del", self.ns_a)
        sh("ip", "netns", "del", self.ns_b)
        return False
