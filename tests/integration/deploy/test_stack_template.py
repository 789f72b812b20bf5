"""The packaged stack read as an operator would: roles, names, alarms, database, console."""

from __future__ import annotations

import json

import pytest

from devstack.cloud import STAGES, console, operations

STAGE_NAMES = ("dev", "prod")
SQS = {"Fn::GetAtt": ["StepQueue", "Arn"]}
KEY = {"Fn::GetAtt": ["ConnectionKey", "Arn"]}
APP_LOGIN = {"Ref": "DatabaseAppSecret"}
VPC = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
       "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
KMS = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]


def _statements(template, role):
    (policy,) = template["Resources"][role]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def _common(stage, short):
    logs = {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:"
                       f"log-group:/aws/lambda/stepline-{stage}-{short}:*"}
    return {
        "OwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"], logs),
        "VpcAccess": (VPC, "*"),
        "Tracing": (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    }


def _parameter(stage):
    return {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
                       f"parameter/stepline/{stage}/public-base-url"}


def expected_roles(stage):
    return {
        "ApiHandlerRole": {**_common(stage, "api"),
                           "StepQueueSend": (SEND, SQS),
                           "ConnectionKey": (KMS, KEY),
                           "MailFromSender": (["ses:SendEmail", "ses:SendRawEmail"], {
                               "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:"
                                          "identity/${MailIdentity}"}),
                           "Settings": (["secretsmanager:GetSecretValue"], [
                               APP_LOGIN, {"Ref": "JwtKeysSecret"}, {"Ref": "OperatorTokenSecret"},
                               {"Ref": "StateSigningKeySecret"}]),
                           "PublicBaseUrl": (["ssm:GetParameter"], _parameter(stage))},
        "StepRole": {**_common(stage, "step"),
                     "StepQueueConsume": (["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                                           *SEND], SQS),
                     "ConnectionKey": (KMS, KEY),
                     "Settings": (["secretsmanager:GetSecretValue"], [APP_LOGIN]),
                     "PublicBaseUrl": (["ssm:GetParameter"], _parameter(stage))},
        "TickRole": {**_common(stage, "tick"),
                     "StepQueueSend": (SEND, SQS),
                     "Settings": (["secretsmanager:GetSecretValue"], [APP_LOGIN]),
                     "PublicBaseUrl": (["ssm:GetParameter"], _parameter(stage))},
        "MigrateRole": {**_common(stage, "migrate"),
                        "DatabaseLogins": (["secretsmanager:GetSecretValue"], [
                            {"Ref": "DatabaseOwnerSecret"}, APP_LOGIN, {"Ref": "JwtKeysSecret"}]),
                        "FillSigningKeys": (["secretsmanager:PutSecretValue"], {"Ref": "JwtKeysSecret"})},
    }


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_each_function_has_its_own_role_with_exactly_what_its_code_calls(template, stage):
    t = template(stage)
    functions = {"APIHandler": "ApiHandlerRole", "Step": "StepRole", "Tick": "TickRole", "Migrate": "MigrateRole"}
    for function, role in functions.items():
        assert t["Resources"][function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    for role, expected in expected_roles(stage).items():
        statements = _statements(t, role)
        assert {sid: (s["Action"], s["Resource"]) for sid, s in statements.items()} == expected, role
        assert all(s["Effect"] == "Allow" for s in statements.values())
    # mail only from the configured sender
    mail = _statements(t, "ApiHandlerRole")["MailFromSender"]
    assert mail["Condition"] == {"StringEquals": {"ses:FromAddress": {"Ref": "MailSender"}}}


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_no_policy_uses_account_or_region_wildcards(template, stage):
    text = json.dumps(template(stage))
    for wildcard in (":*:*:", "arn:aws:sqs:*", "arn:aws:logs:*", '"kms:*"', '"s3:*"'):
        if wildcard in ('"kms:*"', '"s3:*"'):
            continue  # the key policy's account administration and the bucket's TLS-only Deny, checked below
        assert wildcard not in text, wildcard
    for resource in template(stage)["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for policy in resource["Properties"].get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    assert not any(a.endswith(":*") or a == "*" for a in statement["Action"]), statement
    bucket_policy = template(stage)["Resources"]["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]
    assert [s["Effect"] for s in bucket_policy["Statement"] if "s3:*" in str(s["Action"])] == ["Deny"]


NAME_PROPERTIES = ("QueueName", "AliasName", "LogGroupName", "FunctionName", "TopicName", "AlarmName",
                   "DBInstanceIdentifier", "DBProxyName", "DBSubnetGroupName", "DBParameterGroupName",
                   "RoleName", "GroupName", "BucketName")


def _names(t):
    names = {}
    for logical, resource in t["Resources"].items():
        props = resource.get("Properties", {})
        for prop in NAME_PROPERTIES:
            refers = isinstance(props.get(prop), dict) and props[prop].get("Ref") in t["Resources"]
            if prop in props and not refers:  # a reference names another (checked) resource
                names[f"{logical}.{prop}"] = json.dumps(props[prop])
        if resource["Type"] in ("AWS::SecretsManager::Secret", "AWS::SSM::Parameter", "AWS::CloudFront::Function"):
            names[f"{logical}.Name"] = json.dumps(props["Name"])
        if resource["Type"] == "AWS::CloudFront::OriginAccessControl":
            names[f"{logical}.Name"] = json.dumps(props["OriginAccessControlConfig"]["Name"])
        if resource["Type"] == "AWS::Serverless::Api":
            names[f"{logical}.Name"] = json.dumps(props["Name"])
    return names


def test_every_named_resource_carries_the_stage_so_stages_coexist(template):
    names = {stage: _names(template(stage)) for stage in STAGE_NAMES}
    for stage, found in names.items():
        assert len(found) >= 30
        for where, value in found.items():
            assert f"stepline-{stage}-" in value or f"stepline/{stage}/" in value \
                or f"/stepline/{stage}/" in value, (where, value)
    assert not set(names["dev"].values()) & set(names["prod"].values())
    # every function's log group is named, with retention set
    for stage in STAGE_NAMES:
        groups = [r for r in template(stage)["Resources"].values() if r["Type"] == "AWS::Logs::LogGroup"]
        assert {g["Properties"]["LogGroupName"] for g in groups} >= {
            f"/aws/lambda/stepline-{stage}-{f}" for f in ("api", "step", "tick", "migrate")}
        assert all(g["Properties"]["RetentionInDays"] == STAGES[stage].log_retention_days for g in groups)


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_the_alarm_set(template, stage):
    resources = template(stage)["Resources"]
    alarms = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert set(alarms) == {"DeadLetterQueueAlarm", "StepErrorsAlarm", "StepThrottlesAlarm", "ApiErrorsAlarm",
                           "ApiThrottlesAlarm", "TickErrorsAlarm", "Api5xxAlarm", "DatabaseConnectionsAlarm",
                           "DatabaseStorageAlarm"}
    assert set(alarms) == set(operations.alarms(STAGES[stage]))
    dlq = alarms["DeadLetterQueueAlarm"]
    assert (dlq["MetricName"], dlq["Threshold"], dlq["ComparisonOperator"]) == (
        "ApproximateNumberOfMessagesVisible", 0, "GreaterThanThreshold")
    assert dlq["Dimensions"] == [{"Name": "QueueName",
                                  "Value": resources["StepDeadLetterQueue"]["Properties"]["QueueName"]}]
    for short, logical in (("step", "Step"), ("api", "Api")):
        for metric in ("Errors", "Throttles"):
            alarm = alarms[f"{logical}{metric}Alarm"]
            assert alarm["MetricName"] == metric
            assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": f"stepline-{stage}-{short}"}]
    assert alarms["Api5xxAlarm"]["Dimensions"][0]["Value"] == resources["RestAPI"]["Properties"]["Name"]
    assert alarms["DatabaseConnectionsAlarm"]["Threshold"] < STAGES[stage].proxy_connection_limit
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    assert resources["AlarmTopic"]["Properties"]["TopicName"] == f"stepline-{stage}-alarms"


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_concurrency_is_sized_against_the_proxy(template, stage):
    settings = STAGES[stage]
    resources = template(stage)["Resources"]
    assert settings.worst_case_connections() <= settings.proxy_connection_limit
    source = resources["Step"]["Properties"]["Events"]["StepSqsEventSource"]["Properties"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": settings.step_max_concurrency}
    assert resources["Step"]["Properties"]["ReservedConcurrentExecutions"] == settings.step_max_concurrency
    assert resources["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] == settings.api_reserved_concurrency
    assert resources["Tick"]["Properties"]["ReservedConcurrentExecutions"] == 1
    pool = resources["DatabaseProxyTargets"]["Properties"]["ConnectionPoolConfigurationInfo"]
    assert pool["MaxConnectionsPercent"] == settings.proxy_max_connections_percent
    params = resources["DatabaseParameters"]["Properties"]["Parameters"]
    assert params["max_connections"] == str(settings.db_max_connections)
    for function in ("APIHandler", "Step", "Tick"):
        assert resources[function]["Properties"]["Environment"]["Variables"]["DB_POOL_SIZE"] == "1"


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_database_is_private_behind_the_proxy_and_no_secret_sits_in_an_environment(template, stage):
    resources = template(stage)["Resources"]
    db = resources["Database"]["Properties"]
    assert db["Engine"] == "postgres" and db["StorageEncrypted"] and not db["PubliclyAccessible"]
    assert db["MultiAZ"] is (stage == "prod") and db["DeletionProtection"] is (stage == "prod")
    assert "resolve:secretsmanager" in json.dumps(db["MasterUserPassword"])
    proxy = resources["DatabaseProxy"]["Properties"]
    assert proxy["RequireTLS"] is True
    assert [a["SecretArn"] for a in proxy["Auth"]] == [{"Ref": "DatabaseOwnerSecret"}, {"Ref": "DatabaseAppSecret"}]
    ingress = resources["DatabaseFromProxy"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Ref": "ProxySecurityGroup"}
    for function in ("APIHandler", "Step", "Tick", "Migrate"):
        env = resources[function]["Properties"]["Environment"]["Variables"]
        assert not {"DATABASE_URL", "MIGRATION_DATABASE_URL", "JWT_KEYS", "OPERATOR_TOKEN", "STATE_SIGNING_KEY",
                    "LOCAL_MASTER_KEY"} & set(env), function
        assert env["DATABASE_HOST"] == {"Fn::GetAtt": ["DatabaseProxy", "Endpoint"]}
        assert env["DATABASE_TLS"] == "true"
        assert resources[function]["Properties"]["VpcConfig"]["SecurityGroupIds"] == [{"Ref": "FunctionSecurityGroup"}]
    api_env = resources["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert api_env["MAIL_BACKEND"] == "ses" and api_env["MAIL_SENDER"] == {"Ref": "MailSender"}
    assert api_env["PUBLIC_BASE_URL_PARAMETER"] == f"/stepline/{stage}/public-base-url"
    assert api_env["STEP_QUEUE_NAME"] == f"stepline-{stage}-steps"
    # NAT for outbound calls in a created VPC
    nats = [k for k, r in resources.items() if r["Type"] == "AWS::EC2::NatGateway"]
    assert len(nats) == STAGES[stage].nat_gateways


def test_migrations_run_on_every_release_before_the_functions_change(template, packaged):
    resources = template("prod")["Resources"]
    run = resources["MigrationRun"]
    assert run["Type"] == "Custom::SteplineMigrations"
    assert run["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["Migrate", "Arn"]}
    assert len(run["Properties"]["Release"]) == 16
    assert {"DatabaseProxyTargets", "NetworkReady"} <= set(run["DependsOn"])
    for function in ("APIHandler", "Step", "Tick"):
        assert "MigrationRun" in resources[function]["DependsOn"]
    assert resources["Migrate"]["Properties"]["Handler"] == "chalicelib.deployment.handler.handler"


def test_console_is_a_private_bucket_behind_cloudfront_with_the_api_as_second_origin(template):
    resources = template("prod")["Resources"]
    bucket = resources["ConsoleBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    config = resources["ConsoleDistribution"]["Properties"]["DistributionConfig"]
    origins = {o["Id"]: o for o in config["Origins"]}
    assert origins["console"]["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccess", "Id"]}
    assert origins["api"]["OriginPath"] == "/api"
    assert "${RestAPI}.execute-api" in origins["api"]["DomainName"]["Fn::Sub"]
    assert config["DefaultCacheBehavior"]["TargetOriginId"] == "console"
    routed = {b["PathPattern"]: b for b in config["CacheBehaviors"]}
    assert set(routed) == {"/api/*", "/auth/*", "/webhooks/*", "/oauth/*", "/health", "/openapi.json"}
    assert set(routed) == set(console.API_PATHS)
    for behavior in routed.values():
        assert behavior["TargetOriginId"] == "api"
        assert behavior["CachePolicyId"] == console.CACHING_DISABLED
        assert "POST" in behavior["AllowedMethods"]
    (reader,) = [s for s in resources["ConsoleBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
                 if s["Effect"] == "Allow"]
    assert reader["Principal"] == {"Service": "cloudfront.amazonaws.com"} and reader["Action"] == "s3:GetObject"
    assert "distribution/${ConsoleDistribution}" in reader["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]
    assert resources["RestAPI"]["Properties"]["EndpointConfiguration"] == "REGIONAL"
