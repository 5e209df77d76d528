#!/bin/sh
# Copies host binaries (or shared objects) into a root filesystem for a FROM scratch image,
# with every shared library they load (found by ldd) and the dynamic loader, each at its real
# path, plus the /lib* symlinks of a usr-merged host. Used by the images built offline.
# Usage: scripts/copy-with-libs.sh ROOT FILE...   (FILE is copied to ROOT/FILE)
set -eu
root=$1; shift
for d in /lib /lib32 /lib64 /libx32; do
    [ -L "$d" ] && [ ! -e "$root$d" ] && ln -s "$(readlink "$d")" "$root$d"
done
libs=$(mktemp)
trap 'rm -f "$libs"' EXIT
for f in "$@"; do
    mkdir -p "$root$(dirname "$f")"
    [ -e "$root$f" ] || cp -L "$f" "$root$f"
    ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u > "$libs"
while read -r lib; do
    dir=$(cd "$(dirname "$lib")" && pwd -P)
    mkdir -p "$root$dir"
    [ -e "$root$dir/${lib##*/}" ] || cp -L "$lib" "$root$dir/${lib##*/}"
    # Also at the path ldd gave, when the host has no usr-merge (the loader's path is fixed).
    [ -e "$root$lib" ] || { mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; }
done < "$libs"
