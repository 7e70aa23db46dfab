"""Reading a user's YAML file, with every way it can fail said in one line naming the file.

Shared by the readers of scenario-shaped files (the lab's scenarios, the compute daemon's hosts
file): `web.yaml: not valid YAML: line 3, column 9: mapping values are not allowed here`,
`photo.png: not a text file (not UTF-8)`, `huge.yaml: larger than 16 MiB: not a scenario`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

# Far above any real scenario (100,000 listed hosts take about 8 MiB), and small enough that
# reading and parsing one takes seconds; also stops a read of /dev/zero or an endless pipe.
MAX_FILE_BYTES = 16 * 1024 * 1024
# libyaml's parser when PyYAML was built with it: ten times faster on a big file.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlFileError(ValueError):
    """A file that cannot be read as YAML: the message is one line that names the file."""


def load_yaml_file(path: Path) -> Any:
    """The file's YAML document (None for an empty file); YamlFileError otherwise."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise YamlFileError(f"{path}: cannot read: {exc.strerror}") from None
    if len(data) > MAX_FILE_BYTES:
        raise YamlFileError(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MiB: not a "
                            "scenario")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise YamlFileError(f"{path}: not a text file (not UTF-8)") from None
    if "\0" in text:
        raise YamlFileError(f"{path}: not a text file (it holds NUL bytes)")
    try:
        return yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        raise YamlFileError(f"{path}: not valid YAML: {_where(exc)}") from None
    except yaml.YAMLError as exc:
        raise YamlFileError(f"{path}: not valid YAML: {_one_line(str(exc))}") from None


def _where(exc: yaml.MarkedYAMLError) -> str:
    """`line L, column C: problem (context at line L', column C')`, 1-based as editors count."""
    mark = exc.problem_mark or exc.context_mark
    at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    text = f"{at}{_one_line(exc.problem or exc.context or 'cannot parse')}"
    if exc.problem and exc.context:
        context = _one_line(exc.context)
        if exc.context_mark is not None and exc.context_mark is not mark:
            context += (f" at line {exc.context_mark.line + 1}, "
                        f"column {exc.context_mark.column + 1}")
        text += f" ({context})"
    return text


def _one_line(text: str) -> str:
    return " ".join(text.split())
