"""Database access: the lazily created database engine (``database_engine``), the unit of work, the
repositories behind it and pagination."""
