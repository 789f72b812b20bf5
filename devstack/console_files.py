"""The web console's generated files, served by the local runtime at ``/``.

On AWS, CloudFront serves the same files from a bucket and forwards the API
paths to API Gateway; locally the gateway asks :func:`is_api_path` first and
hands everything else here. A GET for a path that is not a file answers
``index.html`` (the console's router takes it from there), except for paths
that look like assets (a missing ``/_nuxt/x.js`` is a 404, not a page).
"""

from __future__ import annotations

import gzip
import mimetypes
import os
import posixpath
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "console" / ".output" / "public"

# Paths the API owns; the console's routes keep clear of them.
API_PREFIXES = ("/api", "/auth", "/webhooks", "/oauth", "/operator", "/health", "/openapi.json")

_COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Mail links carry single-use tokens in the query: never send them on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def is_api_path(raw_path: str) -> bool:
    path = urlsplit(raw_path).path
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


@dataclass(frozen=True)
class StaticResponse:
    status: int
    headers: dict[str, str]
    body: bytes


class ConsoleFiles:
    """Serves one directory of generated files with an SPA fallback; gzip when the client accepts it."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory or os.environ.get("CONSOLE_DIR") or DEFAULT_DIR).resolve()
        self._gzip: dict[tuple[Path, float], bytes] = {}
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        return (self.directory / "index.html").is_file()

    def _file(self, url_path: str) -> Path | None:
        clean = posixpath.normpath(unquote(url_path))
        candidate = (self.directory / clean.lstrip("/")).resolve()
        if candidate != self.directory and self.directory not in candidate.parents:
            return None  # ../ escape
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def respond(self, raw_path: str, accept_encoding: str = "") -> StaticResponse:
        if not self.built:
            return StaticResponse(503, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"},
                                  b"The console is not built: run `make console` (make up does it).\n")
        url_path = urlsplit(raw_path).path or "/"
        found = self._file(url_path)
        if found is None:
            if posixpath.splitext(url_path)[1] or url_path.startswith("/_nuxt/"):
                return StaticResponse(404, {"Content-Type": "text/plain; charset=utf-8"}, b"Not found.\n")
            found = self.directory / "index.html"
        content_type = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type == "application/javascript":
            content_type += "; charset=utf-8"
        headers = {"Content-Type": content_type, **_SECURITY_HEADERS}
        # Hashed build assets never change; the HTML shell must always be re-checked.
        immutable = url_path.startswith("/_nuxt/") and "/builds/" not in url_path
        headers["Cache-Control"] = "public, max-age=31536000, immutable" if immutable else "no-cache"
        body = found.read_bytes()
        if "gzip" in accept_encoding.lower() and content_type.startswith(_COMPRESSIBLE) and len(body) > 1024:
            body = self._gzipped(found, body)
            headers["Content-Encoding"] = "gzip"
            headers["Vary"] = "Accept-Encoding"
        return StaticResponse(200, headers, body)

    def _gzipped(self, path: Path, body: bytes) -> bytes:
        key = (path, path.stat().st_mtime)
        with self._lock:
            cached = self._gzip.get(key)
        if cached is None:
            cached = gzip.compress(body, compresslevel=6, mtime=0)
            with self._lock:
                self._gzip[key] = cached
        return cached
