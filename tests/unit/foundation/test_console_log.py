"""The local console log prints the traceback of a fault, not only its type."""

from __future__ import annotations

import logging
import sys

from chalicelib.observability import ConsoleFormatter


def test_an_exception_record_prints_its_traceback():
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        record = logging.LogRecord("stepline", logging.ERROR, __file__, 1, "unhandled error", None, sys.exc_info())
    text = ConsoleFormatter().format(record)
    assert text.splitlines()[0].endswith("unhandled error")
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: boom" in text
