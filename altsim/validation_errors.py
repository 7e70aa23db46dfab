"""pydantic's validation errors as one line that names each key path and its problem.

Shared by every reader of a user's YAML (the lab's scenario schema, the compute daemon's hosts
file), so a bad value reads the same wherever it is found: `cells.0.hosts.1.resources.VCPU:
Input should be greater than or equal to 1 (got 0)`; and the base of their models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """A section of a user's YAML: an unknown key is an error (a misspelt key must not be
    ignored silently), and what was read is not changed afterwards."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(errors: list[dict[str, Any]]) -> str:
    lines = []
    for error in errors:
        # A whole-document check names its own key path in its message.
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        shown = f" (got {value!r})" if error["type"] == "extra_forbidden" or not isinstance(
            value, (dict, list)) else ""
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{location}: {message}{shown}" if location else f"{message}{shown}")
    return "; ".join(lines)
