#!/bin/bash
# One trial by hand, the way tuner runs it: a private network, the four
# containers started in job-file order (c1, c2, b, score) with every parameter
# as env, CPU/RAM limits, the output dir mounted at /out on score; the trial
# ends when score exits; then everything is removed.
#
#   run-once.sh NUM_CHUNK BATCH_PER_REQ BATCH_SIZE [DATA_SIZE]
#
# Env: CPU_C (clients, 0.5), CPU_B (backend, 0.5), CPU_S (score, 0.5), RAM (512m),
#      OUTDIR (score's /out, default a temp dir), B_ENV (extra "-e K=V" for b,
#      e.g. B_ENV="-e TRACELOG_CORRUPT=1"), ALL_ENV (extra "-e K=V" for all),
#      TAG (image tag, 1).
# Prints score's output and the other containers' last lines; exits with score's code.
set -u
[ $# -ge 3 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
NUM_CHUNK=$1 BATCH_PER_REQ=$2 BATCH_SIZE=$3 DATA_SIZE=${4:-small}
TAG=${TAG:-1} RAM=${RAM:-512m}
id=tl-$$-$RANDOM
out=${OUTDIR:-$(mktemp -d)}
env=(-e NUM_CHUNK="$NUM_CHUNK" -e BATCH_PER_REQ="$BATCH_PER_REQ" -e BATCH_SIZE="$BATCH_SIZE" -e DATA_SIZE="$DATA_SIZE")
# shellcheck disable=SC2206
env+=(${ALL_ENV:-})

cleanup() {
    docker rm -f "$id-c1" "$id-c2" "$id-b" "$id-score" >/dev/null 2>&1
    docker network rm "$id" >/dev/null 2>&1
}
trap cleanup EXIT
docker network create "$id" >/dev/null || exit 1

run() { # name cpu image [docker args...] -- [command...]
    local name=$1 cpu=$2 image=$3; shift 3
    docker run -d --name "$id-$name" --network "$id" --network-alias "$name" \
        --cpus "$cpu" --memory "$RAM" "${env[@]}" "$@" >/dev/null
}
run c1 "${CPU_C:-0.5}" "tracelog/client:$TAG" "tracelog/client:$TAG" /tracelog c1
run c2 "${CPU_C:-0.5}" "tracelog/client:$TAG" "tracelog/client:$TAG" /tracelog c2
# shellcheck disable=SC2086
run b "${CPU_B:-0.5}" "tracelog/backend:$TAG" ${B_ENV:-} "tracelog/backend:$TAG"
run score "${CPU_S:-0.5}" "tracelog/score:$TAG" -v "$out:/out" "tracelog/score:$TAG"

rc=$(timeout 120 docker wait "$id-score") || rc=124
docker logs "$id-score" 2>&1
for c in c1 c2 b; do docker logs "$id-$c" 2>&1 | grep -v NUM_CHUNK | tail -n 2; done
[ -f "$out/score.txt" ] && echo "score.txt: $(cat "$out/score.txt")"
[ -z "${OUTDIR:-}" ] && rm -rf "$out"
exit "$rc"
