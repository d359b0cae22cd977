#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Build (or reuse) the Debian 12 root the systemd test boots with systemd-nspawn:
#   systemd_root.sh ROOT [EXTRA_PACKAGES]
# (EXTRA_PACKAGES, a comma list, for systemd_guest.sh: the same root with a kernel, for a VM.)
# debootstrap --variant=minbase with systemd as init and the shared libraries vmm needs, from
# the Debian mirror apt is configured with (the first URIs of /etc/apt/sources.list.d/*.sources
# or /etc/apt/sources.list). ROOT/.vmm-root-stamp records the package list; a root whose stamp
# matches is reused as it is (the test installs the build into it each run), another is rebuilt.
# Exit status: 0 ready; 77 the host cannot build it (no debootstrap, not root); 1 it failed.
set -eu

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $0 ROOT [EXTRA_PACKAGES]" >&2
	exit 2
fi
root=$1
pkgs="systemd,systemd-sysv,dbus,libjansson4,liburing2,libaio1,libseccomp2,zlib1g,liblzma5"
pkgs="$pkgs,liblz4-1,libsystemd0,libvncserver1,libpng16-16,libslirp0,libglib2.0-0,libdeflate0${2:+,$2}"
stamp="debootstrap bookworm minbase $pkgs"

if [ -f "$root/.vmm-root-stamp" ] && [ "$(cat "$root/.vmm-root-stamp")" = "$stamp" ]; then
	echo "systemd_root: reusing $root"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "systemd_root: needs root (debootstrap)"
	exit 77
fi
if ! command -v debootstrap >/dev/null; then
	echo "systemd_root: no debootstrap (scripts/deps.sh test installs it)"
	exit 77
fi

mirror=
for f in /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' "$f" | grep -v security | head -n1)
	[ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
	mirror=$(sed -n 's/^deb  *\(\[[^]]*\] *\)\{0,1\}\([^ ]*\) .*/\2/p' /etc/apt/sources.list |
		grep -v security | head -n1)
fi
if [ -z "$mirror" ]; then
	echo "systemd_root: no Debian mirror in apt's sources" >&2
	exit 1
fi

rm -rf "$root.tmp"
echo "systemd_root: debootstrap bookworm from $mirror into $root (a minute or two)"
if ! debootstrap --variant=minbase --include="$pkgs" bookworm "$root.tmp" "$mirror" \
	>"$root.log" 2>&1; then
	tail -20 "$root.log" >&2
	echo "systemd_root: debootstrap failed (log: $root.log)" >&2
	exit 1
fi
# A console login would only wait on the container's terminal; nothing else needs changing.
rm -f "$root.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
echo "$stamp" >"$root.tmp/.vmm-root-stamp"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "systemd_root: $root ready"
