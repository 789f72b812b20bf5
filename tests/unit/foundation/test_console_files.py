"""The console's files beside the API: API paths first, SPA fallback, no escape from the directory."""

from __future__ import annotations

import gzip

import pytest

from devstack.console_files import ConsoleFiles, is_api_path


@pytest.fixture
def site(tmp_path):
    (tmp_path / "_nuxt").mkdir()
    (tmp_path / "index.html").write_text("<html>shell</html>")
    (tmp_path / "_nuxt" / "app.abc123.js").write_text("console.log('x');" * 200)
    (tmp_path.parent / "secret.txt").write_text("outside")
    return ConsoleFiles(tmp_path)


@pytest.mark.parametrize("path", ["/api", "/api/me", "/auth/login", "/webhooks/ws/x", "/oauth/callback?code=1",
                                  "/operator/mail", "/health", "/openapi.json"])
def test_api_paths_belong_to_the_api(path):
    assert is_api_path(path)


@pytest.mark.parametrize("path", ["/", "/sign-in", "/reset-password?token=x", "/apis", "/authors", "/healthy"])
def test_console_paths_do_not(path):
    assert not is_api_path(path)


def test_routes_fall_back_to_the_shell_and_assets_are_immutable(site):
    page = site.respond("/accept-invite?token=abc")
    assert page.status == 200 and page.body == b"<html>shell</html>"
    assert page.headers["Cache-Control"] == "no-cache" and page.headers["Referrer-Policy"] == "no-referrer"
    asset = site.respond("/_nuxt/app.abc123.js", "gzip, br")
    assert asset.status == 200 and asset.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(asset.body).startswith(b"console.log")
    assert "immutable" in asset.headers["Cache-Control"]
    assert site.respond("/_nuxt/missing.js").status == 404


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/_nuxt/../../secret.txt"])
def test_no_path_leaves_the_directory(site, path):
    reply = site.respond(path)
    assert b"outside" not in reply.body


def test_an_unbuilt_console_says_how_to_build_it(tmp_path):
    reply = ConsoleFiles(tmp_path / "nothing").respond("/")
    assert reply.status == 503 and b"make console" in reply.body
