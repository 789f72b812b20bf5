"""Benchmarks: drive the local stack and print one figure per line as ``name: value unit``."""
