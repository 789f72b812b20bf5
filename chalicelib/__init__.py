"""Stepline: the application package shipped by Chalice."""
