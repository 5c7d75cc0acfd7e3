"""The published JSON Schemas: generated from the models, committed, and in step with the code."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from dispatch import io, schema
from dispatch.model import Priority
from dispatch.plan import Reason, StopKind

SCHEMA_DIR = Path(__file__).parent.parent / "docs" / "schema"


@pytest.mark.parametrize("name", ["problem.schema.json", "plan.schema.json"])
def test_committed_schema_matches_the_code(name: str) -> None:
    """docs/schema/*.json equal freshly generated schemas (run write_schemas after a change)."""
    committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
    assert committed == io.schema_documents()[name], (
        f"docs/schema/{name} is stale: regenerate with `dispatch schema -o docs/schema`"
    )


def test_write_schemas_writes_both_files(tmp_path: Path) -> None:
    """write_schemas returns the paths it wrote, each a JSON Schema document."""
    paths = io.write_schemas(tmp_path / "schema")
    assert sorted(p.name for p in paths) == ["plan.schema.json", "problem.schema.json"]
    for path in paths:
        document = json.loads(path.read_text(encoding="utf-8"))
        assert document["$schema"].endswith("2020-12/schema")
        assert document["type"] == "object"


@pytest.mark.parametrize("model", [schema.ProblemDoc, schema.PlanDoc])
def test_schema_pins_the_format_version(model: type[Any]) -> None:
    """Both documents require format_version, and only the current one."""
    document = model.model_json_schema()
    assert "format_version" in document["required"]
    assert document["properties"]["format_version"]["const"] == io.FORMAT_VERSION == 1


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object schema (with properties) nested anywhere in ``node``."""
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found.extend(_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_objects(value))
    return found


@pytest.mark.parametrize("model", [schema.ProblemDoc, schema.PlanDoc])
def test_every_object_forbids_unknown_fields(model: type[Any]) -> None:
    """A typo in a field name is an error, never silently ignored."""
    objects = _objects(model.model_json_schema())
    assert len(objects) > 3
    assert all(obj.get("additionalProperties") is False for obj in objects)


@pytest.mark.parametrize(
    ("literal", "enum"),
    [
        (schema.PriorityText, Priority),
        (schema.ReasonText, Reason),
        (schema.StopDoc.model_fields["kind"].annotation, StopKind),
    ],
)
def test_document_literals_follow_the_domain_enums(literal: Any, enum: Any) -> None:
    """The allowed words in files are exactly the domain's enum values."""
    assert set(typing.get_args(literal)) == {member.value for member in enum}


def test_problem_schema_states_ranges() -> None:
    """Coordinates and durations carry their limits in the schema, for client-side checks."""
    defs = schema.ProblemDoc.model_json_schema()["$defs"]
    lat = defs["LocationDoc"]["properties"]["lat"]
    assert (lat["minimum"], lat["maximum"]) == (-90, 90)
    windows = defs["VisitDoc"]["properties"]["windows"]
    assert windows["minItems"] == 1
