"""`altsim sweep`: one scenario run over the cross product of config values, repeated with
successive seeds, summarised as a CSV, a terminal table and plots (see altsim_lab.cmd.sweep)."""
