"""Test support package."""
