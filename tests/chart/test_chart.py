"""Tests of the Helm chart (helm/halo-integrator) and the plain manifests (deploy/), with
the real tools: the helm and kubectl CLIs, kubernetes-validate (Kubernetes 1.30 OpenAPI
schemas, strict) and the prometheus-operator CRD models (npm). Run by
scripts/checks/chart.sh, which installs the tools and sets HELM, KUBECTL,
PROM_OP_NODE_MODULES and HALO_INTEGRATOR_BIN (the binary, whose `vars` command lists the
variables it reads: the chart and README "Configuration" are checked against that list).
Nothing is skipped: a missing tool is a failure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tarfile
from functools import cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "halo-integrator"
CI = CHART / "ci"
KUBE_VERSION = "1.30.0"
NAMESPACE = "halo"
VALUE_SETS = ["defaults", "existing-secret", "shards-3", "monitoring-on", "workload-identity", "all-imports"]
PROM_OP_KINDS = {"PodMonitor", "PrometheusRule"}
MOUNT = "/var/run/secrets/halo-integrator"


def tool(name: str) -> str:
    path = os.environ.get(name)
    assert path and Path(path).is_file(), f"{name} must point at the binary (set by scripts/checks/chart.sh)"
    return path


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([tool("HELM"), *args], capture_output=True, text=True, cwd=ROOT)
    if check:
        assert proc.returncode == 0, f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def values_file(name: str) -> str:
    return str(CI / f"{name}-values.yaml")


@cache
def render(value_set: str | None = None, release: str = "rel", sets: tuple[str, ...] = (),
           set_string: tuple[tuple[str, str], ...] = ()) -> tuple:
    """`helm template`; set_string: (key, text) pairs given as files (--set-file)."""
    args = ["template", release, str(CHART), "--namespace", NAMESPACE, "--kube-version", KUBE_VERSION]
    if value_set:
        args += ["-f", values_file(value_set)]
    for s in sets:
        args += ["--set", s]
    for key, text in set_string:
        path = Path(os.environ.get("HELM_CACHE_HOME", "/tmp")) / f"set-file-{abs(hash(text))}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        args += ["--set-file", f"{key}={path}"]
    docs = [d for d in yaml.safe_load_all(helm(*args).stdout) if d]
    return tuple(docs)


def objects(docs, kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind: str) -> dict:
    found = objects(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def cronjob(docs) -> dict:
    return one(docs, "CronJob")


def job_spec(docs) -> dict:
    return cronjob(docs)["spec"]["jobTemplate"]["spec"]


def pod_spec(docs) -> dict:
    return job_spec(docs)["template"]["spec"]


def container(spec: dict) -> dict:
    (c,) = [c for c in spec["containers"] if c["name"] == "halo-integrator"]
    return c


def env(spec: dict) -> dict[str, dict]:
    return {e["name"]: e for e in container(spec).get("env", [])}


def env_values(spec: dict) -> dict[str, str | None]:
    return {k: e.get("value") for k, e in env(spec).items()}


def hook_pod(docs) -> dict:
    (pod,) = [d for d in objects(docs, "Pod") if d["metadata"]["annotations"].get("helm.sh/hook") == "test"]
    return pod


# --- the value sets -----------------------------------------------------------------


def test_ci_value_sets_are_the_expected_ones():
    assert sorted(p.name for p in CI.glob("*-values.yaml")) == sorted(f"{v}-values.yaml" for v in VALUE_SETS)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_helm_lint_strict(value_set):
    proc = helm("lint", "--strict", str(CHART), "-f", values_file(value_set), "--kube-version", KUBE_VERSION)
    out = proc.stdout + proc.stderr
    assert "[WARNING]" not in out and "[ERROR]" not in out, out
    assert "0 chart(s) failed" in out, out


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_rendered_manifest_is_valid(value_set):
    docs = render(value_set)
    assert docs, "nothing rendered"
    validate_all(docs)


def validate_all(docs):
    crds = []
    for doc in docs:
        if doc["kind"] in PROM_OP_KINDS:
            crds.append(doc)
            continue
        # Raises ValidationError / SchemaNotFoundError on anything wrong or unknown.
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    if crds:
        validate_prometheus_operator(crds)


def validate_prometheus_operator(docs, expect_valid: bool = True) -> str:
    proc = subprocess.run(
        ["node", str(Path(__file__).with_name("validate_prometheus_operator.mjs"))],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    if expect_valid:
        assert proc.returncode == 0, out
        assert out.count("valid ") == len(docs), out
    return out


def test_prometheus_operator_validator_rejects_a_bad_object():
    docs = render("monitoring-on")
    bad = json.loads(json.dumps(one(docs, "PodMonitor")))
    bad["spec"]["podMetricsEndpoints"][0]["interval"] = 15  # must be a string
    rule = json.loads(json.dumps(one(docs, "PrometheusRule")))
    del rule["spec"]["groups"][0]["rules"][0]["expr"]
    out = validate_prometheus_operator([bad, rule], expect_valid=False)
    assert out.count("INVALID") == 2, out


def test_kubernetes_validate_rejects_an_unknown_field():
    doc = json.loads(json.dumps(cronjob(render("defaults"))))
    doc["spec"]["jobTemplate"]["spec"]["podFailurePolicyy"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


# --- schema and required values ---------------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        ("shards=three", "shards"),
        ("bogusTopLevelKey=1", "bogusTopLevelKey"),
        ("halo.urll=https://x", "urll"),
        ("schedule=", "schedule"),
        ("schedule=null", "schedule"),
        ("suspend=maybe", "suspend"),
        ("telemetry.logFormat=xml", "logFormat"),
        ("safety.maxDeactivationPercent=150", "maxDeactivationPercent"),
        ("halo.url=acme.halopsa.com", "url"),
        ("imports.enabled=entra-users", "enabled"),
        ("podFailurePolicy.failJobExitCodes[0]=two", "failJobExitCodes"),
        ("imports.enabled[0]=ldap-user", "enabled"),
        ("imports.ldapUsers.linkField=other6", "linkField"),
        ("imports.ldapUsers.url=https://dc1.corp.example", "url"),
        ("imports.ldapUsers.clientMap[0].dn=Sales", "dn"),
        ("imports.csvAssets.linkField=abc", "linkField"),
        ("imports.csvAssets.match=client", "match"),
        ("imports.csvAssets.fil.key=a.csv", "fil"),
        ("mapping.imports.entra-user.default_site=main", "entra-user"),
        ("mapping.imprts.x=1", "imprts"),
    ],
)
def test_schema_rejects_bad_values(bad, message):
    proc = helm("template", "rel", str(CHART), "-f", values_file("defaults"), "--set", bad, check=False)
    assert proc.returncode != 0, f"--set {bad} was accepted"
    assert "schema" in proc.stderr and message in proc.stderr, proc.stderr


def test_missing_required_values_are_named():
    proc = helm("template", "rel", str(CHART), check=False)
    assert proc.returncode != 0 and "halo.url is required" in proc.stderr, proc.stderr
    proc = helm("template", "rel", str(CHART), "--set", "halo.url=https://a.halopsa.com,halo.clientId=x",
                "--set", "halo.clientSecret=s,entra.clientSecret=e", check=False)
    assert proc.returncode != 0 and "entra.clientId is required" in proc.stderr, proc.stderr


@pytest.mark.parametrize("unset, message", [
    ("imports.csvAssets.file.content", "imports.csvAssets.file.existingConfigMap or imports.csvAssets.file.content is required"),
    ("imports.csvAssets.columns", "imports.csvAssets.columns is required"),
    ("imports.csvAssets.linkField", "imports.csvAssets.linkField is required"),
    ("imports.ldapUsers.url", "imports.ldapUsers.url is required"),
    ("imports.ldapUsers.bindDn", "imports.ldapUsers.bindDn is required"),
    ("imports.ldapUsers.bindPassword", "imports.ldapUsers.bindPassword is required"),
    ("imports.ldapUsers.baseDn", "imports.ldapUsers.baseDn is required"),
    ("imports.ldapUsers.client,imports.ldapUsers.clientMap", "imports.ldapUsers.client or imports.ldapUsers.clientMap is required"),
    ("imports.ldapUsers.linkField", "imports.ldapUsers.linkField is required"),
    ("tickets.typeId", "tickets.typeId is required when tickets.enabled"),
    ("tickets.client", "tickets.client is required when tickets.enabled"),
    ("tickets.outcomeId", "tickets.outcomeId is required when tickets.enabled"),
])
def test_missing_import_values_are_named(unset, message):
    nulls = ",".join(f"{key}=null" for key in unset.split(","))
    proc = helm("template", "rel", str(CHART), "-f", values_file("all-imports"), "--set", nulls, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_all_imports_configured_from_values():
    docs = render("all-imports")
    values = yaml.safe_load(Path(values_file("all-imports")).read_text())
    cm = one(docs, "ConfigMap")
    assert cm["metadata"]["name"] == "rel-halo-integrator-config"
    # the mapping file: the `mapping` value as YAML, mounted and named by INTEGRATOR_CONFIG_FILE
    assert yaml.safe_load(cm["data"]["mapping.yaml"]) == values["mapping"]
    # the inline files, byte for byte
    assert cm["data"]["assets.csv"] == values["imports"]["csvAssets"]["file"]["content"]
    assert cm["data"]["ca.crt"] == values["imports"]["ldapUsers"]["caBundle"]["content"]
    for spec in (pod_spec(docs), hook_pod(docs)["spec"]):
        e = env_values(spec)
        assert mounted_file(spec, e["INTEGRATOR_CONFIG_FILE"]) == (cm["metadata"]["name"], "mapping.yaml")
        assert mounted_file(spec, e["CSV_ASSETS_PATH"]) == (cm["metadata"]["name"], "assets.csv")
        assert mounted_file(spec, e["LDAP_CA_FILE"]) == (cm["metadata"]["name"], "ca.crt")
        assert e["INTEGRATOR_IMPORTS"] == "entra-users,intune-devices,csv-assets,ldap-users"
        assert e["CSV_ASSETS_COLUMNS"] == values["imports"]["csvAssets"]["columns"]
        assert (e["CSV_ASSETS_MATCH"], e["CSV_ASSETS_LINK_FIELD"], e["CSV_ASSETS_TYPE"], e["CSV_ASSETS_DELIMITER"]) == (
            "key_field", "14", "Workstation", ";")
        assert e["LDAP_URL"] == "ldaps://dc1.corp.example" and e["LDAP_STARTTLS"] == "false"
        assert e["LDAP_BIND_DN"] == "CN=halo-reader,OU=Service,DC=corp,DC=example"
        assert e["LDAP_BIND_PASSWORD_FILE"] == secret_files(spec)["ldap-bind-password"] == f"{MOUNT}/ldap-bind-password"
        assert e["LDAP_CLIENT_MAP"] == "ou=Sales,dc=corp,dc=example=Fabrikam Inc;ou=Depot,dc=corp,dc=example=42"
        assert (e["LDAP_CLIENT"], e["LDAP_LINK_FIELD"], e["LDAP_PAGE_SIZE"]) == ("Contoso Ltd", "other3", "1000")
        assert e["LDAP_FILTER"] == "(&(objectCategory=person)(objectClass=user))"
        assert "LDAP_BIND_PASSWORD" not in e
        assert {k: v for k, v in e.items() if "TICKET" in k} == {
            "INTEGRATOR_HALO_TICKETS": "true", "INTEGRATOR_TICKET_TYPE_ID": "3",
            "INTEGRATOR_TICKET_CLIENT": "Acme MSP", "INTEGRATOR_TICKET_OUTCOME_ID": "7",
            "INTEGRATOR_TICKET_TEAM": "Integrations", "INTEGRATOR_TICKET_AGENT_ID": "12",
            "INTEGRATOR_TICKET_CLOSED_STATUS_ID": "9", "INTEGRATOR_TICKET_MAX_PER_RUN": "5"}
    assert one(docs, "Secret")["stringData"]["ldap-bind-password"] == "ldap-secret-for-tests"
    assert "ldap-secret-for-tests" not in json.dumps([d for d in docs if d["kind"] != "Secret"])
    # a changed mapping (or inline file) rolls into the next run's pods
    annotations = job_spec(docs)["template"]["metadata"]["annotations"]
    changed = job_spec(render("all-imports", sets=("mapping.imports.entra-users.default_site=skip",)))
    assert annotations["checksum/config"] != changed["template"]["metadata"]["annotations"]["checksum/config"]
    # the mapping file as text (--set-file mapping=...) is kept verbatim: `on:` stays `on:`
    text = "imports:\n  entra-users:\n    fields:\n      - {from: department, to: other2, on: create}\n"
    verbatim = one(render("all-imports", sets=(), set_string=(("mapping", text),)), "ConfigMap")
    assert verbatim["data"]["mapping.yaml"] == text
    # without the imports, nothing of theirs is rendered
    plain = render("defaults")
    assert not [k for k in env(pod_spec(plain)) if k.startswith(("CSV_ASSETS_", "LDAP_", "INTEGRATOR_CONFIG"))]
    assert {v["name"] for v in pod_spec(plain)["volumes"]} == {"secrets", "tmp"}
    assert set(one(plain, "Secret")["stringData"]) == {"halo-client-secret", "entra-client-secret"}


# --- what the chart renders -------------------------------------------------------------


def test_cronjob_defaults():
    docs = render("defaults")
    cj = cronjob(docs)["spec"]
    assert cj["schedule"] == "17 * * * *"
    assert cj["timeZone"] == "Etc/UTC"
    assert cj["suspend"] is False
    assert cj["concurrencyPolicy"] == "Forbid"
    assert cj["startingDeadlineSeconds"] == 600
    assert (cj["successfulJobsHistoryLimit"], cj["failedJobsHistoryLimit"]) == (3, 3)
    job = job_spec(docs)
    assert job["backoffLimit"] == 2
    assert job["activeDeadlineSeconds"] == 3600
    assert job["ttlSecondsAfterFinished"] == 86400
    assert "completionMode" not in job and "completions" not in job and "parallelism" not in job
    assert pod_spec(docs)["restartPolicy"] == "Never"
    assert container(pod_spec(docs))["args"] == ["run"]
    # the memory limit the benchmarks justify (docs/benchmarks.md): 63 MiB measured at worst,
    # steady state; a first sync of a large tenant holds its creates too
    assert container(pod_spec(docs))["resources"] == {
        "requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}}
    assert "INTEGRATOR_SHARD_COUNT" not in env(pod_spec(docs))
    # optional objects are off by default
    assert not [d for d in docs if d["kind"] in {"PodMonitor", "PrometheusRule", "NetworkPolicy", "ConfigMap"}]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pod_failure_policy(value_set):
    rules = job_spec(render(value_set))["podFailurePolicy"]["rules"]
    fail_job = [r for r in rules if r["action"] == "FailJob"]
    assert len(fail_job) == 1
    assert fail_job[0]["onExitCodes"] == {"containerName": "halo-integrator", "operator": "In", "values": [2, 4]}
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]} in rules


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_restricted_security_context(value_set):
    docs = render(value_set)
    for spec in (pod_spec(docs), hook_pod(docs)["spec"]):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 65534
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        c = container(spec)["securityContext"]
        assert c["allowPrivilegeEscalation"] is False
        assert c["readOnlyRootFilesystem"] is True
        assert c["capabilities"]["drop"] == ["ALL"]
        assert c["runAsNonRoot"] is True
        assert c["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        assert {"name": "tmp", "mountPath": "/tmp"} in container(spec)["volumeMounts"]


def secret_files(spec: dict) -> dict[str, str]:
    """{key: mounted path} of the secrets volume, checked to be mounted read-only."""
    (volume,) = [v for v in spec["volumes"] if v["name"] == "secrets"]
    (mount,) = [m for m in container(spec)["volumeMounts"] if m["name"] == "secrets"]
    assert mount["readOnly"] is True
    return {i["key"]: f"{mount['mountPath']}/{i['path']}" for i in volume["secret"]["items"]} | {
        "__secretName": volume["secret"]["secretName"]
    }


def mounted_file(spec: dict, path: str) -> tuple[str, str]:
    """(ConfigMap name, key) of the ConfigMap item mounted read-only at `path`."""
    directory, name = path.rsplit("/", 1)
    (mount,) = [m for m in container(spec)["volumeMounts"] if m["mountPath"] == directory]
    assert mount["readOnly"] is True, mount
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    (item,) = [i for i in volume["configMap"]["items"] if i["path"] == name]
    return volume["configMap"]["name"], item["key"]


def test_chart_made_secret_is_mounted_and_passed_as_files():
    docs = render("defaults")
    secret = one(docs, "Secret")
    assert secret["stringData"] == {
        "halo-client-secret": "halo-secret-for-tests",
        "entra-client-secret": "entra-secret-for-tests",
    }
    for spec in (pod_spec(docs), hook_pod(docs)["spec"]):
        files = secret_files(spec)
        assert files["__secretName"] == secret["metadata"]["name"]
        e = env_values(spec)
        assert e["HALO_CLIENT_SECRET_FILE"] == files["halo-client-secret"] == f"{MOUNT}/halo-client-secret"
        assert e["ENTRA_CLIENT_SECRET_FILE"] == files["entra-client-secret"]
        assert "HALO_CLIENT_SECRET" not in e and "ENTRA_CLIENT_SECRET" not in e
    # no secret value anywhere but in the Secret
    rendered = json.dumps([d for d in docs if d["kind"] != "Secret"])
    assert "secret-for-tests" not in rendered
    # a changed secret rolls into the next run's pods
    assert "checksum/secret" in job_spec(docs)["template"]["metadata"]["annotations"]


def test_existing_secret():
    docs = render("existing-secret")
    assert not objects(docs, "Secret")
    files = secret_files(pod_spec(docs))
    assert files["__secretName"] == "halo-integrator-credentials"
    e = env_values(pod_spec(docs))
    assert e["HALO_CLIENT_SECRET_FILE"] == files["halo"] == f"{MOUNT}/halo"
    assert e["ENTRA_CLIENT_SECRET_FILE"] == files["entra"] == f"{MOUNT}/entra"
    assert e["LDAP_BIND_PASSWORD_FILE"] == files["ldap"] == f"{MOUNT}/ldap"
    assert e["ENTRA_TENANTS"] == "1cc46b90-2c2e-4050-a87b-4dfcd6f53402,b31b6cf7-433a-4dc2-953a-9c16a368dbb7"
    # the import files from ConfigMaps managed outside the chart: no chart-made ConfigMap
    assert not objects(docs, "ConfigMap")
    assert "checksum/config" not in job_spec(docs)["template"]["metadata"]["annotations"]
    for spec in (pod_spec(docs), hook_pod(docs)["spec"]):
        assert mounted_file(spec, env_values(spec)["CSV_ASSETS_PATH"]) == ("asset-inventory", "inventory.xlsx")
        assert mounted_file(spec, env_values(spec)["LDAP_CA_FILE"]) == ("corp-ca", "corp-root.pem")


def test_shards_3_is_an_indexed_job():
    docs = render("shards-3")
    job = job_spec(docs)
    assert job["completionMode"] == "Indexed"
    assert job["completions"] == 3 and job["parallelism"] == 3
    assert env_values(pod_spec(docs))["INTEGRATOR_SHARD_COUNT"] == "3"
    # the binary takes its index from JOB_COMPLETION_INDEX, which the Job sets
    assert "INTEGRATOR_SHARD_INDEX" not in env(pod_spec(docs))
    # `helm test` checks every tenant: no sharding there
    assert "INTEGRATOR_SHARD_COUNT" not in env(hook_pod(docs)["spec"])


def test_workload_identity():
    docs = render("workload-identity")
    sa = one(docs, "ServiceAccount")
    assert sa["metadata"]["annotations"] == {
        "azure.workload.identity/client-id": "0b5e55ed-51a1-4a11-8e11-51a7a7e5c0de",
        "azure.workload.identity/tenant-id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
        "example.com/owner": "platform",
    }
    for meta, spec in (
        (job_spec(docs)["template"]["metadata"], pod_spec(docs)),
        (hook_pod(docs)["metadata"], hook_pod(docs)["spec"]),
    ):
        assert meta["labels"]["azure.workload.identity/use"] == "true"
        assert spec["serviceAccountName"] == sa["metadata"]["name"]
        e = env_values(spec)
        assert "ENTRA_CLIENT_SECRET_FILE" not in e and "ENTRA_CLIENT_SECRET" not in e
        assert e["ENTRA_CLIENT_ID"] == "0b5e55ed-51a1-4a11-8e11-51a7a7e5c0de"
        assert set(secret_files(spec)) == {"halo-client-secret", "__secretName"}
    assert set(one(docs, "Secret")["stringData"]) == {"halo-client-secret"}
    # without workload identity there is no such label
    assert "azure.workload.identity/use" not in job_spec(render("defaults"))["template"]["metadata"]["labels"]


def test_kubernetes_resource_attributes_for_opentelemetry():
    docs = render("defaults")
    spec = pod_spec(docs)
    names = [e["name"] for e in container(spec)["env"]]
    e = env(spec)
    assert e["K8S_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert e["K8S_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert e["K8S_JOB_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.labels['batch.kubernetes.io/job-name']"
    assert e["K8S_CRONJOB_NAME"]["value"] == cronjob(docs)["metadata"]["name"]
    attrs = e["OTEL_RESOURCE_ATTRIBUTES"]["value"]
    assert attrs == (
        "k8s.namespace.name=$(K8S_NAMESPACE),k8s.pod.name=$(K8S_POD_NAME),"
        "k8s.cronjob.name=$(K8S_CRONJOB_NAME),k8s.job.name=$(K8S_JOB_NAME)"
    )
    # $(VAR) only expands variables defined earlier in the list
    for ref in re.findall(r"\$\((\w+)\)", attrs):
        assert names.index(ref) < names.index("OTEL_RESOURCE_ATTRIBUTES")
    assert int(e["OTEL_EXPORTER_OTLP_TIMEOUT"]["value"]) <= 5000
    assert e["OTEL_SERVICE_NAME"]["value"] == "halo-integrator"
    # no exporter endpoint unless configured
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" not in e
    # extra attributes are appended
    extra = env_values(pod_spec(render("monitoring-on")))["OTEL_RESOURCE_ATTRIBUTES"]
    assert extra.endswith(",deployment.environment=production") and "k8s.job.name=$(K8S_JOB_NAME)" in extra


def test_monitoring_on_env_values():
    e = env_values(pod_spec(render("monitoring-on")))
    assert e["INTEGRATOR_IMPORTS"] == "entra-users,intune-devices"
    assert e["INTUNE_ASSET_TYPE"] == "Laptop"
    assert (e["INTUNE_FIELD_SERIAL"], e["INTUNE_FIELD_MODEL"], e["INTUNE_FIELD_OS"], e["INTUNE_FIELD_LAST_SEEN"]) == (
        "101", "102", "103", "104")
    assert e["ENTRA_USERS_INCLUDE_GUESTS"] == "true" and e["ENTRA_USERS_FILTER"] == "department eq 'Sales'"
    assert e["INTEGRATOR_DEACTIVATE_MISSING"] == "true" and e["INTEGRATOR_MAX_DEACTIVATION_PERCENT"] == "5"
    assert e["HALO_RATE_LIMIT_REQUESTS"] == "250" and e["HALO_BATCH_SIZE"] == "100"
    assert e["INTEGRATOR_RETRY_INITIAL_DELAY_MS"] == "500"
    assert e["INTEGRATOR_PUSHGATEWAY_URL"] == "http://prometheus-pushgateway.monitoring:9091"
    assert e["RUST_BACKTRACE"] == "1"  # extraEnv
    spec = pod_spec(render("monitoring-on"))
    assert container(spec)["envFrom"] == [{"configMapRef": {"name": "halo-integrator-extra"}}]
    headers = env(spec)["OTEL_EXPORTER_OTLP_HEADERS"]
    assert headers["valueFrom"]["secretKeyRef"] == {"name": "otlp-credentials", "key": "headers"}
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"} and spec["tolerations"] and spec["affinity"]
    assert spec["imagePullSecrets"] == [{"name": "regcred"}]
    meta = job_spec(render("monitoring-on"))["template"]["metadata"]
    assert meta["labels"]["team"] == "platform" and meta["annotations"]["example.com/team"] == "platform"


def test_pod_monitor_scrapes_the_metrics_port():
    docs = render("monitoring-on")
    pm = one(docs, "PodMonitor")
    labels = job_spec(docs)["template"]["metadata"]["labels"]
    assert pm["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pm["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "10s"}]
    assert pm["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (port,) = container(pod_spec(docs))["ports"]
    assert port["name"] == "metrics" and port["containerPort"] == 9464
    assert env_values(pod_spec(docs))["INTEGRATOR_METRICS_ADDR"] == "0.0.0.0:9464"
    # the test pod serves no metrics
    assert "INTEGRATOR_METRICS_ADDR" not in env(hook_pod(docs)["spec"])


def test_prometheus_rule_is_deploy_alerts_yaml():
    rule = one(render("monitoring-on"), "PrometheusRule")
    source = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yaml").read_text())
    assert rule["spec"]["groups"] == source["groups"]
    assert rule["spec"]["groups"] and all(g["rules"] for g in rule["spec"]["groups"])


def test_grafana_dashboard_configmap_is_deploy_dashboard():
    cm = one(render("monitoring-on"), "ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["namespace"] == "monitoring"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "Integrations"}
    source = json.loads((ROOT / "deploy" / "grafana" / "halo-integrator.json").read_text())
    assert json.loads(cm["data"]["halo-integrator.json"]) == source


def test_chart_reads_dashboard_and_rules_from_deploy_through_symlinks():
    for name, target in [("alerts.yaml", "deploy/prometheus/alerts.yaml"),
                         ("halo-integrator.json", "deploy/grafana/halo-integrator.json")]:
        link = CHART / "files" / name
        assert link.is_symlink(), f"{link} must be a symlink into deploy/, not a copy"
        assert link.resolve() == (ROOT / target).resolve()


def test_helm_package_contains_the_linked_files(tmp_path):
    helm("package", str(CHART), "--destination", str(tmp_path))
    (archive,) = tmp_path.glob("halo-integrator-*.tgz")
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        for name, source in [("alerts.yaml", "deploy/prometheus/alerts.yaml"),
                             ("halo-integrator.json", "deploy/grafana/halo-integrator.json")]:
            member = members[f"halo-integrator/files/{name}"]
            assert member.isfile(), f"{name} is not a regular file in the package"
            assert tar.extractfile(member).read() == (ROOT / source).read_bytes()
        assert "halo-integrator/values.schema.json" in members
        assert not [n for n in members if "/ci/" in n]
    # the packaged chart renders the same objects
    packaged = [d for d in yaml.safe_load_all(helm(
        "template", "rel", str(archive), "-n", NAMESPACE, "-f", values_file("monitoring-on")).stdout) if d]
    assert packaged == list(render("monitoring-on"))


def test_network_policy_allows_dns_and_https_only():
    docs = render("monitoring-on")
    np = one(docs, "NetworkPolicy")["spec"]
    assert np["policyTypes"] == ["Ingress", "Egress"]
    assert np["podSelector"]["matchLabels"].items() <= job_spec(docs)["template"]["metadata"]["labels"].items()
    egress = np["egress"]
    assert egress[0] == {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    assert egress[1] == {"ports": [{"port": 443, "protocol": "TCP"}]}
    assert [p["port"] for p in egress[2]["ports"]] == [9091, 4318] and egress[2]["to"]  # extraEgress
    assert len(egress) == 3
    assert np["ingress"] == [{
        "ports": [{"port": "metrics", "protocol": "TCP"}],
        "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
    }]
    # without metrics, no ingress at all
    plain = one(render("defaults", sets=("networkPolicy.enabled=true",)), "NetworkPolicy")["spec"]
    assert plain["ingress"] == [] and len(plain["egress"]) == 2


@pytest.mark.parametrize("value_set, sets, port", [
    ("all-imports", (), 636),                                               # ldaps:// default
    ("existing-secret", (), 3389),                                          # explicit port
    ("all-imports", ("imports.ldapUsers.url=ldap://dc1.corp.example",), 389),  # ldap:// default
    ("all-imports", ("imports.ldapUsers.url=ldaps://[fd00::10]:6636",), 6636),
])
def test_network_policy_opens_the_ldap_port(value_set, sets, port):
    egress = one(render(value_set, sets=sets), "NetworkPolicy")["spec"]["egress"]
    assert egress[:2] == [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        {"ports": [{"port": 443, "protocol": "TCP"}]},
    ]
    assert egress[2:] == [{"ports": [{"port": port, "protocol": "TCP"}]}]


def test_helm_test_hook_runs_check():
    docs = render("defaults")
    pod = hook_pod(docs)
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert container(pod["spec"])["args"] == ["check"]
    assert pod["spec"]["restartPolicy"] == "Never"
    assert container(pod["spec"])["image"] == container(pod_spec(docs))["image"]
    assert not [d for d in render("defaults", sets=("test.enabled=false",)) if d["kind"] == "Pod"]


def test_labels_and_names():
    docs = render("defaults")
    for doc in docs:
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == "halo-integrator"
        assert labels["app.kubernetes.io/instance"] == "rel"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == "0.1.0"
        assert doc["metadata"]["namespace"] == NAMESPACE
    assert cronjob(docs)["metadata"]["name"] == "rel-halo-integrator"
    assert container(pod_spec(docs))["image"] == "ghcr.io/halo-integrator/halo-integrator:0.1.0"
    digest = "sha256:" + "a" * 64
    pinned = render("defaults", sets=(f"image.digest={digest}",))
    assert container(pod_spec(pinned))["image"] == f"ghcr.io/halo-integrator/halo-integrator@{digest}"


def test_names_fit_with_a_long_release_name():
    release = "a-very-long-release-name-for-the-halo-integrator-in-production-x"[:53]
    docs = render("monitoring-on", release=release)
    validate_all(docs)
    names = {f"{d['kind']}/{d['metadata']['name']}": d["metadata"]["name"] for d in docs}
    too_long = {k: len(v) for k, v in names.items() if len(v) > 52}
    assert not too_long, too_long
    for d in docs:
        for value in d["metadata"]["labels"].values():
            assert len(value) <= 63
    assert env_values(pod_spec(docs))["K8S_CRONJOB_NAME"] == cronjob(docs)["metadata"]["name"]


def test_notes_tell_how_to_trigger_a_run():
    proc = helm("install", "rel", str(CHART), "-n", NAMESPACE, "-f", values_file("defaults"), "--dry-run=client")
    notes = proc.stdout.split("NOTES:", 1)[1]
    assert "kubectl create job -n halo --from=cronjob/rel-halo-integrator" in notes
    assert "helm test rel -n halo" in notes
    assert "kubectl logs -n halo" in notes


# --- deploy/: Kustomize base and the local stack ------------------------------------------


@cache
def kustomize() -> tuple:
    proc = subprocess.run([tool("KUBECTL"), "kustomize", str(ROOT / "deploy" / "kustomize")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


def test_kustomize_base_renders_valid_manifests():
    docs = kustomize()
    assert sorted(d["kind"] for d in docs) == ["ConfigMap", "ConfigMap", "CronJob", "Secret", "ServiceAccount"]
    validate_all(docs)


def test_kustomize_cronjob_matches_the_chart():
    docs = kustomize()
    chart = render("defaults")
    k_job, c_job = job_spec(docs), job_spec(chart)
    assert cronjob(docs)["spec"]["concurrencyPolicy"] == "Forbid"
    for key in ("podFailurePolicy", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        assert k_job[key] == c_job[key], key
    k_pod, c_pod = pod_spec(docs), pod_spec(chart)
    for key in ("securityContext", "restartPolicy", "automountServiceAccountToken"):
        assert k_pod[key] == c_pod[key], key
    assert container(k_pod)["securityContext"] == container(c_pod)["securityContext"]
    # secrets as files, from the Secret in the base
    secret = one(docs, "Secret")
    (volume,) = [v for v in k_pod["volumes"] if v["name"] == "secrets"]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    (mount,) = [m for m in container(k_pod)["volumeMounts"] if m["name"] == "secrets"]
    e = env_values(k_pod)
    for key, var in [("halo-client-secret", "HALO_CLIENT_SECRET_FILE"), ("entra-client-secret", "ENTRA_CLIENT_SECRET_FILE")]:
        assert key in secret["stringData"] and e[var] == f"{mount['mountPath']}/{key}"
    # the generated ConfigMaps (hashed names) are what the CronJob reads
    (cm,) = [c for c in objects(docs, "ConfigMap") if c["metadata"]["name"].startswith("halo-integrator-config-")]
    assert container(k_pod)["envFrom"] == [{"configMapRef": {"name": cm["metadata"]["name"]}}]
    (mapping,) = [c for c in objects(docs, "ConfigMap") if c["metadata"]["name"].startswith("halo-integrator-mapping-")]
    assert mounted_file(k_pod, e["INTEGRATOR_CONFIG_FILE"]) == (mapping["metadata"]["name"], "mapping.yaml")
    assert mapping["data"]["mapping.yaml"] == (ROOT / "deploy" / "kustomize" / "mapping.yaml").read_text()
    assert yaml.safe_load(mapping["data"]["mapping.yaml"]) == {"imports": {}, "clients": {}}
    # the mount point is the chart's default
    assert e["INTEGRATOR_CONFIG_FILE"] == env_values(pod_spec(render("all-imports")))["INTEGRATOR_CONFIG_FILE"]
    for var in ("HALO_URL", "HALO_CLIENT_ID", "ENTRA_CLIENT_ID", "INTEGRATOR_IMPORTS", "OTEL_EXPORTER_OTLP_TIMEOUT"):
        assert cm["data"][var], var
    assert k_pod["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]


def test_local_stack_scrapes_the_pushgateway_with_honor_labels():
    config = yaml.safe_load((ROOT / "deploy" / "local" / "prometheus.yml").read_text())
    (push,) = [s for s in config["scrape_configs"] if s["job_name"] == "pushgateway"]
    assert push["honor_labels"] is True
    assert push["static_configs"][0]["targets"] == ["127.0.0.1:9091"]
    for rule_file in config["rule_files"]:
        assert (ROOT / "deploy" / "local" / rule_file).is_file(), rule_file


def test_readme_minimal_values_file_installs(tmp_path):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```yaml\n# halo-values.yaml\n(.*?)```", readme, re.S)
    assert block, "README has no '# halo-values.yaml' block"
    values = tmp_path / "halo-values.yaml"
    values.write_text(block.group(1).replace("<", "").replace(">", ""))
    (tmp_path / "halo-secret.txt").write_text("h\n")
    (tmp_path / "entra-secret.txt").write_text("e\n")
    out = helm("template", "halo-integrator", str(CHART), "-n", "halo", "-f", str(values),
               "--set-file", f"halo.clientSecret={tmp_path / 'halo-secret.txt'}",
               "--set-file", f"entra.clientSecret={tmp_path / 'entra-secret.txt'}").stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    validate_all(docs)
    assert cronjob(docs)["metadata"]["name"] == "halo-integrator"  # as the README's commands say
    assert env_values(pod_spec(docs))["INTEGRATOR_DRY_RUN"] == "true"
    assert one(docs, "ServiceAccount")["metadata"]["name"] == "halo-integrator"


# --- one list of variables: `halo-integrator vars` -------------------------------------

# Variables the binary reads that no chart value sets, on purpose (each also named at the
# top of values.yaml); every other one must be reachable from values.
NOT_FROM_VALUES = {
    "INTEGRATOR_SHARD_INDEX": "the index comes from JOB_COMPLETION_INDEX (shards > 1)",
    "JOB_COMPLETION_INDEX": "set by Kubernetes in each pod of an Indexed Job",
    "AZURE_CLIENT_ID": "injected by the workload identity webhook (workloadIdentity.enabled)",
    "AZURE_FEDERATED_TOKEN_FILE": "injected by the workload identity webhook (workloadIdentity.enabled)",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT": "telemetry.otel.timeoutMs sets OTEL_EXPORTER_OTLP_TIMEOUT, which covers traces",
}

# Value sets beyond ci/ for the variables set only by a non-default boolean or string.
EXTRA_SETS = (
    "telemetry.otel.sdkDisabled=true", "http.allowInsecureHttp=true", "safety.dryRun=true",
    "telemetry.otel.headers=x-api-key=abc",
)


@cache
def binary_vars() -> dict[str, dict]:
    """`halo-integrator vars`: {name: {default, secret, imports, read_by}}."""
    proc = subprocess.run([tool("HALO_INTEGRATOR_BIN"), "vars"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    header, *lines = proc.stdout.splitlines()
    assert header.split("\t") == ["variable", "default", "secret", "imports", "read-by"], header
    table = {}
    for line in lines:
        name, default, secret, imports, read_by = line.split("\t")
        table[name] = {"default": default, "secret": secret == "yes",
                       "imports": [] if imports == "-" else imports.split(","), "read_by": read_by}
    assert len(table) > 40 and "HALO_URL" in table, table
    return table


def chart_set_variables() -> dict[str, set[str]]:
    """{variable: value sets} the chart's CronJob pods set, extraEnv and K8S_* helpers left out."""
    seen: dict[str, set[str]] = {}
    for value_set, sets in [(v, ()) for v in VALUE_SETS] + [("defaults", EXTRA_SETS)]:
        values = yaml.safe_load(Path(values_file(value_set)).read_text()) or {}
        extra = {e["name"] for e in values.get("extraEnv", [])}
        for name in env(pod_spec(render(value_set, sets=sets))):
            if name not in extra and not name.startswith("K8S_"):
                seen.setdefault(name, set()).add(value_set)
    return seen


