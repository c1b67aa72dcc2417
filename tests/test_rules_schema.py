"""The published JSON Schema of rule files: up to date, valid, and it accepts the rule base."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml

from ecobrain.reasoning.authoring.rulebase import bundled_rules_dir
from ecobrain.reasoning.language.dsl import _Loader
from ecobrain.reasoning.language.fact_types import FACT_TYPES
from ecobrain.reasoning.language.schema import fact_types_markdown, schema_text

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((DOCS / "rules.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def test_published_schema_is_the_generated_one() -> None:
    assert (DOCS / "rules.schema.json").read_text(encoding="utf-8") == schema_text(), \
        "regenerate: python -m ecobrain.reasoning.language.schema > docs/rules.schema.json"


def test_every_bundled_rule_file_validates() -> None:
    v = _validator()
    files = sorted(bundled_rules_dir().glob("*.yaml"))
    assert files
    for f in files:
        data = yaml.load(f.read_text(encoding="utf-8"), Loader=_Loader)
        assert [e.message for e in v.iter_errors(data)] == [], f.name


def test_the_schema_refuses_unknown_fields_and_fact_types() -> None:
    v = _validator()
    data = yaml.load((bundled_rules_dir() / "o3_regime.yaml").read_text(encoding="utf-8"),
                     Loader=_Loader)
    data["rules"][0]["prioritty"] = 1
    data["rules"][1]["when"]["fact"] = "o3_regim"
    data["tests"][0]["expect"] = [{"alarm": {}}]
    messages = " | ".join(e.message for e in v.iter_errors(data))
    assert "'prioritty' was unexpected" in messages
    assert "o3_regim" in messages and "alarm" in messages


def test_the_reference_page_documents_every_fact_type() -> None:
    page = (DOCS / "rules.md").read_text(encoding="utf-8")
    section = page.split("<!-- fact-types:start -->\n")[1].split("<!-- fact-types:end -->")[0]
    assert section == fact_types_markdown(), \
        "regenerate: python -m ecobrain.reasoning.language.schema --fact-types"
    for name, ft in FACT_TYPES.items():
        assert f"`{name}`" in page, name
        for field in ft.fields:
            assert f"`{field}`" in page, f"{name}.{field}"
