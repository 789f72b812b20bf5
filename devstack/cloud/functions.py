"""The functions: names, roles (one per function, exactly what its code calls), environment, network,
concurrency, log groups, and the migration function run by the deployment.

What each function calls (and so may do):

- ``api``: sends step doorbells (start runs) and reads the queue's depth;
  seals and opens connection and trigger secrets with the connection key;
  sends mail from the configured sender; reads its database login, the JWT
  key set, the operator token and the OAuth state key.
- ``step``: receives, deletes and re-times its messages (the event source
  mapping runs as this role) and sends successors' doorbells; opens and seals
  connection secrets; reads its database login.
- ``tick``: re-dispatches queued steps and reads the queue's depth; reads its
  database login. No key, no mail.
- ``migrate``: reads both database logins and fills the JWT key set.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.cloud import network, queues, secrets
from devstack.cloud.cfn import arn, att, if_, name, ref, skip
from devstack.cloud.stages import Stage

# Chalice's logical ids -> the function's short name
CHALICE_FUNCTIONS = {"APIHandler": "api", "Step": "step", "Tick": "tick"}
ROLES = {"APIHandler": "ApiHandlerRole", "Step": "StepRole", "Tick": "TickRole", "Migrate": "MigrateRole"}
PUBLIC_BASE_URL_PARAMETER = "/stepline/{stage}/public-base-url"
MIGRATE_HANDLER = "chalicelib.deployment.handler.handler"

QUEUE_SEND = ["sqs:SendMessage", "sqs:GetQueueUrl", "sqs:GetQueueAttributes"]
QUEUE_CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"]
KEY_USE = ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"]
MAIL_SEND = ["ses:SendEmail", "ses:SendRawEmail"]
VPC_ATTACH = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
              "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
TRACING = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]


GATEWAY_RESPONSES = (
    ("GatewayNoRoute", "MISSING_AUTHENTICATION_TOKEN", "404", "route_not_found", "No route serves this path."),
    ("GatewayThrottled", "THROTTLED", "429", "rate_limited", "Too many requests."),
    ("GatewayTooLarge", "REQUEST_TOO_LARGE", "413", "payload_too_large", "Payload too large."),
    ("GatewayDefault4xx", "DEFAULT_4XX", None, "gateway_refused", "The gateway refused the request."),
    ("GatewayDefault5xx", "DEFAULT_5XX", None, "gateway_error", "The service is unavailable; retry later."),
)


def function_name(stage: Stage, short: str) -> str:
    return name(stage.name, short)


def parameter_name(stage: Stage) -> str:
    return PUBLIC_BASE_URL_PARAMETER.format(stage=stage.name)


def _statement(sid: str, actions: list[str], resources: Any, condition: dict | None = None) -> dict[str, Any]:
    statement = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement


def role_statements(stage: Stage, logical: str) -> list[dict[str, Any]]:
    """The statements of one function's role (asserted by tests, statement by statement)."""
    short = CHALICE_FUNCTIONS.get(logical, "migrate")
    own_logs = arn("logs", f"log-group:/aws/lambda/{function_name(stage, short)}:*")
    queue = att("StepQueue", "Arn")
    key = att("ConnectionKey", "Arn")
    login = [ref("DatabaseAppSecret")]
    statements = [
        _statement("OwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], own_logs),
        # ENI management for VPC access has no resource-level permissions; Lambda calls it for the function.
        _statement("VpcAccess", VPC_ATTACH, "*"),
        _statement("Tracing", TRACING, "*"),
    ]
    parameter = arn("ssm", f"parameter{parameter_name(stage)}")
    if logical == "APIHandler":
        statements += [
            _statement("StepQueueSend", QUEUE_SEND, queue),
            _statement("ConnectionKey", KEY_USE, key),
            _statement("MailFromSender", MAIL_SEND, arn("ses", "identity/${MailIdentity}"),
                       {"StringEquals": {"ses:FromAddress": ref("MailSender")}}),
            _statement("Settings", ["secretsmanager:GetSecretValue"],
                       login + [ref(s) for s in secrets.APP_SECRETS]),
            _statement("PublicBaseUrl", ["ssm:GetParameter"], parameter),
        ]
    elif logical == "Step":
        statements += [
            _statement("StepQueueConsume", QUEUE_CONSUME + QUEUE_SEND, queue),
            _statement("ConnectionKey", KEY_USE, key),
            _statement("Settings", ["secretsmanager:GetSecretValue"], login),
            _statement("PublicBaseUrl", ["ssm:GetParameter"], parameter),
        ]
    elif logical == "Tick":
        statements += [
            _statement("StepQueueSend", QUEUE_SEND, queue),
            _statement("Settings", ["secretsmanager:GetSecretValue"], login),
            _statement("PublicBaseUrl", ["ssm:GetParameter"], parameter),
        ]
    else:  # Migrate
        statements += [
            _statement("DatabaseLogins", ["secretsmanager:GetSecretValue"],
                       [ref("DatabaseOwnerSecret"), ref("DatabaseAppSecret"), ref("JwtKeysSecret")]),
            _statement("FillSigningKeys", ["secretsmanager:PutSecretValue"], ref("JwtKeysSecret")),
        ]
    return statements


def _role(stage: Stage, logical: str) -> dict[str, Any]:
    short = CHALICE_FUNCTIONS.get(logical, "migrate")
    return skip({"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name(stage.name, f"{short}-function"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": f"{short}-function",
                      "PolicyDocument": {"Version": "2012-10-17", "Statement": role_statements(stage, logical)}}]}},
        ("CKV_AWS_111", "Only ENI management for VPC access and X-Ray writes use '*': neither supports "
                        "resource-level permissions. Everything else names the stage's own ARNs."),
        ("CKV_AWS_108", "No data-exfiltration action is granted on '*' (see CKV_AWS_111)."))


