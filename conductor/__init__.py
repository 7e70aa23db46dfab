"""The conductors: the super conductor (API level) and the cell conductor (reschedules)."""
