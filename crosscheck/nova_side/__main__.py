"""`python -m crosscheck.nova_side RUNDIR [RUNDIR ...]`: run plans through Nova, one at a time.

Each RUNDIR holds a plan.json (crosscheck.plan); its report goes to RUNDIR/nova.json and Nova's
log of the test to RUNDIR/nova-test.log. All plans run in this one process, one Nova functional
test after another, as Nova's own test runner runs many: the imports and Nova's database
schema (cached after the first test) are paid once. Run by crosscheck.nova_run with the
cross-check virtualenv's interpreter. Nova's functional tests are imported first, because
importing them applies eventlet's monkey patching, which must come before anything else.
"""

import nova.tests.functional  # noqa: F401,I001 - eventlet monkey patching first, as Nova does

import json
import os
import sys
from pathlib import Path

from nova import monkey_patch

from crosscheck.nova_side.harness import run_plan


def main(rundirs: list[str]) -> int:
    if not rundirs:
        print("usage: python -m crosscheck.nova_side RUNDIR [RUNDIR ...]", file=sys.stderr)
        return 2
    if not monkey_patch.is_patched():
        # Nova's functional tests run in eventlet mode; native threading is another harness.
        print("crosscheck: Nova did not apply eventlet's monkey patching (is "
              "OS_NOVA_DISABLE_EVENTLET_PATCHING set?)", file=sys.stderr)
        return 1
    for rundir in map(Path, rundirs):
        plan = json.loads((rundir / "plan.json").read_text())
        os.chdir(rundir)   # the harness writes its log in the working directory
        report = run_plan(plan)
        (rundir / "nova.json").write_text(json.dumps(report, indent=2))
        print(f"crosscheck: {plan['scenario']}: {len(report['errors'])} errors", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
