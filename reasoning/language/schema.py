"""The JSON Schema of rule files, for editors (autocomplete, inline errors) and CI.

Generated from the pydantic model of a rule file (:mod:`.dsl`) and the fact-type table
(:mod:`.fact_types`), so it cannot drift from what ``ecobrain rules check`` accepts. Published
as ``docs/rules.schema.json``; point an editor at it, e.g. in VS Code with the YAML extension::

    # yaml-language-server: $schema=../docs/rules.schema.json

The schema checks the *shape* of a file; the meaning (fields of each fact type in
conditions, concepts, cited articles, versions) is checked by ``ecobrain rules check``.

    .venv/bin/python -m ecobrain.reasoning.language.schema > docs/rules.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from ecobrain.reasoning.language.dsl import RuleFile
from ecobrain.reasoning.language.fact_types import CONCLUSION_KINDS, FACT_TYPES

SCHEMA_ID = "https://ecobrain.example.org/schemas/rules.schema.json"


def rule_file_schema() -> dict[str, Any]:
    schema = RuleFile.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = "ecobrain rule file"
    schema["description"] = (
        "A family of rules with their dated parameters and test cases (docs/rules.md). "
        "Conditions use the ecobrain expression language; `ecobrain rules check` validates "
        "their fields, concepts and cited articles against the graph.")
    defs = schema.get("$defs", {})
    types = sorted(FACT_TYPES)
    block = defs.get("Block", {}).get("properties", {})
    if "fact" in block:
        block["fact"]["enum"] = types
        block["fact"]["description"] = "fact type: " + "; ".join(
            f"{t} — {FACT_TYPES[t].description}" for t in types)
    rule = defs.get("Rule", {}).get("properties", {})
    if "when" in rule:  # one block may be written without the list
        when = rule["when"]
        rule["when"] = {"anyOf": [{"$ref": "#/$defs/Block"}, {k: v for k, v in when.items()
                                                              if k != "description"}],
                        "description": "condition blocks (a single block needs no list)"}
    test = defs.get("TestCase", {}).get("properties", {})
    if "given" in test:
        test["given"]["items"] = {
            "type": "object", "required": ["type"],
            "properties": {"type": {"enum": types}, "id": {"type": "string"}},
            "additionalProperties": True,
        }
    for key in ("expect", "forbid"):
        if key in test:
            test[key]["items"] = {
                "type": "object", "minProperties": 1, "maxProperties": 1,
                "propertyNames": {"enum": list(CONCLUSION_KINDS)},
                "additionalProperties": {"type": "object"},
            }
    return schema


def schema_text() -> str:
    return json.dumps(rule_file_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def fact_types_markdown() -> str:
    """The fact-type reference of docs/rules.md (between its fact-types markers)."""
    out: list[str] = []
    for name, ft in FACT_TYPES.items():
        kind = f"conclusion (stratum {ft.stratum})" if ft.conclusion else "input"
        out += [f"### `{name}` — {kind}", "", ft.description, "",
                "| field | type | meaning |", "|---|---|---|"]
        for f, s in ft.fields.items():
            t = s.type
            if s.kinds:
                t += " (" + "/".join(s.kinds) + ")"
            if s.extra_values:
                t += " or " + ", ".join(f'"{v}"' for v in s.extra_values)
            out.append(f"| `{f}` | {t} | {s.description} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    import sys

    print(fact_types_markdown() if "--fact-types" in sys.argv else schema_text(), end="")
