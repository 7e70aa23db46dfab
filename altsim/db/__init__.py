"""Persistence: the API database and the cell databases, on any SQLAlchemy URL."""
