#!/bin/sh
# SPDX-License-Identifier: MIT
# clang-format --dry-run --Werror over every C file git tracks (docs/conventions.md section 4).
# usage: check_format.sh SOURCE_ROOT. Exit 0 pass, 1 fail, 77 skip (meson) with the reason.
set -u
root=$1
want=14
cf=${CLANG_FORMAT:-clang-format}
if ! command -v "$cf" >/dev/null 2>&1; then
	echo "SKIP: $cf is not installed (Debian: clang-format, version $want)"
	exit 77
fi
ver=$("$cf" --version | sed -n 's/.*clang-format version \([0-9]*\).*/\1/p')
if [ "$ver" != "$want" ]; then
	echo "SKIP: $cf is version ${ver:-unknown}; the style is checked with version $want"
	exit 77
fi
if ! command -v git >/dev/null 2>&1 || ! git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
	echo "SKIP: $root is not a git checkout (the checked files are the ones git tracks)"
	exit 77
fi
cd "$root" || exit 1
git ls-files -z '*.c' '*.h' | xargs -0 -r "$cf" --dry-run --Werror
