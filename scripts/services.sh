#!/usr/bin/env bash
# Local MongoDB-protocol, S3-protocol and SMTP servers for Endorse.
#
#   scripts/services.sh install            install the servers (once; cached)
#   scripts/services.sh run [--persist] -- CMD [ARGS...]
#        start them on free loopback ports, export ENDORSE_* settings,
#        run CMD, then stop exactly the processes started here.
#        --persist keeps data in .services/data between runs (the dev server);
#        without it every run gets fresh, throwaway instances (the test suite).
#   ENDORSE_SERVICES_MONGO=rust scripts/services.sh run -- CMD
#        the same with SecantusDB's Rust build (secantusd-rs) as the database,
#        for benchmarks: the Python server is the bottleneck of a read-heavy
#        load. Installed on first use (cmake from apt, about 4 minutes).
#
# Why these servers: mongod is not packaged in any registry these machines
# reach. SecantusDB (PyPI) speaks the MongoDB wire protocol and advertises a
# single-node replica set (transactions, change streams, unique indexes);
# s3s-fs (crates.io) is an S3 server that verifies SigV4 signatures, so
# presigned-URL tests can really fail. aiosmtpd (PyPI) accepts mail over
# SMTP and writes each message to a maildir, where people and tests read it.
set -euo pipefail

SECANTUS_VERSION=0.7.0b3
SECANTUS_RS_VERSION=0.5.3-beta.196
S3S_FS_VERSION=0.14.1
AIOSMTPD_VERSION=1.4.6
# Not a server: the independent JOSE library the credential tests verify
# Endorse's VC-JWTs with (tests/vc/verify.py).
JOSERFC_VERSION=1.0.4
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# This script's own inputs are ENDORSE_SERVICES_* (cache directory, ports) and
# what it exports for the tests is ENDORSE_TEST_*: the server refuses any other
# ENDORSE_* variable that names no setting (src/config/env.rs), and it runs
# with this environment.
# Installs live outside the clone so that a fresh CI clone on the same machine
# reuses them; a new machine installs from the registries.
CACHE=${ENDORSE_SERVICES_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/endorse}
SECANTUS_DIR="$CACHE/secantusdb-$SECANTUS_VERSION"
S3S_DIR="$CACHE/s3s-fs-$S3S_FS_VERSION"
SECANTUS_RS_DIR="$CACHE/secantus-mdb-$SECANTUS_RS_VERSION"
SMTP_DIR="$CACHE/aiosmtpd-$AIOSMTPD_VERSION"
JOSE_DIR="$CACHE/joserfc-$JOSERFC_VERSION"
# What differs between the two database builds. MONGO_POOL is the
# connection pool `run` gives the app (a caller's own
# ENDORSE_MONGODB_MAX_POOL_SIZE wins): how many operations the database has
# in flight at once. The Python build runs one command at a time (a thread
# per connection, one interpreter lock); at 8 connections its threads spent
# about 40% of its CPU contending for the lock (8 clients reading: 0.9k rps
# at 0.9 ms of database CPU a read). With 1, 2 or 3 connections it serves
# 1.5-2.0k rps, and a read costs it 0.41-0.42 ms with 1, 0.40-0.45 with 2
# and 0.43-0.49 with 3. Two, not one, because a live-updates subscription
# keeps one connection waiting on its change stream. Requests wait for a
# connection in the app instead, which costs nothing. The Rust build runs
# commands in parallel and is as fast with the app's default pool.
MONGO_KIND=${ENDORSE_SERVICES_MONGO:-python}
case "$MONGO_KIND" in
  python) MONGOD_BIN="$SECANTUS_DIR/bin/secantusd-py" MONGO_POOL=2 ;;
  rust) MONGOD_BIN="$SECANTUS_RS_DIR/bin/secantusd-rs" MONGO_POOL="" ;;
  *) printf 'services: ENDORSE_SERVICES_MONGO is python or rust, not %s\n' "$MONGO_KIND" >&2; exit 2 ;;
esac
S3_BIN="$S3S_DIR/bin/s3s-fs"

log() { printf 'services: %s\n' "$*" >&2; }

