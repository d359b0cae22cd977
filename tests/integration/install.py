#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`meson install --destdir` of the build: every file a user gets, and that they agree with the
programs. Usage: install.py SOURCE_ROOT BUILD_ROOT

  binaries      vmm, vmmctl, vmm-img in PREFIX/bin, runnable (--version, --help)
  data          the spec's JSON Schema, every example spec
  unit          PREFIX/lib/systemd/system/vmm@.service with this prefix's binaries
  man pages     vmm(1), vmmctl(1), vmm-img(1), vm-spec(5): roff that groff renders without a
                warning; vm-spec(5) names every key of the schema, vmm(1) every option and exit
                status of `vmm run --help`
  completions   bash completions for the three commands: they load in bash, and complete the
                subcommands, every option `vmm run --help` lists, and for --set every key of
                the schema"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import fail  # noqa: E402

src, build = sys.argv[1], sys.argv[2]
dest = tempfile.mkdtemp(prefix="vmm-install-")
r = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild",
                    "--quiet"], capture_output=True, text=True)
if r.returncode != 0:
    fail(f"meson install: {r.stdout}{r.stderr}")
info = json.loads(subprocess.run(["meson", "introspect", build, "--buildoptions"],
                                 capture_output=True, text=True, check=True).stdout)
opt = {o["name"]: o["value"] for o in info}
prefix = opt["prefix"]
base = dest + prefix


def p(*parts):
    return os.path.join(base, *parts)


def need(path):
    if not os.path.isfile(path):
        found = "\n".join(sorted(os.path.relpath(os.path.join(d, f), dest)
                                 for d, _, fs in os.walk(dest) for f in fs))
        fail(f"missing {os.path.relpath(path, dest)}; installed:\n{found}")
    return path


bindir, datadir, mandir = opt["bindir"], opt["datadir"], opt["mandir"]
for b in ("vmm", "vmmctl", "vmm-img"):
    exe = need(p(bindir, b))
    if not os.access(exe, os.X_OK):
        fail(f"{b} is not executable")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    if r.returncode != 0 or not (r.stdout + r.stderr).strip():
        fail(f"{b} --help: exit {r.returncode}")
r = subprocess.run([p(bindir, "vmm"), "--version"], capture_output=True, text=True)
if not r.stdout.startswith("vmm "):
    fail(f"vmm --version: {r.stdout!r}")

schema_path = need(p(datadir, "vmm", "vm-spec.schema.json"))
with open(schema_path) as f:
    schema = json.load(f)
for e in os.listdir(os.path.join(src, "config", "examples")):
    need(p(datadir, "doc", "vmm", "examples", e))

unit_dir = opt["systemdunitdir"] or os.path.join(prefix, "lib", "systemd", "system")
with open(need(dest + os.path.join(unit_dir, "vmm@.service"))) as f:
    unit = f.read()
for line in ("Type=notify", "WatchdogSec=", "RuntimeDirectory=vmm",
             f"ExecStart={prefix}/{bindir}/vmm run --api-socket /run/vmm/%i.sock "
             "/etc/vmm/%i.json",
             f"ExecStop=-{prefix}/{bindir}/vmmctl --socket /run/vmm/%i.sock power-button",
             "RestartPreventExitStatus=2 3 159"):
    if line not in unit:
        fail(f"vmm@.service lacks {line!r}")
if "@" + "BINDIR@" in unit or "MemoryDenyWriteExecute=yes" in unit:
    fail("vmm@.service: an unfilled path, or MemoryDenyWriteExecute (the JIT needs W+X)")


def schema_keys(node, defs, prefix="", out=None):
    """Every JSON path the schema accepts: name, boot.kernel, disks[0].path..."""
    out = set() if out is None else out
    if "$ref" in node:
        node = {**defs[node["$ref"].split("/")[-1]], **{k: v for k, v in node.items()
                                                         if k != "$ref"}}
    if node.get("type") == "array" and "items" in node:
        schema_keys(node["items"], defs, prefix + "[0]", out)
    for k, v in node.get("properties", {}).items():
        path = f"{prefix}.{k}" if prefix else k
        sub = v
        while "$ref" in sub:
            sub = {**defs[sub["$ref"].split("/")[-1]], **{a: b for a, b in sub.items()
                                                          if a != "$ref"}}
        if "properties" in sub or sub.get("type") == "array":
            schema_keys(sub, defs, path, out)
        else:
            out.add(path)
    return out


