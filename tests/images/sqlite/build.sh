#!/bin/sh
# Builds tuner-test/sqlite:1 FROM scratch: Debian's sqlite3 command-line shell with its
# libraries, and busybox as /bin/sh. No registry needed. Prints the image name.
set -eu
cd "$(dirname "$0")"
tag=${1:-tuner-test/sqlite:1}
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v sqlite3 >/dev/null 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sqlite3 >/dev/null
fi
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: apt-get install busybox-static" >&2; exit 1; }
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/data"
chmod 1777 "$ctx/rootfs/tmp" "$ctx/rootfs/data"
../../../scripts/copy-with-libs.sh "$ctx/rootfs" "$(command -v sqlite3)"
cp "$busybox" "$ctx/rootfs/bin/busybox"
for applet in sh cat echo; do ln -s busybox "$ctx/rootfs/bin/$applet"; done
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/bin:/bin
WORKDIR /data
CMD ["sqlite3"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$ctx" >/dev/null
echo "$tag"
