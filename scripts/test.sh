#!/usr/bin/env bash
# Runs every test of idelta, the way CI does. Installs what a fresh Debian
# machine lacks first, so it works on a new machine as well as a warm one.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

install_debian_packages() {
  local missing=()
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  if ((${#missing[@]})); then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "installing ${missing[*]}"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    else
      echo "missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
      exit 1
    fi
  fi
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
}

install_debian_packages

log "format"
cargo fmt --all --check

log "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "build the idelta binary (end-to-end tests start it as a process)"
cargo build --locked -p idelta-agent --bin idelta

log "test"
if command -v cargo-nextest >/dev/null 2>&1 || cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
  # nextest does not run doctests
  cargo test --workspace --locked --doc
else
  cargo test --workspace --locked --no-fail-fast
fi
