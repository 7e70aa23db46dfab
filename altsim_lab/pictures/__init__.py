"""Pictures and pages of one run: timeline.png and index.html, written by `altsim run
--report-dir`. The page templates (templates/, inline CSS, no network) serve the sweep's
index.html too."""
