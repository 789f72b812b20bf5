"""Settings read once per process from the environment, replaceable by tests and benchmarks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any


class Overridable[T]:
    """A lazily built frozen dataclass: ``get()``, ``override(**changes)``, ``reset()``."""

    def __init__(self, name: str, load: Callable[[], T]) -> None:
        self._name = name
        self._load = load
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._load()
        return self._value

    def override(self, **changes: Any) -> T:
        """Replace some fields (already coerced to their types); unknown names are a TypeError."""
        current = self.get()
        unknown = set(changes) - {f.name for f in fields(current)}  # type: ignore[arg-type]
        if unknown:
            raise TypeError(f"unknown {self._name} settings: {sorted(unknown)}")
        with self._lock:
            self._value = replace(current, **changes)  # type: ignore[type-var]
        return self._value

    def reset(self) -> None:
        """Forget overrides; the next ``get()`` reads the environment again."""
        with self._lock:
            self._value = None
