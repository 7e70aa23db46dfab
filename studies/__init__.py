"""The design studies of docs/studies/: each is `altsim sweep` runs plus the analysis its
question needs, written as a Markdown page with its table and its plot.

    python -m studies claim-in        # docs/studies/claim-in-scheduler-or-conductor.md
    python -m studies alternates      # docs/studies/how-many-alternates.md
    python -m studies all [--quick] [--out DIR]

The runs go through the same command a user types (`altsim sweep`), so a study's numbers are
what anyone gets from the sweep line it prints; `--quick` runs a smaller version (for the
tests), `--out` writes the page and its files somewhere else than docs/studies/.
"""
