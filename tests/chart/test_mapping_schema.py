"""The mapping file's JSON Schema (deploy/config.schema.json, generated from the binary's
types by `cargo test --lib mapping::schema`) against the example files: it accepts
deploy/examples/mapping.yaml, the Kustomize base's mapping.yaml, the chart's all-imports
`mapping` value and the example in docs/contracts.md, and rejects
tests/fixtures/mapping-broken.yaml at each of its mistakes. The Rust side holds the same
files against the parser (src/mapping/tests.rs). Run by scripts/checks/chart.sh.

Files are read as YAML 1.2, as the binary reads them: a bare `on` is the text "on", not
YAML 1.1's `true` (Helm values are YAML 1.1: quote "on" there).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "deploy" / "config.schema.json"


class Yaml12Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans (only true/false)."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load(text: str):
    return yaml.load(text, Loader=Yaml12Loader)


def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def leaves(error: jsonschema.ValidationError):
    """The innermost errors under an anyOf/oneOf (the schema's optional keys are anyOf
    [section, null], so the top-level errors alone say little)."""
    if not error.context:
        yield error
    for sub in error.context:
        yield from leaves(sub)


def errors(document) -> list[str]:
    """Every innermost error as 'path: message', the path dotted
    (`imports.entra-users.sites.0.site`)."""
    return [".".join(str(p) for p in leaf.absolute_path) + ": " + leaf.message
            for e in validator().iter_errors(document) for leaf in leaves(e)]


def contracts_example() -> str:
    section = (ROOT / "docs" / "contracts.md").read_text().split("\n## The mapping file\n", 1)[1]
    return section.split("```yaml\n", 1)[1].split("```", 1)[0]


def test_the_schema_accepts_every_example():
    values = yaml.safe_load((ROOT / "helm/halo-integrator/ci/all-imports-values.yaml").read_text())
    documents = {
        "deploy/examples/mapping.yaml": load((ROOT / "deploy/examples/mapping.yaml").read_text()),
        "deploy/kustomize/mapping.yaml": load((ROOT / "deploy/kustomize/mapping.yaml").read_text()),
        "all-imports-values.yaml mapping": values["mapping"],
        "docs/contracts.md": load(contracts_example()),
        "empty": {},
    }
    for name, document in documents.items():
        assert errors(document) == [], name
    example = documents["deploy/examples/mapping.yaml"]
    rule = example["imports"]["intune-devices"]["asset_types"][0]
    assert rule["type"] == "Mobile Phone" and "Android" in rule["when"]["operatingSystem"]["in"]
    assert example["imports"]["entra-users"]["fields"][1]["on"] == "create"


def test_the_schema_rejects_the_broken_example_at_each_mistake():
    broken = load((ROOT / "tests/fixtures/mapping-broken.yaml").read_text())
    found = errors(broken)
    expected = [
        "imports.entra-users.sites.0.site",
        "imports.entra-users: Additional properties are not allowed ('asset_types'",
        "imports.entra-users.fields.0.to",
        "imports.intune-devices.fields.0.to",
        "imports.intune-devices.fields.0.on: 'sometimes' is not one of ['always', 'create']",
        "imports: Additional properties are not allowed ('entra-user'",
        "clients.Contoso Ltd.entra-users.default_site",
    ]
    for prefix in expected:
        assert any(e.startswith(prefix) for e in found), f"{prefix!r} not among {found}"


def test_yaml_1_1_on_is_what_the_schema_rejects():
    # What a Helm values file does to an unquoted `on`: the key becomes true.
    document = yaml.safe_load("imports:\n  entra-users:\n    fields: [{from: a, to: other1, on: create}]\n")
    assert True in document["imports"]["entra-users"]["fields"][0]
    assert errors(json.loads(json.dumps(document)))  # true → "true": not a key of a field mapping
