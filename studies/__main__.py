"""python -m studies NAME [--quick] [--out DIR]: run a study and write its page (see
studies/__init__.py). Exits 0 when the study ran and its checks held, 1 when a check failed (the
page says which), 2 on a failed sweep."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

from studies import alternates, claim_in
from studies.page import DOCS
from studies.sweeps import StudyError

STUDIES: dict[str, Callable[..., bool]] = {"claim-in": claim_in.main,
                                           "alternates": alternates.main}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studies", description=__doc__)
    parser.add_argument("study", choices=[*STUDIES, "all"], help="which study to run")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller sweep, to check the machinery (minutes become seconds)")
    parser.add_argument("--out", type=Path, default=DOCS,
                        help=f"folder for the pages and their files (default {DOCS})")
    args = parser.parse_args(argv)
    names = list(STUDIES) if args.study == "all" else [args.study]
    code = 0
    for name in names:
        started = time.monotonic()
        try:
            ok = STUDIES[name](args.out, args.quick, started=started)
        except StudyError as exc:
            print(f"study {name}: {exc}", file=sys.stderr)
            return 2
        minutes = (time.monotonic() - started) / 60
        print(f"study {name}: {'checks hold' if ok else 'a check FAILED'}; "
              f"{minutes:.1f} min", file=sys.stderr)
        code = code or (0 if ok else 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