def test_every_variable_the_binary_reads_is_set_by_a_chart_value():
    seen = chart_set_variables()
    missing = []
    for name, var in binary_vars().items():
        if name in NOT_FROM_VALUES:
            continue
        wanted = f"{name}_FILE" if var["secret"] else name
        if wanted not in seen:
            missing.append(wanted)
    assert not missing, (
        f"variables the binary reads (halo-integrator vars) that no chart value sets: {missing}. "
        "Add a value (values.yaml, values.schema.json, templates/_helpers.tpl, a ci/ value set "
        "that sets it) or, if deliberate, list it in NOT_FROM_VALUES and at the top of values.yaml")


def test_the_chart_sets_only_variables_the_binary_reads():
    table = binary_vars()
    accepted = set(table) | {f"{n}_FILE" for n, v in table.items() if v["secret"]}
    unknown = sorted(set(chart_set_variables()) - accepted)
    assert not unknown, f"the chart sets variables the binary does not read: {unknown}"
    # secrets only ever as mounted files
    plain = sorted(n for n, v in table.items() if v["secret"] and n in chart_set_variables())
    assert not plain, f"secrets passed as plain values: {plain}"


def test_variables_not_from_values_are_documented():
    table = binary_vars()
    assert set(NOT_FROM_VALUES) <= set(table), set(NOT_FROM_VALUES) - set(table)
    header = (CHART / "values.yaml").read_text().split("\n\n", 1)[0]
    undocumented = [n for n in NOT_FROM_VALUES if n not in header]
    assert not undocumented, f"not named at the top of values.yaml: {undocumented}"


