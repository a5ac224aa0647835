#!/usr/bin/env bash
# Install and start what the tests need: PostgreSQL (a role and database for the tests) and
# headless Chromium. Idempotent. Writes the connection settings to .services.env.
# Needs root for apt-get; without root it only reports what is missing (tests needing a server
# then skip locally, and fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
env_file=.services.env
: > "$env_file"

have_root() { [ "$(id -u)" = 0 ]; }
apt_updated=0
apt_install() {
  if ! have_root; then echo "services: not root, cannot install $*" >&2; return 1; fi
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null; apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL -------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "services: installing PostgreSQL" >&2
  apt_install postgresql || true
fi
if command -v pg_lsclusters >/dev/null 2>&1; then
  read -r pg_ver pg_cluster pg_port _ < <(pg_lsclusters -h | head -n1) || true
  if [ -n "${pg_ver:-}" ]; then
    pg_ctlcluster "$pg_ver" "$pg_cluster" start 2>/dev/null || true
    for _ in $(seq 1 30); do
      su postgres -c "pg_isready -q -p $pg_port" 2>/dev/null && break; sleep 0.5
    done
    su postgres -c "psql -q -p $pg_port -tc \"SELECT 1 FROM pg_roles WHERE rolname='noriai'\" | grep -q 1 || psql -q -p $pg_port -c \"CREATE ROLE noriai LOGIN PASSWORD 'noriai' CREATEDB\"" >/dev/null
    su postgres -c "psql -q -p $pg_port -tc \"SELECT 1 FROM pg_database WHERE datname='noriai_test'\" | grep -q 1 || psql -q -p $pg_port -c \"CREATE DATABASE noriai_test OWNER noriai\"" >/dev/null
    echo "NORIAI_TEST_POSTGRES_URL=postgresql+psycopg://noriai:noriai@127.0.0.1:${pg_port}/noriai_test" >> "$env_file"
    echo "services: PostgreSQL $pg_ver on 127.0.0.1:$pg_port" >&2
  fi
fi

# --- Chromium -----------------------------------------------------------------------------
if ! command -v chromium >/dev/null 2>&1; then
  echo "services: installing Chromium" >&2
  apt_install chromium fonts-noto-cjk || true
fi
if command -v chromium >/dev/null 2>&1; then
  echo "NORIAI_CHROMIUM=$(command -v chromium)" >> "$env_file"
  echo "services: $(chromium --version 2>/dev/null | head -n1)" >&2
fi
