"""GitHub connector contract against the loopback GitHub fake."""

from __future__ import annotations

import pytest

from chalicelib.connectors.catalog import get_builtin
from chalicelib.connectors.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnauthorized
from tests.fakes.vendors.contract import loopback_invoker
from tests.fakes.vendors.github import DEFAULT_TOKEN, FakeGitHub

GITHUB = get_builtin("github")
REPO = {"owner": "octocat", "repo": "hello-world"}


@pytest.fixture(autouse=True)
def _stack():
    """Overrides the integration conftest's stack: contract tests need only the vendor fake."""


@pytest.fixture(scope="module")
def github():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def invoke(github):
    github.clear()
    github.rate_limit_exhausted = False

    def run(action, input=None, token=DEFAULT_TOKEN, **kwargs):
        with loopback_invoker() as invoker:
            return invoker.invoke(
                GITHUB,
                action,
                input=input or {},
                settings={"base_url": github.base_url},
                credentials={"token": token},
                **kwargs,
            )

    return run


def test_the_test_action_sends_the_documented_headers(github, invoke):
    with loopback_invoker() as invoker:
        result = invoker.test_connection(
            GITHUB, settings={"base_url": github.base_url}, credentials={"token": DEFAULT_TOKEN}
        )
    assert result.output["login"] == "octocat"
    headers = github.last.headers
    assert headers["accept"] == "application/vnd.github+json"
    assert headers["x-github-api-version"] == "2022-11-28"
    assert headers["authorization"] == f"Bearer {DEFAULT_TOKEN}" and headers["user-agent"]


def test_get_repository_encodes_path_parameters(github, invoke):
    assert invoke("get_repository", {"path": REPO}).output["full_name"] == "octocat/hello-world"
    with pytest.raises(UpstreamRejected) as caught:
        invoke("get_repository", {"path": {"owner": "octo cat", "repo": "a/b"}})
    assert github.last.path == "/repos/octo%20cat/a%2Fb"
    assert caught.value.upstream_status == 404 and caught.value.retryable is False


def test_issues_can_be_created_listed_and_commented(github, invoke):
    created = invoke(
        "create_issue",
        {"path": REPO, "body": {"title": "Broken build", "labels": ["ci"]}},
        idempotency_key="r1:n1:1",
    )
    assert created.status == 201 and created.output["number"] == 1
    assert github.last.json() == {"title": "Broken build", "labels": ["ci"]}
    listed = invoke("list_issues", {"path": REPO, "query": {"state": "open", "per_page": 10}})
    assert [i["title"] for i in listed.output] == ["Broken build"]
    assert github.last.query == {"state": ["open"], "per_page": ["10"]}
    comment = invoke("create_issue_comment", {"path": {**REPO, "issue_number": 1}, "body": {"body": "On it"}})
    assert comment.output["body"] == "On it"


def test_validation_failed_surfaces_the_vendor_message_and_code(github, invoke):
    with pytest.raises(UpstreamRejected) as caught:
        invoke("create_issue", {"path": REPO, "body": {"title": "   "}})
    assert caught.value.upstream_status == 422 and caught.value.vendor_code == "missing_field"
    assert "Validation Failed" in caught.value.message and caught.value.retryable is False


def test_bad_credentials_map_to_unauthorized(invoke):
    with pytest.raises(UpstreamUnauthorized) as caught:
        invoke("get_authenticated_user", token="ghp_wrong_token_value_000000000")
    assert caught.value.upstream_status == 401 and "Bad credentials" in caught.value.message


def test_an_exhausted_rate_limit_403_is_rate_limiting(github, invoke):
    github.rate_limit_exhausted = True
    with pytest.raises(UpstreamRateLimited) as caught:
        invoke("get_authenticated_user", timeout=5)
    assert caught.value.retryable is True and 55 <= caught.value.retry_after <= 61