install_secantus() {
  # The marker is written last, so an interrupted install is redone.
  [ -f "$SECANTUS_DIR/.installed" ] && return 0
  log "installing SecantusDB $SECANTUS_VERSION into $SECANTUS_DIR"
  rm -rf "$SECANTUS_DIR"
  python3 -m venv "$SECANTUS_DIR"
  "$SECANTUS_DIR/bin/pip" install --quiet --disable-pip-version-check "secantusdb==$SECANTUS_VERSION"
  touch "$SECANTUS_DIR/.installed"
}

# A PyPI package in its own virtualenv: DIR, then the pip requirement.
# The marker is written last, so an interrupted install is redone.
install_venv() {
  [ -f "$1/.installed" ] && return 0
  log "installing $2 into $1"
  rm -rf "$1"
  python3 -m venv "$1"
  "$1/bin/pip" install --quiet --disable-pip-version-check "$2"
  touch "$1/.installed"
}

install_smtp() { install_venv "$SMTP_DIR" "aiosmtpd==$AIOSMTPD_VERSION"; }

install_jose() { install_venv "$JOSE_DIR" "joserfc==$JOSERFC_VERSION"; }

install_secantus_rs() {
  [ -x "$SECANTUS_RS_DIR/bin/secantusd-rs" ] && return 0
  # Its WiredTiger build needs cmake; it declares a newer rustc than this
  # machine's but builds with it.
  if ! command -v cmake >/dev/null; then
    log "installing cmake (apt) for secantus-mdb"
    if [ "$(id -u)" = 0 ]; then apt-get install -y -qq cmake >/dev/null; else sudo apt-get install -y -qq cmake >/dev/null; fi
  fi
  log "installing secantus-mdb $SECANTUS_RS_VERSION into $SECANTUS_RS_DIR (about 4 minutes)"
  cargo install secantus-mdb --version "$SECANTUS_RS_VERSION" --ignore-rust-version --locked \
    --root "$SECANTUS_RS_DIR.tmp" --quiet
  # Benchmark scripts that seed through pymongo find a Python with it
  # beside the server binary.
  python3 -m venv "$SECANTUS_RS_DIR.tmp/py"
  "$SECANTUS_RS_DIR.tmp/py/bin/pip" install --quiet --disable-pip-version-check "pymongo==4.10.1"
  # (a script, not a symlink: Python finds its venv from the path it runs as)
  printf '#!/bin/sh\nexec "%s/py/bin/python" "$@"\n' "$SECANTUS_RS_DIR" >"$SECANTUS_RS_DIR.tmp/bin/python"
  chmod +x "$SECANTUS_RS_DIR.tmp/bin/python"
  rm -rf "$SECANTUS_RS_DIR"
  mv "$SECANTUS_RS_DIR.tmp" "$SECANTUS_RS_DIR"
}