def _environment(stage: Stage, logical: str) -> dict[str, Any]:
    env: dict[str, Any] = {
        "STAGE": stage.name,
        "STEP_QUEUE_NAME": queues.queue_name(stage),
        "STEP_DLQ_NAME": queues.dlq_name(stage),
        "KMS_KEY_ALIAS": queues.key_alias(stage),
        "DATABASE_SECRET_ARN": ref("DatabaseAppSecret"),
        "DATABASE_HOST": att("DatabaseProxy", "Endpoint"),
        "DATABASE_TLS": "true",
        "DB_POOL_SIZE": "1",
    }
    if logical != "Migrate":
        env["PUBLIC_BASE_URL_PARAMETER"] = parameter_name(stage)
    if logical == "APIHandler":
        env.update({
            "JWT_KEYS_SECRET_ARN": ref("JwtKeysSecret"),
            "OPERATOR_TOKEN_SECRET_ARN": ref("OperatorTokenSecret"),
            "STATE_SIGNING_KEY_SECRET_ARN": ref("StateSigningKeySecret"),
            "MAIL_BACKEND": "ses",
            "MAIL_SENDER": ref("MailSender"),
        })
    if logical == "Migrate":
        env.update({"MIGRATION_DATABASE_SECRET_ARN": ref("DatabaseOwnerSecret"),
                    "JWT_KEYS_SECRET_ARN": ref("JwtKeysSecret")})
    return env


def _log_group(stage: Stage, short: str) -> dict[str, Any]:
    return skip({"Type": "AWS::Logs::LogGroup", "Properties": {
        "LogGroupName": f"/aws/lambda/{function_name(stage, short)}",
        "RetentionInDays": stage.log_retention_days}},
        ("CKV_AWS_158", "Logs never hold secrets (redacted at the source); AWS-managed encryption at rest."))


