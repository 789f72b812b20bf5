"""Use cases: what the routes and event handlers call. No HTTP or Lambda types here."""
