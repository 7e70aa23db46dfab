"""etc/altsim/altsim.conf.sample is current: each of altsim's own option groups, as the
generator writes it today, stands in the sample word for word (regenerate with
`tox -e genconfig`). The oslo.messaging and oslo.log parts follow whatever versions are
installed, so only altsim's namespaces are compared."""

from __future__ import annotations

import re
from pathlib import Path

from oslo_config import generator

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "etc" / "altsim" / "altsim.conf.sample"
NAMESPACES = ["altsim", "altsim.scheduler", "altsim.conductor", "altsim.compute_sim",
              "altsim.placement"]


def _blocks(text: str) -> list[str]:
    """The sample cut at each `# From <namespace>` banner and group header."""
    return [block.strip() for block in re.split(r"\n(?=\[|#\n# From )", text) if block.strip()]


def test_the_sample_holds_every_altsim_option_as_generated_now(tmp_path: Path) -> None:
    out = tmp_path / "altsim.conf.sample"
    conf = generator.cfg.ConfigOpts()
    generator.register_cli_opts(conf)
    conf(["--wrap-width", "79", "--output-file", str(out),
          *(arg for ns in NAMESPACES for arg in ("--namespace", ns))])
    generator.generate(conf)
    sample = SAMPLE.read_text()
    stale = [block.splitlines()[0:3] for block in _blocks(out.read_text())
             if block not in sample]
    assert not stale, (f"{SAMPLE} is stale (run tox -e genconfig); first lines of what "
                       f"differs: {stale}")
