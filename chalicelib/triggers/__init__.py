"""Trigger domain: webhook signatures, dedupe keys, rate limits, cron slots, backpressure.

Pure code: no database, no HTTP. Routes and the scheduled tick call it.
"""
