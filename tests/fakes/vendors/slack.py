"""A fake of the Slack Web API: bearer tokens, JSON bodies, errors as ``ok: false`` at HTTP 200."""

from __future__ import annotations

import re

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_TOKEN = "xoxb-1111-2222-fake-slack-token"


class FakeSlack(FakeVendorServer):
    base_path = "/api"

    def __init__(self, token: str = DEFAULT_TOKEN, channels: dict[str, str] | None = None) -> None:
        super().__init__()
        self.token = token
        self.channels = channels or {"C0123456789": "general", "C0987654321": "random"}
        self.messages: list[dict] = []
        self.route("POST", r"/auth\.test", self._auth_test)
        self.route("POST", r"/chat\.postMessage", self._post_message)
        self.route("POST", r"/chat\.update", self._update)
        self.route("GET", r"/conversations\.list", self._list)
        self.route("POST", r"/reactions\.add", self._reaction)

    def rate_limited(self, retry_after: int = 1) -> FakeResponse:
        """Slack's rate-limit answer (HTTP 429 with Retry-After)."""
        return json_response(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})

    def _authorized(self, request: RecordedRequest) -> FakeResponse | None:
        header = request.headers.get("authorization", "")
        if not header:
            return json_response(200, {"ok": False, "error": "not_authed"})
        if header != f"Bearer {self.token}":
            return json_response(200, {"ok": False, "error": "invalid_auth"})
        return None

    def _json_body(self, request: RecordedRequest) -> dict | None:
        if not request.headers.get("content-type", "").startswith("application/json"):
            return None
        return request.json() or {}

    def _auth_test(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return self._authorized(request) or json_response(
            200,
            {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "stepline-bot",
                "team_id": "T0123ABC",
                "user_id": "U0123ABC",
                "bot_id": "B0123ABC",
            },
        )

    def _post_message(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        denied = self._authorized(request)
        if denied:
            return denied
        body = self._json_body(request)
        if body is None:
            return json_response(200, {"ok": False, "error": "invalid_form_data"})
        if body.get("channel") not in self.channels:
            return json_response(200, {"ok": False, "error": "channel_not_found"})
        if not body.get("text") and not body.get("blocks"):
            return json_response(200, {"ok": False, "error": "no_text"})
        ts = f"1700000000.{len(self.messages) + 1:06d}"
        message = {"type": "message", "text": body.get("text", ""), "user": "U0123ABC", "ts": ts}
        self.messages.append({"channel": body["channel"], **message})
        return json_response(200, {"ok": True, "channel": body["channel"], "ts": ts, "message": message})

    def _update(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        denied = self._authorized(request)
        if denied:
            return denied
        body = self._json_body(request) or {}
        found = next((m for m in self.messages if m["ts"] == body.get("ts")), None)
        if found is None:
            return json_response(200, {"ok": False, "error": "message_not_found"})
        found["text"] = body.get("text", found["text"])
        return json_response(
            200, {"ok": True, "channel": found["channel"], "ts": found["ts"], "text": found["text"]}
        )

    def _list(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        denied = self._authorized(request)
        if denied:
            return denied
        limit = int(request.arg("limit", "100"))
        channels = [{"id": cid, "name": name, "is_channel": True} for cid, name in self.channels.items()][
            :limit
        ]
        return json_response(
            200, {"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}}
        )

    def _reaction(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        denied = self._authorized(request)
        if denied:
            return denied
        body = self._json_body(request) or {}
        if not any(m["ts"] == body.get("timestamp") for m in self.messages):
            return json_response(200, {"ok": False, "error": "message_not_found"})
        return json_response(200, {"ok": True})

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return json_response(404 if not method_not_allowed else 405, {"ok": False, "error": "unknown_method"})
