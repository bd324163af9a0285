#!/usr/bin/env bash
# Prints the Chromium the browser tests should launch, installing Debian's only when no usable
# one is found (an install pulls ~100 packages). Usable: `BINARY --version` succeeds.
# NODEGRAPH_CHROMIUM=/path/to/chrome names the binary: then only that one is tried, and one that
# does not start is an error, not a reason to install another. Otherwise `chromium` and
# `chromium-browser` on PATH are tried in that order.
set -euo pipefail

usable() {
  local path
  path="$(command -v "$1" 2>/dev/null)" || return 1
  timeout 60 "$path" --version >/dev/null 2>&1 || return 1
  echo "$path"
}

if [ -n "${NODEGRAPH_CHROMIUM:-}" ]; then
  if usable "$NODEGRAPH_CHROMIUM"; then exit 0; fi
  echo "NODEGRAPH_CHROMIUM=$NODEGRAPH_CHROMIUM does not start ('$NODEGRAPH_CHROMIUM --version' failed)" >&2
  exit 1
fi
for candidate in chromium chromium-browser; do
  if usable "$candidate"; then exit 0; fi
done

echo "no usable Chromium found: installing Debian's chromium" >&2
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -q >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >&2
for candidate in chromium; do
  if usable "$candidate"; then exit 0; fi
done
echo "chromium was installed but does not start" >&2
exit 1
