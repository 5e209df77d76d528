#!/bin/sh
# Builds tuner-demo/postgres:15 FROM scratch, offline: PostgreSQL 15 server and pgbench
# out of the host's Debian package postgresql-15 (installed if missing, without creating
# or starting any cluster), the shared libraries they need (found with ldd), busybox as
# /bin/sh and the entry scripts /pg/serve and /pg/bench. Idempotent: an unchanged host
# rebuilds nothing (docker's layer cache). Prints the image name.
# Usage: jobs/postgres/build.sh [IMAGE]   (IMAGE default tuner-demo/postgres:15)
set -eu
cd "$(dirname "$0")"
tag=${1:-tuner-demo/postgres:15}
pgv=15
pgbin=/usr/lib/postgresql/$pgv/bin
pglib=/usr/lib/postgresql/$pgv/lib
pgshare=/usr/share/postgresql/$pgv

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
die() { echo "build.sh: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "docker not found (apt-get install docker.io)"
docker info >/dev/null 2>&1 || die "docker engine not reachable (start dockerd)"
command -v ldd >/dev/null 2>&1 || die "ldd not found (apt-get install libc-bin)"
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox not found (apt-get install busybox-static)"
ldd "$busybox" >/dev/null 2>&1 && die "$busybox is not static (apt-get install busybox-static)"

# Debian's postgresql-15, without the "main" cluster its postinst would create and start.
if ! dpkg-query -W -f='${Status}' "postgresql-$pgv" 2>/dev/null | grep -q 'ok installed'; then
    echo "build.sh: installing postgresql-$pgv (no cluster is created)" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null
    conf=/etc/postgresql-common/createcluster.conf
    if grep -q '^[[:space:]]*create_main_cluster' "$conf" 2>/dev/null; then
        as_root sed -i 's/^[[:space:]]*create_main_cluster.*/create_main_cluster = false/' "$conf"
    else
        as_root mkdir -p /etc/postgresql-common
        echo 'create_main_cluster = false' | as_root tee -a "$conf" >/dev/null
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "postgresql-$pgv" >/dev/null
fi
[ -x "$pgbin/postgres" ] || die "$pgbin/postgres missing (apt-get install postgresql-$pgv)"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root=$ctx/rootfs
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/pg" "$ctx/owned" \
    "$root$pgbin" "$root$pglib" "$root/usr/share/postgresql" "$root/usr/share/zoneinfo/Etc"
chmod 1777 "$root/tmp"

bins="postgres initdb pg_ctl pgbench psql pg_isready"
for b in $bins; do cp "$pgbin/$b" "$root$pgbin/"; done
# Every module but the JIT (jit is off: no LLVM in the image) and the build files.
for f in "$pglib"/*.so; do
    case ${f##*/} in llvmjit*) continue ;; esac
    cp "$f" "$root$pglib/"
done
cp -R "$pgshare" "$root/usr/share/postgresql/"
for z in UTC GMT; do
    cp -L "/usr/share/zoneinfo/$z" "$root/usr/share/zoneinfo/$z"
    cp -L "/usr/share/zoneinfo/Etc/$z" "$root/usr/share/zoneinfo/Etc/$z"
done

# The shared libraries (and the dynamic loader) of every binary and module.
staged=$(cd "$root" && for f in ."$pgbin"/* ."$pglib"/*.so; do echo "${f#.}"; done)
# shellcheck disable=SC2086  # one path a word
../../scripts/copy-with-libs.sh "$root" $staged
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\npostgres:x:999:\n' > "$root/etc/group"
cp serve bench "$root/pg/"
chmod 755 "$root/pg/serve" "$root/pg/bench"

cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=999:999 owned/ /var/lib/postgresql/
COPY --chown=999:999 owned/ /var/run/postgresql/
ENV PATH=$pgbin:/bin TZ=UTC LANG=C PGDATA=/var/lib/postgresql/data
USER postgres
WORKDIR /var/lib/postgresql
EXPOSE 5432
# SIGINT: fast shutdown (SIGTERM would wait for the clients to disconnect).
STOPSIGNAL SIGINT
CMD ["/pg/serve"]
DOCKERFILE

# Legacy builder: works without buildx and without any registry (FROM scratch).
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null 2>"$ctx/docker.err" \
    || { cat "$ctx/docker.err" >&2; die "docker build of $tag failed"; }
echo "$tag"
