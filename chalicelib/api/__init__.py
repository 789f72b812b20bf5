"""HTTP routes, one blueprint per area. Each view parses, calls a service, returns."""
