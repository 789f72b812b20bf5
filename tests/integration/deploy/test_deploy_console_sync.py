"""`make deploy`'s parts that run without an account: artifact rewriting, parameters, console sync (S3 emulated)."""

from __future__ import annotations

import uuid

import boto3
import pytest

from devstack import deploy


@pytest.fixture
def s3(local_stack):
    client = boto3.session.Session().client(
        "s3", region_name=local_stack.env["AWS_DEFAULT_REGION"], endpoint_url=local_stack.env["AWS_ENDPOINT_URL"])
    bucket = f"stepline-test-console-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    for item in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=item["Key"])
    client.delete_bucket(Bucket=bucket)


def test_sync_uploads_with_types_and_caching_and_removes_what_is_gone(s3, tmp_path):
    client, bucket = s3
    # GIVEN a generated console
    (tmp_path / "_nuxt").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html>")
    (tmp_path / "_nuxt" / "entry.abc123.js").write_text("console.log(1)")
    (tmp_path / "old.css").write_text("body{}")
    assert deploy.sync_console(client, bucket, tmp_path) == {"uploaded": 3, "deleted": 0}
    page = client.head_object(Bucket=bucket, Key="index.html")
    asset = client.head_object(Bucket=bucket, Key="_nuxt/entry.abc123.js")
    assert page["ContentType"] == "text/html" and page["CacheControl"] == deploy.REVALIDATE
    assert asset["ContentType"] == "text/javascript" and asset["CacheControl"] == deploy.IMMUTABLE
    # WHEN the next build no longer has a file THEN the bucket no longer has it
    (tmp_path / "old.css").unlink()
    assert deploy.sync_console(client, bucket, tmp_path) == {"uploaded": 2, "deleted": 1}
    keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {"index.html", "_nuxt/entry.abc123.js"}


def test_functions_take_their_code_from_the_uploaded_zip(template):
    packaged = template("dev")
    rewritten = deploy.with_artifacts(packaged, "artifacts", "stepline/dev/abc/deployment.zip")
    functions = [r for r in rewritten["Resources"].values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(functions) == 4
    assert all(f["Properties"]["CodeUri"] == {"Bucket": "artifacts", "Key": "stepline/dev/abc/deployment.zip"}
               for f in functions)
    assert packaged["Resources"]["Step"]["Properties"]["CodeUri"] == "./deployment.zip"  # the original is kept


def test_parameters_come_from_the_environment_and_every_one_exists(template):
    env = {"MAIL_SENDER": "no-reply@example.com", "MAIL_IDENTITY": "example.com", "ALARM_EMAIL": "ops@example.com"}
    assert deploy.parameters_from(env) == [
        {"ParameterKey": "MailSender", "ParameterValue": "no-reply@example.com"},
        {"ParameterKey": "MailIdentity", "ParameterValue": "example.com"},
        {"ParameterKey": "AlarmEmail", "ParameterValue": "ops@example.com"}]
    with pytest.raises(SystemExit, match="MAIL_IDENTITY"):
        deploy.parameters_from({"MAIL_SENDER": "no-reply@example.com"})
    assert set(deploy.PARAMETERS) == set(template("prod")["Parameters"])
