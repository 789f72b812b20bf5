"""Envelope encryption of secrets at rest (connections' credentials and the like)."""
