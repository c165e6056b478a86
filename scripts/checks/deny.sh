#!/usr/bin/env bash
# Supply-chain policy (deny.toml): licenses, banned crates, sources. Advisories need the
# RustSec database, which these machines cannot download (see deny.toml).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny (about 3 minutes)"
  cargo install cargo-deny --locked --quiet
fi
cargo deny --log-level error check bans licenses sources
echo "cargo deny: ok"
