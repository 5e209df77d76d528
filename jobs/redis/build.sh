#!/bin/sh
# Builds tuner-demo/redis:7 FROM scratch, offline: Debian's redis-server and redis-benchmark
# (package redis-tools, installed if missing: it ships the server binary as redis-check-rdb,
# the same program, which picks its mode from its name; no service is installed or started),
# their shared libraries (found with ldd), busybox as /bin/sh and /redis/after-ping, which
# waits for a server to answer before it runs a command. Idempotent: an unchanged host
# rebuilds nothing (docker's layer cache). Prints the image name.
# Usage: jobs/redis/build.sh [IMAGE]   (IMAGE default tuner-demo/redis:7)
set -eu
cd "$(dirname "$0")"
tag=${1:-tuner-demo/redis:7}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
die() { echo "build.sh: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "docker engine not reachable (start dockerd)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (apt-get install busybox-static)"
if ! dpkg-query -W -f='${Status}' redis-tools 2>/dev/null | grep -q 'ok installed'; then
    echo "build.sh: installing redis-tools" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        redis-tools >/dev/null
fi
server=/usr/bin/redis-check-rdb
[ -x "$server" ] || die "$server missing (apt-get install redis-tools)"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/data" "$root/redis"
chmod 1777 "$root/tmp" "$root/data"
../../scripts/copy-with-libs.sh "$root" /usr/bin/redis-benchmark /usr/bin/redis-cli "$server"
cp "$server" "$root/usr/bin/redis-server"
cp "$busybox" "$root/bin/busybox"
for applet in sh sleep cat echo; do ln -s busybox "$root/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nredis:x:999:999:Redis:/data:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nredis:x:999:\n' > "$root/etc/group"
cp after-ping "$root/redis/"
chmod 755 "$root/redis/after-ping"

cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin:/bin
USER redis
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--save", "", "--appendonly", "no", "--protected-mode", "no"]
DOCKERFILE

# Legacy builder: works without buildx and without any registry (FROM scratch).
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null 2>"$ctx/docker.err" \
    || { cat "$ctx/docker.err" >&2; die "docker build of $tag failed"; }
echo "$tag"
