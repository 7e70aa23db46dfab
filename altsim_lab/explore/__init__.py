"""`altsim explore`: run a scenario under many schedule seeds, check invariants on each."""
