"""The key tables of docs/scenarios.md, generated from the scenario schema so the page cannot
drift from it.

    python -m altsim_lab.scenario.doc            rewrite the tables of docs/scenarios.md
    python -m altsim_lab.scenario.doc --check    exit 1 if a table differs from the schema

The prose around the tables is written by hand. Each table sits between a line
`<!-- keys: NAME -->` and a line `<!-- end keys -->`, NAME one of TABLES, and has a row per
field of that model: its key, type, default, bounds, description and an example, each read
from the pydantic model (the descriptions and examples are the fields' own).
"""

from __future__ import annotations

import argparse
import re
import sys
import types
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from altsim_lab.scenario.schema import (
    AggregateSpec,
    Expectations,
    FlavorSpec,
    InstanceExpectation,
    RequestEntry,
    Scenario,
)
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import (
    AggregateName,
    Amount,
    CellSpec,
    HostSpec,
    Ratio,
    Reserved,
    ResourceClass,
    Trait,
)

PAGE = Path(__file__).resolve().parents[2] / "docs" / "scenarios.md"
TABLES: dict[str, type[BaseModel]] = {
    "scenario": Scenario, "cell": CellSpec, "host": HostSpec, "flavor": FlavorSpec,
    "aggregate": AggregateSpec, "fault rule": FaultRule,
    "request": RequestEntry, "expect": Expectations, "instance expectation": InstanceExpectation,
}
_TABLE_OF = {model: name for name, model in TABLES.items()}
# The shared value types of hosts and flavors, by the name the page gives them.
_NAMED_TYPES = {id(ResourceClass): "resource class", id(Amount): "integer 1 to 2147483647",
                id(Reserved): "integer 0 to 2147483647", id(Ratio): "number 0 to 3.4e38",
                id(Trait): "trait (standard or `CUSTOM_*`)",
                id(AggregateName): "aggregate name (matches `^[A-Za-z0-9_.-]+$`)"}
_SIMPLE = {str: "string", int: "integer", float: "number", bool: "boolean", Any: "any value"}
_TABLE = re.compile(r"^<!-- keys: (?P<name>[a-z ]+) -->\n.*?^<!-- end keys -->$",
                    re.MULTILINE | re.DOTALL)
HEADER = ("| key | type | default | bounds | description | example |\n"
          "|---|---|---|---|---|---|")


def table(model: type[BaseModel]) -> str:
    """The markdown table of a model's keys, a row per field in declaration order."""
    rows = [HEADER]
    for key, field in model.model_fields.items():
        cells = (f"`{key}`", type_text(field.annotation), _default(field), _bounds(field),
                 field.description or "", _code(field.examples[0]) if field.examples else "")
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def type_text(annotation: Any) -> str:
    """A type as the page says it: `list of cell`, `mapping of resource class to integer`."""
    if id(annotation) in _NAMED_TYPES:
        return _NAMED_TYPES[id(annotation)]
    if annotation in _TABLE_OF:
        return f"*{_TABLE_OF[annotation]}*"
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        limits = _limits(args[1:])
        return type_text(args[0]) + (f" ({', '.join(limits)})" if limits else "")
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_text(arg) for arg in args if arg is not type(None))
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{arg}`" for arg in args)
    if origin is list:
        return f"list of {type_text(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_text(arg) for arg in args) + "]"
    if origin is dict:
        return f"mapping of {type_text(args[0])} to {type_text(args[1])}"
    raise TypeError(f"no wording for the type {annotation!r}: add one to {__name__}")


def _limits(metadata: Sequence[Any]) -> list[str]:
    """Constraints of a field or an Annotated type, as `>= 1`, `not empty`, `matches ...`."""
    found: list[str] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            found.extend(_limits(item.metadata))
        elif isinstance(item, annotated_types.Ge):
            found.append(f">= {item.ge}")
        elif isinstance(item, annotated_types.Le):
            found.append(f"<= {item.le}")
        elif isinstance(item, annotated_types.MinLen):
            found.append("not empty" if item.min_length == 1 else
                         f"at least {item.min_length} long")
        elif isinstance(item, annotated_types.MaxLen):
            found.append(f"at most {item.max_length} long")
        elif getattr(item, "pattern", None):
            found.append(f"matches `{item.pattern}`")
    return found


def _bounds(field: FieldInfo) -> str:
    extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
    stated = [str(extra["bounds"])] if "bounds" in extra else []
    return "; ".join(_limits(field.metadata) + stated)


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
    if isinstance(value, BaseModel):
        value = value.model_dump(exclude_defaults=True)
    if value is None or value is PydanticUndefined:
        return "none"
    return _code(value)


def _code(value: Any) -> str:
    """A value as YAML would be written in a scenario, inline: `{VCPU: 8}`, `[10, 50]`."""
    text = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000)
    return f"`{text.removesuffix(chr(10)).removesuffix('...').strip()}`"


def render(page: str) -> str:
    """The page with each table regenerated from the schema; ValueError for an unknown name
    or a table of TABLES the page lacks."""
    seen: list[str] = []

    def replace(found: re.Match[str]) -> str:
        name = found["name"]
        if name not in TABLES:
            raise ValueError(f"{PAGE.name}: no table named {name!r} (known: "
                             f"{', '.join(TABLES)})")
        seen.append(name)
        return f"<!-- keys: {name} -->\n{table(TABLES[name])}\n<!-- end keys -->"

    rendered = _TABLE.sub(replace, page)
    missing = [name for name in TABLES if name not in seen]
    if missing:
        raise ValueError(f"{PAGE.name}: no table for {', '.join(missing)}")
    return rendered


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m altsim_lab.scenario.doc",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the page's tables differ from the schema; change "
                             "nothing")
    parser.add_argument("--page", type=Path, default=PAGE, help=f"default {PAGE}")
    args = parser.parse_args(argv)
    current = args.page.read_text()
    rendered = render(current)
    if args.check:
        if rendered != current:
            print(f"{args.page}: its key tables differ from the schema; run python -m "
                  f"altsim_lab.scenario.doc", file=sys.stderr)
            return 1
        return 0
    if rendered != current:
        args.page.write_text(rendered)
    return 0


if __name__ == "__main__":
    sys.exit(main())
