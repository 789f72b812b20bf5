"""A fake generic HTTP API (httpbin-like) for the generic HTTP connector and the invoker's transport tests."""

from __future__ import annotations

import re

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response


class FakeHttpBin(FakeVendorServer):
    def __init__(self) -> None:
        super().__init__()
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            self.route(method, r"/anything(/.*)?", self._echo)
        self.route("GET", r"/status/(\d{3})", self._status)
        self.route("GET", r"/bytes/(\d+)", self._bytes)
        self.route("GET", r"/stream-bytes/(\d+)", self._stream)
        self.route("GET", r"/delay/([0-9.]+)", self._delay)
        self.route("GET", r"/drip", self._drip)
        self.route("GET", r"/", self._root)

    def _root(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(200, {"ok": True})

    def _echo(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        try:
            body = request.json()
        except ValueError:
            body = None
        return json_response(
            200,
            {
                "method": request.method,
                "path": request.path,
                "query": request.query,
                "headers": request.headers,
                "json": body,
            },
        )

    def _status(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        headers = {"Retry-After": request.arg("retry_after")} if request.arg("retry_after") else {}
        return json_response(int(match.group(1)), {"status": int(match.group(1))}, headers)

    def _bytes(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        return FakeResponse(
            body=b"x" * int(match.group(1)), headers={"Content-Type": "application/octet-stream"}
        )

    def _stream(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        """A chunked body with no Content-Length: the client only learns the size by reading."""
        total = int(match.group(1))
        chunk = 64 * 1024
        return FakeResponse(
            headers={"Content-Type": "application/octet-stream"},
            chunks=(b"y" * min(chunk, total - offset) for offset in range(0, total, chunk)),
        )

    def _delay(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        seconds = float(match.group(1))
        return FakeResponse(status=200, json_body={"delayed": seconds}, delay=seconds)

    def _drip(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        chunks = int(request.arg("chunks", "10"))
        interval = float(request.arg("interval", "0.1"))
        return FakeResponse(chunks=(b"z" for _ in range(chunks)), chunk_delay=interval)
