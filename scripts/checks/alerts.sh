#!/usr/bin/env bash
# The shipped alert rules parse and their promtool unit tests pass (each alert is shown
# firing and not firing); the dashboard is valid JSON. The dashboard's queries are run
# against a real Prometheus by tests/observability.rs.
set -euo pipefail
cd "$(dirname "$0")/../.."
promtool check rules deploy/prometheus/alerts.yaml
(cd deploy/prometheus && promtool test rules alerts.test.yaml)
python3 -m json.tool deploy/grafana/halo-integrator.json >/dev/null
echo "alert rules and dashboard: ok"
