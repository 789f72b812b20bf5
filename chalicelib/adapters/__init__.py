"""Adapters to the outside world (AWS, HTTP, mail), each behind a small port."""
