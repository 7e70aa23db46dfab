"""Scenarios: the schema, the deployment they run on, the run itself, and its report."""
