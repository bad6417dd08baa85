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
  # The web apps' browser test drives Debian's Chromium (playwright-core downloads no browser).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
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

# PostgreSQL on 127.0.0.1:5432 with trust auth for the `postgres` user: the
# agent's and the wallet's test suites run every storage case on it as well
# as on SQLite. Use the one that answers; start or install one otherwise.
postgres_answers() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

ensure_postgres() {
  postgres_answers && return 0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "installing PostgreSQL"
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
    else
      echo "PostgreSQL is not running on 127.0.0.1:5432 and cannot be installed here" >&2
      exit 1
    fi
  fi
  local version hba
  version=$(ls /etc/postgresql | sort -V | tail -1)
  hba=/etc/postgresql/$version/main/pg_hba.conf
  # Test machine only: trust local TCP connections, as CI machines do.
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
  for _ in $(seq 1 30); do postgres_answers && return 0; sleep 1; done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2
  exit 1
}

# Independent implementations the interop tests check idelta against:
# each tests/interop/NAME/ is a node project (package.json + lock file) or
# a Python one (requirements.txt), installed from the registries here.
install_interop_peers() {
  local dir
  for dir in tests/interop/*/; do
    [ -d "$dir" ] || continue
    if [ -f "$dir/package.json" ]; then
      command -v npm >/dev/null 2>&1 || { echo "npm is needed for $dir" >&2; exit 1; }
      log "npm packages for $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [ -f "$dir/requirements.txt" ]; then
      log "Python packages for $dir"
      python3 -m venv "$dir/.venv"
      "$dir/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$dir/requirements.txt"
    fi
  done
}

install_debian_packages
ensure_postgres
install_interop_peers
export IDELTA_TEST_POSTGRES="${IDELTA_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/postgres}"
export IDELTA_REQUIRE_POSTGRES=1
# The interop peers were installed above: their tests must run, not skip.
export IDELTA_REQUIRE_INTEROP=1
# So were Chromium and tests/interop/web (playwright-core): the browser test must run too.
export IDELTA_REQUIRE_BROWSER=1

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
