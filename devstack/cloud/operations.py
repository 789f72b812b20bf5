"""Alarms, and the SNS topic they notify.

One alarm per signal an operator must act on: a message in the dead-letter
queue (a step that failed five deliveries), step/API/tick function errors,
step and API throttles (concurrency limits reached), the API's 5xx share,
database connections near the limit the proxy is sized against, and the
database running out of storage.
"""

from __future__ import annotations

from typing import Any

from devstack.cloud import functions
from devstack.cloud.cfn import NO_VALUE, if_, name, ref, skip
from devstack.cloud.stages import Stage

HAS_ALARM_EMAIL = "HasAlarmEmail"


def _alarm(stage: Stage, suffix: str, description: str, namespace: str, metric: str,
           dimensions: dict[str, Any], *, statistic: str = "Sum", threshold: float = 0,
           comparison: str = "GreaterThanThreshold", period: int = 60, evaluation: int = 1) -> dict[str, Any]:
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
        "AlarmName": name(stage.name, suffix),
        "AlarmDescription": description,
        "Namespace": namespace, "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
        "Statistic": statistic, "Period": period, "EvaluationPeriods": evaluation,
        "Threshold": threshold, "ComparisonOperator": comparison,
        "TreatMissingData": "notBreaching",
        "AlarmActions": [ref("AlarmTopic")], "OKActions": [ref("AlarmTopic")]}}


def alarms(stage: Stage) -> dict[str, dict[str, Any]]:
    """The alarm set, by logical id (asserted by tests)."""
    fn = {short: functions.function_name(stage, short) for short in ("api", "step", "tick")}
    lambda_alarm = lambda fn_short, metric, what: _alarm(  # noqa: E731
        stage, f"{fn_short}-{metric.lower()}", f"The {fn_short} function {what}.", "AWS/Lambda", metric,
        {"FunctionName": fn[fn_short]}, period=300)
    return {
        "DeadLetterQueueAlarm": _alarm(
            stage, "steps-dlq-not-empty", "A step message was dead-lettered after 5 deliveries: inspect and redrive.",
            "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": f"stepline-{stage.name}-steps-dlq"},
            statistic="Maximum"),
        "StepErrorsAlarm": lambda_alarm("step", "Errors", "raised (infrastructure faults, not step failures)"),
        "StepThrottlesAlarm": lambda_alarm("step", "Throttles", "was throttled (concurrency limit reached)"),
        "ApiErrorsAlarm": lambda_alarm("api", "Errors", "raised"),
        "ApiThrottlesAlarm": lambda_alarm("api", "Throttles", "was throttled (concurrency limit reached)"),
        "TickErrorsAlarm": lambda_alarm("tick", "Errors", "raised (housekeeping, cron triggers)"),
        "Api5xxAlarm": _alarm(
            stage, "api-5xx-rate", f"More than {stage.api_5xx_rate_threshold:.0%} of API requests answered 5xx.",
            "AWS/ApiGateway", "5XXError", {"ApiName": name(stage.name, "api"), "Stage": "api"},
            statistic="Average", threshold=stage.api_5xx_rate_threshold, period=300),
        "DatabaseConnectionsAlarm": _alarm(
            stage, "db-connections", "Database connections above 80% of what the proxy may open.",
            "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": name(stage.name, "db")},
            statistic="Maximum", threshold=int(stage.proxy_connection_limit * 0.8), period=300),
        "DatabaseStorageAlarm": _alarm(
            stage, "db-free-storage", "Less than 10% of the database's storage left.",
            "AWS/RDS", "FreeStorageSpace", {"DBInstanceIdentifier": name(stage.name, "db")},
            statistic="Minimum", threshold=stage.db_storage_gb * 1024**3 // 10, comparison="LessThanThreshold",
            period=300),
    }


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    template["Parameters"]["AlarmEmail"] = {
        "Type": "String", "Default": "", "Description": "Address subscribed to the alarms (empty: none)."}
    template["Conditions"][HAS_ALARM_EMAIL] = {"Fn::Not": [{"Fn::Equals": [ref("AlarmEmail"), ""]}]}
    resources = template["Resources"]
    resources["AlarmTopic"] = skip({"Type": "AWS::SNS::Topic", "Properties": {
        "TopicName": name(stage.name, "alarms"),
        "Subscription": if_(HAS_ALARM_EMAIL, [{"Protocol": "email", "Endpoint": ref("AlarmEmail")}], NO_VALUE)}},
        ("CKV_AWS_26", "CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key; the "
                       "messages name alarms and metrics only."))
    resources["AlarmTopicPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
        "Topics": [ref("AlarmTopic")],
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "CloudWatchAlarmsOfThisAccount", "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
            "Resource": ref("AlarmTopic"),
            "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}}}]}}}
    resources.update(alarms(stage))
    template["Outputs"]["AlarmTopicArn"] = {"Value": ref("AlarmTopic")}
