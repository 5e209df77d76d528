#!/usr/bin/env bash
# Sets up everything tuner, its demo and its tests need on a Debian machine, idempotently:
# Debian packages (Docker engine, busybox-static, redis-tools, Go, Python venv, and
# postgresql-15 through jobs/postgres/build.sh: the demo's image and the tests' private
# PostgreSQL servers), a running dockerd, the Python package in .venv (with the PostgreSQL
# driver), and the images the demo and the tests run (built FROM scratch).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need_pkgs=()
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
# The test image copies the host's busybox, so it must be the static build.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
  || need_pkgs+=(busybox-static)
# redis-server and redis-benchmark for jobs/redis.yaml's image (no service is started).
dpkg-query -W -f='${Status}' redis-tools 2>/dev/null | grep -q 'ok installed' \
  || need_pkgs+=(redis-tools)
command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)
command -v mariadbd >/dev/null 2>&1 || need_pkgs+=(mariadb-server)
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)  # renders the HTML report in tests
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_pkgs+=(python3-venv)
command -v python3 >/dev/null 2>&1 || need_pkgs+=(python3)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  say "installing Debian packages: ${need_pkgs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  say "starting the Docker engine (dockerd)"
  as_root sh -c 'nohup dockerd >/var/log/dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dockerd.log" >&2; exit 1; }
fi

# MariaDB: shared studies (several workers) and the MySQL half of the storage tests.
if ! mysqladmin ping >/dev/null 2>&1; then
  say "starting MariaDB"
  as_root mkdir -p /run/mysqld
  as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=root
  for _ in $(seq 1 60); do as_root mysqladmin ping >/dev/null 2>&1 && break; sleep 0.5; done
  as_root mysqladmin ping >/dev/null 2>&1 || { echo "MariaDB did not start" >&2; exit 1; }
fi
# A user that may create and use tuner* databases (the tests make one per test).
as_root mysql -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'tuner'@'localhost' IDENTIFIED BY 'tuner';
CREATE USER IF NOT EXISTS 'tuner'@'127.0.0.1' IDENTIFIED BY 'tuner';
GRANT ALL PRIVILEGES ON `tuner%`.* TO 'tuner'@'localhost';
GRANT ALL PRIVILEGES ON `tuner%`.* TO 'tuner'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS tuner;
SQL

if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
say "installing tuner into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,postgres]' 2>&1 \
  | grep -v -e '^WARNING: Location' -e 'is ignored' >&2 || true
.venv/bin/python -c 'import tuner, optuna, docker' || { echo "pip install failed" >&2; exit 1; }

say "building images (FROM scratch, no registry)"
tests/images/busybox/build.sh >/dev/null
jobs/tracelog/build.sh >/dev/null
# Installs Debian's postgresql-15 first when missing (no cluster created or started).
jobs/postgres/build.sh >/dev/null
jobs/redis/build.sh >/dev/null
say "ready: .venv/bin/tuner --help"
