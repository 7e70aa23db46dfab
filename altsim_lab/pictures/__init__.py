"""Pictures and pages of one run: timeline.png, a build-path sequence diagram per interesting
instance and index.html, written by `altsim run --report-dir` (`altsim show-run --out` draws a
diagram of any instance). The page templates (templates/, inline CSS, no network) serve the
sweep's index.html too."""