install_s3s() {
  [ -x "$S3_BIN" ] && return 0
  log "installing s3s-fs $S3S_FS_VERSION into $S3S_DIR (about 2 minutes)"
  cargo install s3s-fs --version "$S3S_FS_VERSION" --features binary --locked \
    --root "$S3S_DIR.tmp" --quiet
  mv "$S3S_DIR.tmp" "$S3S_DIR"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for NAME PID PORT LOG: bounded wait until PORT accepts connections.
wait_for() {
  local name=$1 pid=$2 port=$3 logfile=$4
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start-up; last lines of $logfile:"
      tail -n 20 "$logfile" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "$name did not answer on port $port within 20 s; last lines of $logfile:"
  tail -n 20 "$logfile" >&2
  return 1
}

run() {
  persist=0
  while [ $# -gt 0 ]; do
    case "$1" in
      --persist) persist=1; shift ;;
      --) shift; break ;;
      *) log "unknown option $1"; exit 2 ;;
    esac
  done
  [ $# -gt 0 ] || { log "run needs a command after --"; exit 2; }
  install_secantus
  [ "$MONGO_KIND" = rust ] && install_secantus_rs
  install_s3s
  install_smtp
  install_jose

  state="" mongo_data="" s3_data=""
  if [ "$persist" = 1 ]; then
    state="$ROOT/.services"
    mongo_data="$state/data/mongodb"
    s3_data="$state/data/s3"
  else
    state=$(mktemp -d "${TMPDIR:-/tmp}/endorse-services.XXXXXX")
    # The Rust build keeps its data in WiredTiger files: a throwaway folder.
    if [ "$MONGO_KIND" = rust ]; then mongo_data="$state/mongodb"; else mongo_data=":memory:"; fi
    s3_data="$state/s3"
  fi
  maildir="$state/mail"
  # A maildir is these three folders (aiosmtpd does not make them in an existing one).
  mkdir -p "$state/logs" "$s3_data" "$maildir/tmp" "$maildir/new" "$maildir/cur"
  [ "$mongo_data" = ":memory:" ] || mkdir -p "$mongo_data"

  pids=()
  mongo_port=${ENDORSE_SERVICES_MONGO_PORT:-$(free_port)}
  s3_port=${ENDORSE_SERVICES_S3_PORT:-$(free_port)}
  smtp_port=${ENDORSE_SERVICES_SMTP_PORT:-$(free_port)}
  access_key=endorse-dev
  secret_key=endorse-dev-secret-key

  cleanup() {
    local code=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    [ "$persist" = 1 ] || rm -rf "$state"
    exit "$code"
  }
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  "$MONGOD_BIN" --host 127.0.0.1 --port "$mongo_port" --storage-path "$mongo_data" \
    --log-level WARNING >"$state/logs/mongodb.log" 2>&1 &
  pids+=($!)
  wait_for MongoDB "${pids[-1]}" "$mongo_port" "$state/logs/mongodb.log"

  "$S3_BIN" --host 127.0.0.1 --port "$s3_port" --access-key "$access_key" \
    --secret-key "$secret_key" "$s3_data" >"$state/logs/s3.log" 2>&1 &
  pids+=($!)
  wait_for S3 "${pids[-1]}" "$s3_port" "$state/logs/s3.log"

  # Accepts every message and keeps it in the maildir (new/ holds one file each).
  "$SMTP_DIR/bin/python" -m aiosmtpd -n -l "127.0.0.1:$smtp_port" \
    -c aiosmtpd.handlers.Mailbox "$maildir" >"$state/logs/smtp.log" 2>&1 &
  pids+=($!)
  wait_for SMTP "${pids[-1]}" "$smtp_port" "$state/logs/smtp.log"

  export ENDORSE_MONGODB_URI="mongodb://127.0.0.1:$mongo_port/?directConnection=true"
  if [ -n "$MONGO_POOL" ]; then
    export ENDORSE_MONGODB_MAX_POOL_SIZE=${ENDORSE_MONGODB_MAX_POOL_SIZE:-$MONGO_POOL}
  fi
  export ENDORSE_S3_ENDPOINT="http://127.0.0.1:$s3_port"
  export ENDORSE_S3_PUBLIC_ENDPOINT="http://127.0.0.1:$s3_port"
  export ENDORSE_S3_ACCESS_KEY_ID="$access_key"
  export ENDORSE_S3_SECRET_ACCESS_KEY="$secret_key"
  export ENDORSE_S3_REGION=us-east-1
  export ENDORSE_S3_FORCE_PATH_STYLE=true
  # Tests that must stop and restart a database start their own instance.
  export ENDORSE_TEST_MONGOD_BIN="$MONGOD_BIN"
  export ENDORSE_TEST_S3_BIN="$S3_BIN"
  # Unencrypted, which is right only for this loopback server.
  export ENDORSE_SMTP_URL="smtp://127.0.0.1:$smtp_port"
  export ENDORSE_TEST_MAILDIR="$maildir"
  export ENDORSE_TEST_SMTP_BIN="$SMTP_DIR/bin/python"
  export ENDORSE_TEST_JOSE_PYTHON="$JOSE_DIR/bin/python"
  log "MongoDB on 127.0.0.1:$mongo_port, S3 on 127.0.0.1:$s3_port, SMTP on 127.0.0.1:$smtp_port (mail in $maildir/new, logs in $state/logs)"

  "$@"
}

case "${1:-}" in
  install) install_secantus; install_s3s; install_smtp; install_jose ;;
  run) shift; run "$@" ;;
  *) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
