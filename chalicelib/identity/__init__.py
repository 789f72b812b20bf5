"""Identity core: passwords, access tokens, opaque tokens, throttling, roles, masking.

Pure code only: no database, no HTTP. Routes and repositories call into these
modules; each module is importable on its own so a handler that only checks
roles does not pay for loading the password hasher.
"""
