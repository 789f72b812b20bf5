"""Connector platform core: the declarative app format, the action invoker,
auth adapters, OAuth2 client logic and the built-in catalog.

Nothing here touches the database or HTTP routes; services call in.
"""