FUNCTION_SKIPS = (
    ("CKV_AWS_116", "Failures are handled where the events come from: the step queue's redrive to its DLQ, "
                    "API Gateway's synchronous answer, the next tick a minute later."),
    ("CKV_AWS_173", "The environment holds names and ARNs only; every secret is read from Secrets Manager."),
)


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    resources = template["Resources"]
    template["Parameters"].update({
        "MailSender": {"Type": "String", "AllowedPattern": r"^[^@\s]+@[^@\s]+$",
                       "Description": "From address of outbound mail (must belong to MailIdentity)."},
        "MailIdentity": {"Type": "String", "AllowedPattern": r"^[^\s/]+$",
                         "Description": "The verified SES identity (domain or address) mail is sent from."},
    })
    runtime = resources["APIHandler"]["Properties"]["Runtime"]
    chalice_env = dict(resources["Tick"]["Properties"]["Environment"]["Variables"])  # config.json's, per stage
    reserved = {"APIHandler": stage.api_reserved_concurrency, "Step": stage.step_max_concurrency, "Tick": 1}
    for logical, short in CHALICE_FUNCTIONS.items():
        resources[ROLES[logical]] = _role(stage, logical)
        resources[f"{logical}LogGroup"] = _log_group(stage, short)
        function = resources[logical]
        props: dict[str, Any] = function["Properties"]
        props["FunctionName"] = function_name(stage, short)
        props["Role"] = att(ROLES[logical], "Arn")
        props["Environment"]["Variables"].update(_environment(stage, logical))
        props["VpcConfig"] = {"SecurityGroupIds": [ref("FunctionSecurityGroup")],
                              "SubnetIds": network.private_subnets()}
        props["ReservedConcurrentExecutions"] = reserved[logical]
        props["Tracing"] = "Active"
        function["DependsOn"] = sorted(set(function.get("DependsOn", [])) | {f"{logical}LogGroup", "MigrationRun"})
        skip(function, *FUNCTION_SKIPS)

    # the step function consumes the stage's queue, at most as many at once as the connection budget allows
    source = resources["Step"]["Properties"]["Events"]["StepSqsEventSource"]["Properties"]
    source["Queue"] = att("StepQueue", "Arn")
    source["FunctionResponseTypes"] = ["ReportBatchItemFailures"]
    source["ScalingConfig"] = {"MaximumConcurrency": stage.step_max_concurrency}

    # the migration function: same package, its own role, run by the custom resource below
    resources[ROLES["Migrate"]] = _role(stage, "Migrate")
    resources["MigrateLogGroup"] = _log_group(stage, "migrate")
    resources["Migrate"] = skip({"Type": "AWS::Serverless::Function", "DependsOn": ["MigrateLogGroup"], "Properties": {
        "FunctionName": function_name(stage, "migrate"),
        "Description": "Fills generated secrets, keeps the app role in step, runs Alembic (custom resource)",
        "Runtime": runtime, "Handler": MIGRATE_HANDLER, "CodeUri": "./deployment.zip",
        "Timeout": 600, "MemorySize": 512, "Architectures": ["x86_64"],
        "Role": att(ROLES["Migrate"], "Arn"), "ReservedConcurrentExecutions": 1, "Tracing": "Active",
        "Environment": {"Variables": {**chalice_env, **_environment(stage, "Migrate")}},
        "VpcConfig": {"SecurityGroupIds": [ref("FunctionSecurityGroup")], "SubnetIds": network.private_subnets()},
    }}, *FUNCTION_SKIPS)
    # Lambda in a created VPC answers CloudFormation through NAT: wait for the routes.
    resources["NetworkReady"] = {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {
        "routes": if_(network.CREATE_VPC, [ref(f"PrivateDefaultRoute{z}") for z in network.ZONES], "existing")}}
    resources["MigrationRun"] = {
        "Type": "Custom::SteplineMigrations",
        "DependsOn": ["NetworkReady", "DatabaseProxyTargets", "DatabaseOwnerSecretAttachment",
                      "DatabaseAppSecretAttachment"],
        "Properties": {"ServiceToken": att("Migrate", "Arn"), "Stage": stage.name,
                       # a new release id on every build: every deployment runs the (idempotent) migrations
                       "Release": release}}

    # API Gateway: a regional endpoint (CloudFront is in front), traced and throttled per stage
    api = resources["RestAPI"]["Properties"]
    api["EndpointConfiguration"] = "REGIONAL"
    api["Name"] = name(stage.name, "api")
    api["TracingEnabled"] = True
    api["MethodSettings"] = [{"ResourcePath": "/*", "HttpMethod": "*", "MetricsEnabled": True,
                              "ThrottlingRateLimit": stage.api_throttle_rate,
                              "ThrottlingBurstLimit": stage.api_throttle_rate * 2}]
    skip(resources["RestAPI"],
         ("CKV_AWS_76", "Access logging needs the account-wide API Gateway logging role, which a stage must not "
                        "own; the API function logs every request with its request id."),
         ("CKV_AWS_120", "Responses are per caller and never cacheable."),
         ("CKV_AWS_59", "Routes authenticate in the function (JWT, API tokens, signed webhooks); /health and "
                        "/openapi.json are public by design."))
    # API Gateway's own answers (no route, throttled, too large) in the API's one error shape, with a request id
    for logical, kind, status, code, message in GATEWAY_RESPONSES:
        props = {
            "RestApiId": ref("RestAPI"), "ResponseType": kind,
            "ResponseTemplates": {"application/json": json.dumps(
                {"error": {"code": code, "message": message, "details": [], "request_id": "$context.requestId"}})}}
        if status:
            props["StatusCode"] = status
        resources[logical] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": props}
    template["Outputs"]["ConnectionBudget"] = {
        "Description": "worst-case client connections (all functions at their limit × per-container pool) "
                       "/ connections the proxy may open",
        "Value": f"{stage.worst_case_connections()} / {stage.proxy_connection_limit}"}
