"""`python -m crosscheck.nova_side PLAN.json OUT.json`: run a plan through Nova, write the report.

Run by crosscheck.nova_run with the cross-check virtualenv's interpreter. Nova's tests are
imported first, because importing them applies eventlet's monkey patching (as Nova's own test
runner does), which must happen before anything else is imported.
"""

import nova.tests.functional  # noqa: F401,I001 - eventlet monkey patching first, as Nova does

import json
import sys

from crosscheck.nova_side.harness import run_plan


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m crosscheck.nova_side PLAN.json OUT.json", file=sys.stderr)
        return 2
    with open(argv[0]) as plan_file:
        plan = json.load(plan_file)
    report = run_plan(plan)
    with open(argv[1], "w") as out:
        json.dump(report, out, indent=2)
    return 1 if report["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
