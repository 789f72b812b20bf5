"""Database access: the lazily created engine, the unit of work and table definitions."""
