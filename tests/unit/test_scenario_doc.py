"""docs/scenarios.md against the scenario schema: every key of every model is on the page with
its type, default and bounds, nothing on the page is a key the schema lacks, the tables are
what the generator makes of the schema today, and the page's example scenario is valid."""

from __future__ import annotations

import re
import typing

import yaml
from pydantic import BaseModel

from altsim_lab.scenario import doc
from altsim_lab.scenario.schema import (
    MAX_HOSTS_PER_RUN,
    MAX_INSTANCES_PER_RUN,
    Scenario,
    parse_scenario,
)
from altsim_lab.scenario.topology import check_config
from compute_sim.hosts_file import MAX_HOSTS_PER_CELL

PAGE = doc.PAGE.read_text()


def documented_keys() -> dict[str, list[str]]:
    """Table name -> the keys of its rows, read from the page as a reader sees it."""
    tables = {}
    for found in re.finditer(r"^<!-- keys: (?P<name>[a-z ]+) -->\n(?P<body>.*?)^<!-- end keys",
                             PAGE, re.MULTILINE | re.DOTALL):
        tables[found["name"]] = re.findall(r"^\| `([a-z_]+)` \|", found["body"], re.MULTILINE)
    return tables


def models_reachable_from(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every model a scenario file can hold, found through the field annotations."""
    found: set[type[BaseModel]] = set()
    pending: list[typing.Any] = [model]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if annotation not in found:
                found.add(annotation)
                pending.extend(f.annotation for f in annotation.model_fields.values())
        else:
            pending.extend(typing.get_args(annotation))
    return found


def test_every_model_a_scenario_holds_has_a_table():
    assert models_reachable_from(Scenario) == set(doc.TABLES.values())


def test_every_field_is_documented_and_nothing_else_is():
    keys = documented_keys()
    assert set(keys) == set(doc.TABLES)
    for name, model in doc.TABLES.items():
        assert keys[name] == list(model.model_fields), name


def test_every_field_has_a_description():
    for name, model in doc.TABLES.items():
        for key, field in model.model_fields.items():
            assert field.description, f"{name}.{key} has no description"


def test_the_tables_are_what_the_schema_generates():
    """Fails when a field, a default, a bound or a description changed in the schema and the
    page was not regenerated (`python -m altsim_lab.scenario.doc`)."""
    assert doc.render(PAGE) == PAGE
    assert doc.main(["--check"]) == 0


def test_a_table_that_drifted_is_found(tmp_path):
    page = tmp_path / "scenarios.md"
    page.write_text(PAGE.replace("| `seed` | integer |", "| `seed` | string |"))
    assert doc.main(["--check", "--page", str(page)]) == 1
    assert doc.main(["--page", str(page)]) == 0
    assert page.read_text() == PAGE


def test_the_pages_example_scenario_is_valid():
    blocks = re.findall(r"```yaml\n(name: .*?)```", PAGE, re.DOTALL)
    assert blocks
    for block in blocks:
        check_config(parse_scenario(yaml.safe_load(block), "docs/scenarios.md"))


def test_the_stated_bounds_are_the_schemas():
    for bound in (MAX_HOSTS_PER_CELL, MAX_HOSTS_PER_RUN, MAX_INSTANCES_PER_RUN):
        assert f"| {bound:,} |" in PAGE
