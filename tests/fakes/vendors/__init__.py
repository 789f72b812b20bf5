"""Loopback fakes of the vendors behind the built-in connectors.

Each fake is a small threaded HTTP server on 127.0.0.1 (a free port) that
reproduces its vendor's documented requests, responses and error shapes, and
records every request it gets. Use them as context managers::

    with FakeSlack() as slack:
        slack.base_url  # "http://127.0.0.1:PORT/api"
        slack.requests  # [RecordedRequest, ...]
"""
