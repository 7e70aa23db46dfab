"""Which instances a picture of a big run draws: past a limit of rows, every instance that
must be seen (ERROR, still in BUILD, rescheduled: altsim_lab.scenario.interesting) and an
even sample of the others, in scenario order, with a sentence saying what was left out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from altsim_lab.scenario.interesting import must_keep


@dataclass(frozen=True)
class Sample:
    shown: list[dict[str, Any]]
    note: str | None  # None: every instance is shown


def sample_rows(instances: list[dict[str, Any]], limit: int) -> Sample:
    if len(instances) <= limit:
        return Sample(list(instances), None)
    keep = [e for e in instances if must_keep(e)]
    others = [e for e in instances if not must_keep(e)]
    if len(keep) >= limit:  # too many even of those: one in every k of them, no others
        step = math.ceil(len(keep) / limit)
        chosen = keep[::step]
        how = (f"one in every {step} of the {len(keep)} rescheduled, ERROR or unfinished "
               f"ones, none of the {len(others)} others")
    else:
        room = limit - len(keep)
        step = math.ceil(len(others) / room)
        chosen = keep + others[::step]
        how = (f"every one of the {len(keep)} rescheduled, ERROR or unfinished, and one in "
               f"every {step} of the {len(others)} others")
    picked = {id(entry) for entry in chosen}
    shown = [entry for entry in instances if id(entry) in picked]
    return Sample(shown, f"showing {len(shown)} of {len(instances)} instances: {how}, in "
                         "scenario order")
