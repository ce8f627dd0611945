#!/usr/bin/env bash
# Installs the pinned Python MCP SDK that the identity end-to-end tests drive
# the server with, into a virtual environment in the cache outside the clone.
#
# Prints one line on stdout: the venv's python interpreter. Progress goes to
# stderr.
#
# Cache: $SDP_MCP_CACHE (default $XDG_CACHE_HOME/sdp-mcp or ~/.cache/sdp-mcp)
# /python-mcp-<version>. The venv is built in a temporary directory and
# renamed into place, so a half-finished install is never used and a finished
# one is reused.
set -euo pipefail

# The pinned SDK: 2.3 negotiates protocol 2026-07-28 by default and still
# speaks 2025-11-25 with mode="legacy".
MCP_VERSION=2.3.0

cache="${SDP_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sdp-mcp}"
dir="$cache/python-mcp-$MCP_VERSION"

log() { echo "python-mcp: $*" >&2; }
die() { log "$*"; exit 1; }

if [ -x "$dir/bin/python" ]; then
  echo "$dir/bin/python"
  exit 0
fi
py=$(command -v python3 || true)
[ -n "$py" ] || die "python3 not found: install Python 3.10 or newer (with venv)"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
  die "Python 3.10 or newer is needed, found $("$py" --version 2>&1)"

mkdir -p "$cache"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "installing mcp==$MCP_VERSION"
"$py" -m venv "$tmp" >&2 || die "could not create a virtual environment: install python3-venv"
"$tmp/bin/python" -m pip install --quiet --disable-pip-version-check "mcp==$MCP_VERSION" >&2 ||
  die "pip could not install mcp==$MCP_VERSION"
# Only bin/python is used (python -c / a script path): it finds its
# site-packages relative to itself, so the venv may be renamed into place.
mv "$tmp" "$dir" 2>/dev/null || [ -x "$dir/bin/python" ] || die "could not move the venv into $dir"
trap - EXIT
echo "$dir/bin/python"
