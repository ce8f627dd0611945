#!/usr/bin/env bash
# Makes a headless-capable Chromium available for the web console's browser
# tests and prints its absolute path on stdout. Idempotent: it installs
# Debian's chromium package only when no Chromium is found (as root, with
# apt-get); otherwise it says what to install. Tests never download a
# browser build of their own.
#
# SDP_MCP_CHROMIUM names a Chromium binary to use instead.
set -euo pipefail

find_chromium() {
  if [[ -n "${SDP_MCP_CHROMIUM:-}" ]]; then
    [[ -x "$SDP_MCP_CHROMIUM" ]] && { echo "$SDP_MCP_CHROMIUM"; return 0; }
    echo "browser.sh: SDP_MCP_CHROMIUM=$SDP_MCP_CHROMIUM is not an executable" >&2
    return 2
  fi
  local name
  for name in chromium chromium-browser google-chrome-stable google-chrome; do
    if command -v "$name" >/dev/null 2>&1; then
      command -v "$name"
      return 0
    fi
  done
  return 1
}

if path=$(find_chromium); then
  echo "$path"
  exit 0
elif [[ $? -eq 2 ]]; then
  exit 1
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "browser.sh: no Chromium found; install Debian's chromium package (apt-get install -y chromium)," >&2
  echo "  or set SDP_MCP_CHROMIUM to a Chromium binary" >&2
  exit 1
fi

echo "browser.sh: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update >&2
apt-get install -y chromium >&2

if ! path=$(find_chromium); then
  echo "browser.sh: the chromium package installed but no chromium command was found" >&2
  exit 1
fi
echo "$path"
