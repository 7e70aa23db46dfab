"""The scheduler: filters and weighs hosts, claims the chosen one, returns it and alternates."""