keys = schema_keys(schema, schema["$defs"])
man = {}
for page in ("vmm.1", "vmmctl.1", "vmm-img.1", "vm-spec.5"):
    path = need(p(mandir, "man" + page.split(".")[1], page))
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path], capture_output=True,
                       text=True)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"{page}: groff warns: {r.stderr}")
    # the text a reader sees: no bold, no underline, no hyphenation
    r = subprocess.run(["groff", "-man", "-Tascii", "-P-cbou", "-rLL=200n", "-rHY=0", path],
                       capture_output=True, text=True, check=True)
    man[page] = r.stdout
missing = [k for k in sorted(keys) if k.split(".")[-1].split("[")[0] not in man["vm-spec.5"]]
if missing:
    fail(f"vm-spec(5) does not describe: {missing}")

run_help = subprocess.run([p(bindir, "vmm"), "run", "--help"], capture_output=True,
                          text=True).stdout
run_opts = sorted(set(re.findall(r"(--[a-z][a-z-]+)", run_help)))
statuses = re.findall(r"^  (\d+)\s", run_help, re.M)
for o in run_opts:
    if o not in man["vmm.1"]:
        fail(f"vmm(1) does not describe {o} of vmm run --help")
for s in statuses + ["159"]:
    if not re.search(rf"^\s+{s}$", man["vmm.1"], re.M):
        fail(f"vmm(1) lacks exit status {s}")


def complete(cfile, words):
    """COMPREPLY of the completion function in cfile for words (the last is completed)."""
    script = (f". {cfile}\nCOMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              "COMP_CWORD=$((${#COMP_WORDS[@]}-1))\n"
              "f=$(complete -p \"${COMP_WORDS[0]}\" | sed 's/.*-F \\([^ ]*\\) .*/\\1/')\n"
              "$f\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n")
    r = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"completion {words}: {r.stderr}")
    return set(r.stdout.split())


cdir = p(datadir, "bash-completion", "completions")
vmm_c, ctl_c, img_c = (need(os.path.join(cdir, c)) for c in ("vmm", "vmmctl", "vmm-img"))
if not {"run", "validate", "host-info"} <= complete(vmm_c, ["vmm", ""]):
    fail("vmm completion lacks its commands")
got = complete(vmm_c, ["vmm", "run", "--"])
lack = [o for o in run_opts if o not in got and o + "=" not in got]
if lack:
    fail(f"vmm run -- does not complete {lack}")
got = complete(vmm_c, ["vmm", "run", "--set", ""])
lack = [k for k in sorted(keys) if k + "=" not in got]
if lack:
    fail(f"vmm run --set does not complete {lack}")
if complete(vmm_c, ["vmm", "run", "--seccomp=k"]) != {"--seccomp=kill"}:
    fail("vmm run --seccomp=k does not complete to kill")
img_cmds = {"create", "info", "check", "convert", "snapshot", "commit", "map"}
if not img_cmds <= complete(img_c, ["vmm-img", ""]):
    fail("vmm-img completion lacks its commands")
for c in img_cmds:
    if f"vmm-img {c}" not in man["vmm-img.1"]:
        fail(f"vmm-img(1) lacks {c}")
ctl_help = subprocess.run([p(bindir, "vmmctl"), "--help"], capture_output=True, text=True)
ctl_cmds = set(re.findall(r"^  ([a-z][a-z-]+)", ctl_help.stdout + ctl_help.stderr, re.M))
got = complete(ctl_c, ["vmmctl", ""])
if not ctl_cmds or not ctl_cmds <= got:
    fail(f"vmmctl completion: {sorted(ctl_cmds - got)} of {sorted(ctl_cmds)} missing")
for c in ctl_cmds:
    if c not in man["vmmctl.1"]:
        fail(f"vmmctl(1) lacks {c}")
shutil.rmtree(dest)
print(f"ok: installed under {prefix}: 3 binaries, schema, {len(os.listdir(os.path.join(src, 'config', 'examples')))} "
      f"examples, unit, 4 man pages ({len(keys)} spec keys), 3 completions")
