"""Step types: one module per type (filled in by the engine)."""
