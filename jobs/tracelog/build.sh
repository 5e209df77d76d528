#!/bin/sh
# Builds the tracelog binary (static, CGO_ENABLED=0) and its three images,
# FROM scratch, offline. Idempotent: unchanged sources rebuild nothing.
# Prints the image names. Usage: jobs/tracelog/build.sh [TAG]   (TAG default 1)
set -eu
cd "$(dirname "$0")"
TAG=${1:-1}

command -v go >/dev/null 2>&1 || { echo "build.sh: go not found (apt-get install golang-go)" >&2; exit 1; }
command -v docker >/dev/null 2>&1 || { echo "build.sh: docker not found (apt-get install docker.io)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "build.sh: docker engine not reachable (start dockerd)" >&2; exit 1; }

# A writable cache even when HOME is not (CI, containers).
: "${GOCACHE:=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/go-build}"
mkdir -p "$GOCACHE" 2>/dev/null || GOCACHE=/tmp/tracelog-go-build
export GOCACHE GOFLAGS= GOPROXY=off GO111MODULE=on CGO_ENABLED=0

mkdir -p build
# -buildid= keeps the binary byte-identical across builds, so docker's
# layer cache holds and an unchanged tree rebuilds nothing.
go build -trimpath -ldflags='-s -w -buildid=' -o build/tracelog.new .
if [ -f build/tracelog ] && cmp -s build/tracelog build/tracelog.new; then
    rm build/tracelog.new
else
    mv build/tracelog.new build/tracelog
fi
cp Dockerfile build/Dockerfile
printf '*\n!tracelog\n' > build/.dockerignore

# Legacy builder: works without buildx and without any registry (FROM scratch).
for pair in score:score backend:b client:c1; do
    name=${pair%%:*} role=${pair#*:}
    DOCKER_BUILDKIT=0 docker build -q --build-arg ROLE="$role" -t "tracelog/$name:$TAG" build >/dev/null 2>build/docker.err \
        || { cat build/docker.err >&2; echo "build.sh: docker build of tracelog/$name:$TAG failed" >&2; exit 1; }
    echo "tracelog/$name:$TAG"
done
