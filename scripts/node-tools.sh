#!/usr/bin/env bash
# Installs the pinned Node tools the end-to-end tests use (the MCP Inspector
# and the MCP conformance suite, pinned by e2e/package.json and
# e2e/package-lock.json) into a cache outside the clone, and a pinned Node 22
# from npm when the system Node is older than the tools need.
#
# Prints one line on stdout: the directories to put in front of PATH
# (colon-separated) so that `node`, `mcp-inspector` and `conformance` are the
# pinned ones. Progress goes to stderr.
#
#   PATH="$(scripts/node-tools.sh):$PATH" mcp-inspector --cli ...
#
# Cache: $SDP_MCP_CACHE (default $XDG_CACHE_HOME/sdp-mcp or ~/.cache/sdp-mcp)
# /node-tools. An install is keyed by the hash of the lock file, built in a
# temporary directory and renamed into place, so a half-finished install is
# never used and a finished one is reused.
set -euo pipefail

# Node 22.19 is the oldest Node the Inspector v2 supports.
MIN_NODE=22.19.0
# The Node installed from npm when the system one is older.
NODE_VERSION=22.23.3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
e2e="$here/../e2e"
cache="${SDP_MCP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sdp-mcp}/node-tools"

log() { echo "node-tools: $*" >&2; }
die() { log "$*"; exit 1; }

command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js (any version with npm; Node $MIN_NODE or newer is installed from npm if needed)"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js"

# version_ge A B: A >= B for dotted versions.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

sha() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@" | cut -c1-16; else shasum -a 256 "$@" | cut -c1-16; fi
}

# install_into DIR CMD...: runs CMD in a fresh temporary directory next to
# DIR and renames it to DIR when it succeeds.
install_into() {
  local dir=$1; shift
  [ -d "$dir" ] && return 0
  mkdir -p "$(dirname "$dir")"
  local tmp
  tmp=$(mktemp -d "$dir.tmp.XXXXXX")
  if ! (cd "$tmp" && "$@") >&2; then
    rm -rf "$tmp"
    die "install into $dir failed"
  fi
  if [ -d "$dir" ]; then
    # Another run finished first: use its install.
    rm -rf "$tmp"
  else
    mv "$tmp" "$dir"
  fi
}

npm_flags=(--no-audit --no-fund --loglevel=error)
path_prefix=""

# Node: the system one when new enough, else the pinned one from npm.
sys_node=$(node --version | sed 's/^v//')
if ! version_ge "$sys_node" "$MIN_NODE"; then
  node_dir="$cache/node-$NODE_VERSION"
  if [ ! -x "$node_dir/node_modules/.bin/node" ]; then
    log "system Node $sys_node is older than $MIN_NODE: installing node@$NODE_VERSION from npm"
    rm -rf "$node_dir"
    install_into "$node_dir" bash -c "echo '{\"private\":true}' > package.json && npm install ${npm_flags[*]} --no-save node@$NODE_VERSION"
  fi
  [ -x "$node_dir/node_modules/.bin/node" ] || die "node@$NODE_VERSION did not install a node binary in $node_dir"
  path_prefix="$node_dir/node_modules/.bin"
  got=$("$node_dir/node_modules/.bin/node" --version)
  [ "$got" = "v$NODE_VERSION" ] || die "the installed node reports $got, want v$NODE_VERSION"
fi
export PATH="${path_prefix:+$path_prefix:}$PATH"

# The tools, exactly as the lock file says.
key=$(cat "$e2e/package.json" "$e2e/package-lock.json" | sha -)
tools_dir="$cache/tools-$key"
if [ ! -x "$tools_dir/node_modules/.bin/mcp-inspector" ] || [ ! -x "$tools_dir/node_modules/.bin/conformance" ]; then
  log "installing the pinned MCP Inspector and conformance suite into $tools_dir"
  rm -rf "$tools_dir"
  install_into "$tools_dir" bash -c "cp '$e2e/package.json' '$e2e/package-lock.json' . && npm ci ${npm_flags[*]}"
fi
for bin in mcp-inspector conformance; do
  [ -x "$tools_dir/node_modules/.bin/$bin" ] || die "$bin missing from $tools_dir"
done

echo "${path_prefix:+$path_prefix:}$tools_dir/node_modules/.bin"
