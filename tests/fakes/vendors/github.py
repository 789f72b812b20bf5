"""A fake of the GitHub REST API: bearer tokens, versioned media type, ``{"message": …}`` errors."""

from __future__ import annotations

import re
import time

from tests.fakes.vendors.base import FakeResponse, FakeVendorServer, RecordedRequest, json_response

DEFAULT_TOKEN = "ghp_fakeGithubToken0123456789abcdefABCD"
DOCS = "https://docs.github.com/rest"


class FakeGitHub(FakeVendorServer):
    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        super().__init__()
        self.token = token
        self.repos = {
            ("octocat", "hello-world"): {
                "id": 1296269,
                "name": "hello-world",
                "full_name": "octocat/hello-world",
            }
        }
        self.issues: list[dict] = []
        self.rate_limit_exhausted = False
        self.route("GET", r"/user", self._user)
        self.route("GET", r"/repos/([^/]+)/([^/]+)", self._repo)
        self.route("GET", r"/repos/([^/]+)/([^/]+)/issues", self._list_issues)
        self.route("POST", r"/repos/([^/]+)/([^/]+)/issues", self._create_issue)
        self.route("POST", r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", self._comment)

    def answer(self, request: RecordedRequest) -> FakeResponse:
        return self._precheck(request) or super().answer(request)

    def _precheck(self, request: RecordedRequest) -> FakeResponse | None:
        if not request.headers.get("user-agent"):
            return json_response(
                403,
                {
                    "message": "Request forbidden by administrative rules. "
                    "Please make sure your request has a User-Agent header."
                },
            )
        if request.headers.get("x-github-api-version", "2022-11-28") != "2022-11-28":
            return json_response(
                400, {"message": "Unsupported 'X-GitHub-Api-Version'", "documentation_url": DOCS}
            )
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return json_response(
                401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}
            )
        if self.rate_limit_exhausted:
            return json_response(
                403,
                {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
                {
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(int(time.time()) + 60),
                },
            )
        return None

    def not_found(self, request: RecordedRequest, *, method_not_allowed: bool = False) -> FakeResponse:
        return json_response(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})

    def _repo_or_404(self, match: re.Match[str]) -> dict | None:
        return self.repos.get((match.group(1), match.group(2)))

    def _user(self, request: RecordedRequest, _: re.Match[str]) -> FakeResponse:
        return json_response(200, {"login": "octocat", "id": 1, "type": "User", "name": "The Octocat"})

    def _repo(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        repo = self._repo_or_404(match)
        return json_response(200, repo) if repo else self.not_found(request)

    def _list_issues(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        if not self._repo_or_404(match):
            return self.not_found(request)
        state = request.arg("state", "open")
        per_page = int(request.arg("per_page", "30"))
        found = [i for i in self.issues if state == "all" or i["state"] == state]
        return json_response(200, found[:per_page])

    def _create_issue(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        if not self._repo_or_404(match):
            return self.not_found(request)
        body = request.json() or {}
        if not str(body.get("title") or "").strip():
            return json_response(
                422,
                {
                    "message": "Validation Failed",
                    "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}],
                    "documentation_url": DOCS,
                    "status": "422",
                },
            )
        number = len(self.issues) + 1
        issue = {
            "id": 1000 + number,
            "number": number,
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "labels": [{"name": n} for n in body.get("labels", [])],
            "html_url": f"https://github.com/{match.group(1)}/{match.group(2)}/issues/{number}",
        }
        self.issues.append(issue)
        return json_response(
            201, issue, {"Location": f"/repos/{match.group(1)}/{match.group(2)}/issues/{number}"}
        )

    def _comment(self, request: RecordedRequest, match: re.Match[str]) -> FakeResponse:
        if not any(i["number"] == int(match.group(3)) for i in self.issues):
            return self.not_found(request)
        body = request.json() or {}
        return json_response(201, {"id": 5001, "body": body.get("body", ""), "user": {"login": "octocat"}})