def test_each_import_gets_its_variables_only_when_enabled():
    table = binary_vars()
    for value_set in VALUE_SETS:
        e = env(pod_spec(render(value_set)))
        enabled = e["INTEGRATOR_IMPORTS"]["value"].split(",")
        for name in e:
            imports = table.get(name.removesuffix("_FILE"), {}).get("imports")
            if imports:
                assert set(imports) & set(enabled), f"{value_set}: {name} set without {imports}"


README = ROOT / "README.md"


def readme_variable_rows() -> list[tuple[list[str], str, str]]:
    """(variables, default cell, whole row) of every table row of README "Configuration"."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = line.split("|")
        if not line.startswith("| `") or len(cells) < 4:
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[1])
        assert names, f"README row without a variable name: {line}"
        rows.append((names, cells[2].strip(), line))
    assert rows, "README has no variable tables under 'Configuration'"
    return rows


def test_readme_variable_tables_are_the_binary_list():
    table = binary_vars()
    accepted = set(table) | {f"{n}_FILE" for n, v in table.items() if v["secret"]}
    documented = {n for names, _, _ in readme_variable_rows() for n in names}
    missing = [n for n in table if n not in documented]
    assert not missing, f"variables the binary reads that README 'Configuration' does not list: {missing}"
    unknown = sorted(documented - accepted)
    assert not unknown, f"README 'Configuration' lists variables the binary does not read: {unknown}"


def test_readme_defaults_and_secrets_agree_with_the_binary():
    table = binary_vars()
    for names, default, row in readme_variable_rows():
        if len(names) == 1:
            shown = default.replace("`", "").replace("—", "unset")
            assert shown.startswith(table[names[0]]["default"]), (
                f"README default of {names[0]} is '{default}', the binary's is '{table[names[0]]['default']}'")
        for name in names:
            if table[name]["secret"]:
                assert "_FILE" in row, f"README row of the secret {name} does not mention {name}_FILE"
