"""How the harness names Nova's instances with the scenario's instance names.

Each request is sent with its instances' scenario names joined by commas as its server name,
and an instance's scenario name is the one at its launch index. Nova's API appends
`-<launch index + 1>` to the display name of each instance of a multi-create, which is taken
off again. The driver, which sees only Nova's Instance object, and the report use this rule.
"""

from __future__ import annotations

SEPARATOR = ","


def request_server_name(names: list[str]) -> str:
    return SEPARATOR.join(names)


def instance_name(display_name: str, launch_index: int | None) -> str:
    names = display_name.split(SEPARATOR)
    if len(names) == 1:
        return display_name
    index = launch_index or 0
    suffix = f"-{index + 1}"
    if names[-1].endswith(suffix):
        names[-1] = names[-1][:-len(suffix)]
    return names[index] if index < len(names) else display_name
