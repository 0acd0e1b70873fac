#!/usr/bin/env bash
# Builds the offline base image patchday/node-base:22 without any registry: a root filesystem
# holding the project's own Node 22 binary (node_modules/.bin/node, installed by `npm ci` from
# the npm package `node`), the shared libraries ldd lists for it (and for sh and sleep, below), /etc/passwd and /etc/group
# with root and node (1000:1000), /tmp and /home/node, imported with `docker import`.
# It stands in for node:22-bookworm-slim on machines that cannot pull (CI, this lab):
#   npm run docker:base && PATCHDAY_BASE_IMAGE=patchday/node-base:22 npm run docker:build
# Besides node it holds only /bin/sh (the host's dash) and sleep, which docker/supervise.sh (the
# process restart mode) needs. Works from any cwd; PATCHDAY_BASE_TAG overrides the tag.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TAG="${PATCHDAY_BASE_TAG:-patchday/node-base:22}"
# What the default PATH of node:22-bookworm-slim is; docker import sets none.
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

fail () { echo "docker/base-image.sh: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || fail "no docker CLI on PATH: install docker (Debian: apt-get install docker.io)"
docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer (docker info failed): start it (systemctl start docker, or dockerd &) and check access to /var/run/docker.sock"
command -v ldd >/dev/null 2>&1 || fail "ldd not found (it comes with libc-bin)"

[ -e "$ROOT/node_modules/.bin/node" ] || fail "$ROOT/node_modules/.bin/node is missing: run 'npm ci' first (it installs the project's Node 22)"
NODE_BIN="$(readlink -f "$ROOT/node_modules/.bin/node")"
[ -x "$NODE_BIN" ] || fail "$NODE_BIN is not an executable file"
NODE_VERSION="$("$NODE_BIN" --version)" || fail "$NODE_BIN does not run"
case "$NODE_VERSION" in v22.*) ;; *) fail "$NODE_BIN is Node $NODE_VERSION, expected 22.x" ;; esac

START_NS=$(date +%s%N)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/patchday-base.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
R="$WORK/root"
mkdir -p "$R/usr/local/bin" "$R/bin" "$R/etc" "$R/tmp" "$R/home/node" "$R/root" "$R/dev" "$R/proc" "$R/sys"
chmod 1777 "$R/tmp"
chmod 700 "$R/root"

cp "$NODE_BIN" "$R/usr/local/bin/node"
if command -v strip >/dev/null 2>&1; then
  strip --strip-debug "$R/usr/local/bin/node"
else
  echo "docker/base-image.sh: strip not found (binutils): node is copied with its debug info" >&2
fi

# docker/supervise.sh runs on POSIX sh (dash, as in node:22-bookworm-slim) and needs sleep.
SH_BIN="$(readlink -f "$(command -v dash || command -v sh)")"
SLEEP_BIN="$(readlink -f "$(command -v sleep)")"
[ -x "$SH_BIN" ] || fail "no dash or sh on this host to copy into the image"
[ -x "$SLEEP_BIN" ] || fail "no sleep on this host to copy into the image"
cp "$SH_BIN" "$R/bin/sh"
cp "$SLEEP_BIN" "$R/bin/sleep"

# Every library ldd resolves for them, plus the loader, at the path the binary asks for (the
# loader's path is written into the ELF header; libraries are found in the default dirs). cp -L
# copies the file a symlink points to, under the name ldd printed.
LIBS="$(ldd "$NODE_BIN" "$SH_BIN" "$SLEEP_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $1 !~ /:$/ { print $1 }' | sort -u)"
[ -n "$LIBS" ] || fail "ldd listed no libraries for $NODE_BIN"
for lib in $LIBS; do
  [ -e "$lib" ] || fail "ldd names $lib for $NODE_BIN, but it does not exist"
  mkdir -p "$R$(dirname "$lib")"
  cp -L "$lib" "$R$lib"
done

cat >"$R/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
EOF
cat >"$R/etc/group" <<'EOF'
root:x:0:
node:x:1000:
EOF
# glibc >= 2.34 has files and dns built into libc, so no libnss_* is needed. Docker mounts
# /etc/hosts and /etc/resolv.conf (its embedded DNS on user-defined networks) at run time.
cat >"$R/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF

# Everything owned by root, except /home/node (node's). Two tar steps into one file instead of
# chown, so that a user in the docker group (not root) can build it too.
TAR="$WORK/rootfs.tar"
tar -C "$R" --numeric-owner --owner=0 --group=0 --exclude=./home/node -cf "$TAR" .
tar -C "$R" --numeric-owner --owner=1000 --group=1000 -rf "$TAR" ./home/node

ID="$(docker import \
  --change "ENV PATH=$IMAGE_PATH" \
  --change 'CMD ["node"]' \
  --change 'LABEL org.opencontainers.image.title=patchday-node-base' \
  --message "patchday offline base: Node $NODE_VERSION from $NODE_BIN" \
  "$TAR" "$TAG")"

SIZE=$(docker image inspect --format '{{.Size}}' "$TAG")
MS=$(( ($(date +%s%N) - START_NS) / 1000000 ))
printf 'built %s (%s): Node %s, %s shared libraries, %s MB, in %s.%03d s\n' \
  "$TAG" "${ID:7:12}" "$NODE_VERSION" "$(echo "$LIBS" | wc -l)" "$(( SIZE / 1000000 ))" "$(( MS / 1000 ))" "$(( MS % 1000 ))"
