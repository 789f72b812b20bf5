"""PostgreSQL on RDS in the private subnets, reached only through RDS Proxy.

Two logins, both in Secrets Manager and both registered with the proxy: the
owner (RDS's master user; runs the migrations) and the application role (DML
only; created and kept in step with its secret by the migration function).
The functions never see either password in their environment.
"""

from __future__ import annotations

import json
from typing import Any

from devstack.cloud import network
from devstack.cloud.cfn import att, name, ref, skip, sub
from devstack.cloud.stages import Stage

ENGINE_VERSION = "16.13"
PARAMETER_FAMILY = "postgres16"
DATABASE_NAME = "stepline"
OWNER_ROLE = "stepline_owner"
APP_ROLE = "stepline_app"


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    resources = template["Resources"]
    for logical, username, what in (("DatabaseOwnerSecret", OWNER_ROLE, "owner (migrations)"),
                                    ("DatabaseAppSecret", APP_ROLE, "application role")):
        resources[logical] = skip({"Type": "AWS::SecretsManager::Secret", "Properties": {
            "Name": f"stepline/{stage.name}/database-{'owner' if username == OWNER_ROLE else 'app'}",
            "Description": f"Stepline {stage.name} database login: {what}",
            "GenerateSecretString": {
                "SecretStringTemplate": json.dumps({"username": username, "dbname": DATABASE_NAME}),
                "GenerateStringKey": "password", "PasswordLength": 40,
                "ExcludeCharacters": "\"@/\\' `"}}},
            ("CKV2_AWS_57", "Rotating a password behind RDS Proxy is an operator step (docs/deploy.md): the "
                            "proxy and the migration function read the secret anew."),
            ("CKV_AWS_149", "Encrypted with the AWS-managed key of Secrets Manager; readable only by the roles "
                            "named in this template."))
        resources[logical]["UpdateReplacePolicy"] = "Retain"
        resources[logical]["DeletionPolicy"] = "Retain" if stage.deletion_protection else "Delete"
        resources[f"{logical}Attachment"] = {"Type": "AWS::SecretsManager::SecretTargetAttachment", "Properties": {
            "SecretId": ref(logical), "TargetId": ref("Database"), "TargetType": "AWS::RDS::DBInstance"}}

    resources["DatabaseSubnetGroup"] = {"Type": "AWS::RDS::DBSubnetGroup", "Properties": {
        "DBSubnetGroupName": name(stage.name, "db"),
        "DBSubnetGroupDescription": f"Stepline {stage.name}: private subnets of the database",
        "SubnetIds": network.private_subnets()}}
    resources["DatabaseParameters"] = {"Type": "AWS::RDS::DBParameterGroup", "Properties": {
        "DBParameterGroupName": name(stage.name, "postgres16"),
        "Description": f"Stepline {stage.name}: TLS only, the connection limit the proxy is sized against",
        "Family": PARAMETER_FAMILY,
        "Parameters": {"rds.force_ssl": "1", "max_connections": str(stage.db_max_connections),
                       "log_min_duration_statement": "1000"}}}
    resources["DatabaseMonitoringRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name(stage.name, "db-monitoring"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "ManagedPolicyArns": [
            sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole")]}}
    database = {"Type": "AWS::RDS::DBInstance",
                "DeletionPolicy": "Snapshot", "UpdateReplacePolicy": "Snapshot",
                "Properties": {
                    "DBInstanceIdentifier": name(stage.name, "db"),
                    "DBName": DATABASE_NAME,
                    "Engine": "postgres",
                    "EngineVersion": ENGINE_VERSION,
                    "DBInstanceClass": stage.db_instance_class,
                    "AllocatedStorage": str(stage.db_storage_gb),
                    "MaxAllocatedStorage": stage.db_storage_gb * 5,
                    "StorageType": "gp3",
                    "StorageEncrypted": True,
                    "MultiAZ": stage.multi_az,
                    "PubliclyAccessible": False,
                    "DBSubnetGroupName": ref("DatabaseSubnetGroup"),
                    "DBParameterGroupName": ref("DatabaseParameters"),
                    "VPCSecurityGroups": [ref("DatabaseSecurityGroup")],
                    "MasterUsername": sub("{{resolve:secretsmanager:${DatabaseOwnerSecret}:SecretString:username}}"),
                    "MasterUserPassword": sub(
                        "{{resolve:secretsmanager:${DatabaseOwnerSecret}:SecretString:password}}"),
                    "BackupRetentionPeriod": stage.backup_retention_days,
                    "DeletionProtection": stage.deletion_protection,
                    "CopyTagsToSnapshot": True,
                    "AutoMinorVersionUpgrade": True,
                    "EnableIAMDatabaseAuthentication": True,
                    "EnableCloudwatchLogsExports": ["postgresql", "upgrade"],
                    "EnablePerformanceInsights": True,
                    "MonitoringInterval": 60,
                    "MonitoringRoleArn": att("DatabaseMonitoringRole", "Arn"),
                }}
    if not stage.multi_az:
        skip(database, ("CKV_AWS_157", f"The {stage.name} stage runs one zone to halve its cost; prod is Multi-AZ."))
    skip(database, ("CKV_AWS_354", "Performance Insights data is encrypted with the AWS-managed RDS key."))
    resources["Database"] = database

    resources["DatabaseProxyRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name(stage.name, "db-proxy"),
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "read-database-logins", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Sid": "DatabaseLogins", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [ref("DatabaseOwnerSecret"), ref("DatabaseAppSecret")]}]}}]}}
    resources["DatabaseProxy"] = {"Type": "AWS::RDS::DBProxy", "Properties": {
        "DBProxyName": name(stage.name, "db-proxy"),
        "EngineFamily": "POSTGRESQL",
        "RequireTLS": True,
        "IdleClientTimeout": 900,
        "RoleArn": att("DatabaseProxyRole", "Arn"),
        "VpcSubnetIds": network.private_subnets(),
        "VpcSecurityGroupIds": [ref("ProxySecurityGroup")],
        "Auth": [{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED", "SecretArn": ref(secret)}
                 for secret in ("DatabaseOwnerSecret", "DatabaseAppSecret")]}}
    resources["DatabaseProxyTargets"] = {"Type": "AWS::RDS::DBProxyTargetGroup", "Properties": {
        "DBProxyName": ref("DatabaseProxy"),
        "TargetGroupName": "default",
        "DBInstanceIdentifiers": [ref("Database")],
        "ConnectionPoolConfigurationInfo": {"MaxConnectionsPercent": stage.proxy_max_connections_percent,
                                            "MaxIdleConnectionsPercent": 20,
                                            "ConnectionBorrowTimeout": 30}}}
    template["Outputs"]["DatabaseProxyEndpoint"] = {"Value": att("DatabaseProxy", "Endpoint")}
