"""The network: a VPC with private subnets and NAT (or an existing VPC), and the security groups.

The functions sit in private subnets so they reach the database proxy; their
calls to AWS APIs and to tenants' systems leave through NAT. The database and
the proxy accept connections only from the groups in front of them.
"""

from __future__ import annotations

from typing import Any

from devstack.cloud.cfn import att, if_, name, ref, skip
from devstack.cloud.stages import Stage

CREATE_VPC = "CreateVpc"
ZONES = ("A", "B")


def vpc_id() -> dict[str, Any]:
    return if_(CREATE_VPC, ref("Vpc"), ref("VpcId"))


def private_subnets() -> dict[str, Any]:
    return if_(CREATE_VPC, [ref(f"PrivateSubnet{z}") for z in ZONES], ref("PrivateSubnetIds"))


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    template["Parameters"].update({
        "VpcId": {"Type": "String", "Default": "",
                  "Description": "An existing VPC to use; empty creates one with private subnets and NAT."},
        "PrivateSubnetIds": {"Type": "CommaDelimitedList", "Default": "",
                             "Description": "With VpcId: two or more private subnets (in different zones) "
                                            "whose default route leads to a NAT gateway."},
        "VpcCidr": {"Type": "String", "Default": "10.40.0.0/16", "AllowedPattern": r"^\d+\.\d+\.\d+\.\d+/16$",
                    "Description": "The /16 of the VPC created when VpcId is empty."},
    })
    template["Conditions"][CREATE_VPC] = {"Fn::Equals": [ref("VpcId"), ""]}
    resources = template["Resources"]
    tags = lambda suffix: [{"Key": "Name", "Value": name(stage.name, suffix)}]  # noqa: E731

    resources["Vpc"] = {"Type": "AWS::EC2::VPC", "Condition": CREATE_VPC, "Properties": {
        "CidrBlock": ref("VpcCidr"), "EnableDnsHostnames": True, "EnableDnsSupport": True, "Tags": tags("vpc")}}
    resources["VpcFlowLogGroup"] = {"Type": "AWS::Logs::LogGroup", "Condition": CREATE_VPC, "Properties": {
        "LogGroupName": f"/stepline/{stage.name}/vpc-flow-logs", "RetentionInDays": stage.log_retention_days}}
    skip(resources["VpcFlowLogGroup"], ("CKV_AWS_158", "Flow records hold addresses, not data; AWS-managed "
                                                      "encryption at rest is enough."))
    resources["VpcFlowLogRole"] = {"Type": "AWS::IAM::Role", "Condition": CREATE_VPC, "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "flow-logs", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            "Resource": att("VpcFlowLogGroup", "Arn")}]}}]}}
    resources["VpcFlowLog"] = {"Type": "AWS::EC2::FlowLog", "Condition": CREATE_VPC, "Properties": {
        "ResourceId": ref("Vpc"), "ResourceType": "VPC", "TrafficType": "REJECT",
        "LogDestinationType": "cloud-watch-logs", "LogGroupName": ref("VpcFlowLogGroup"),
        "DeliverLogsPermissionArn": att("VpcFlowLogRole", "Arn")}}
    resources["InternetGateway"] = {"Type": "AWS::EC2::InternetGateway", "Condition": CREATE_VPC,
                                    "Properties": {"Tags": tags("igw")}}
    resources["InternetGatewayAttachment"] = {"Type": "AWS::EC2::VPCGatewayAttachment", "Condition": CREATE_VPC,
                                              "Properties": {"VpcId": ref("Vpc"),
                                                             "InternetGatewayId": ref("InternetGateway")}}
    resources["PublicRouteTable"] = {"Type": "AWS::EC2::RouteTable", "Condition": CREATE_VPC,
                                     "Properties": {"VpcId": ref("Vpc"), "Tags": tags("public")}}
    resources["PublicDefaultRoute"] = {"Type": "AWS::EC2::Route", "Condition": CREATE_VPC,
                                       "DependsOn": "InternetGatewayAttachment", "Properties": {
                                           "RouteTableId": ref("PublicRouteTable"),
                                           "DestinationCidrBlock": "0.0.0.0/0",
                                           "GatewayId": ref("InternetGateway")}}
    for index, zone in enumerate(ZONES):
        az = {"Fn::Select": [index, {"Fn::GetAZs": ""}]}
        resources[f"PublicSubnet{zone}"] = {"Type": "AWS::EC2::Subnet", "Condition": CREATE_VPC, "Properties": {
            "VpcId": ref("Vpc"), "AvailabilityZone": az, "MapPublicIpOnLaunch": False,
            "CidrBlock": {"Fn::Select": [index, {"Fn::Cidr": [ref("VpcCidr"), 4, 8]}]},
            "Tags": tags(f"public-{zone.lower()}")}}
        resources[f"PublicSubnet{zone}Routes"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation", "Condition": CREATE_VPC,
            "Properties": {"SubnetId": ref(f"PublicSubnet{zone}"), "RouteTableId": ref("PublicRouteTable")}}
        resources[f"PrivateSubnet{zone}"] = {"Type": "AWS::EC2::Subnet", "Condition": CREATE_VPC, "Properties": {
            "VpcId": ref("Vpc"), "AvailabilityZone": az, "MapPublicIpOnLaunch": False,
            "CidrBlock": {"Fn::Select": [index + 2, {"Fn::Cidr": [ref("VpcCidr"), 4, 8]}]},
            "Tags": tags(f"private-{zone.lower()}")}}
    nats = ZONES[: stage.nat_gateways]
    for zone in nats:
        resources[f"NatAddress{zone}"] = {"Type": "AWS::EC2::EIP", "Condition": CREATE_VPC,
                                          "DependsOn": "InternetGatewayAttachment",
                                          "Properties": {"Domain": "vpc", "Tags": tags(f"nat-{zone.lower()}")}}
        resources[f"NatGateway{zone}"] = {"Type": "AWS::EC2::NatGateway", "Condition": CREATE_VPC, "Properties": {
            "AllocationId": att(f"NatAddress{zone}", "AllocationId"), "SubnetId": ref(f"PublicSubnet{zone}"),
            "Tags": tags(f"nat-{zone.lower()}")}}
    for zone in ZONES:
        nat = zone if zone in nats else nats[0]
        resources[f"PrivateRouteTable{zone}"] = {"Type": "AWS::EC2::RouteTable", "Condition": CREATE_VPC,
                                                 "Properties": {"VpcId": ref("Vpc"),
                                                                "Tags": tags(f"private-{zone.lower()}")}}
        resources[f"PrivateDefaultRoute{zone}"] = {"Type": "AWS::EC2::Route", "Condition": CREATE_VPC, "Properties": {
            "RouteTableId": ref(f"PrivateRouteTable{zone}"), "DestinationCidrBlock": "0.0.0.0/0",
            "NatGatewayId": ref(f"NatGateway{nat}")}}
        resources[f"PrivateSubnet{zone}Routes"] = {
            "Type": "AWS::EC2::SubnetRouteTableAssociation", "Condition": CREATE_VPC,
            "Properties": {"SubnetId": ref(f"PrivateSubnet{zone}"), "RouteTableId": ref(f"PrivateRouteTable{zone}")}}

    resources["FunctionSecurityGroup"] = skip({"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupName": name(stage.name, "functions"),
        "GroupDescription": "Stepline functions: out to the database proxy, AWS APIs and tenant APIs",
        "VpcId": vpc_id(),
        "SecurityGroupEgress": [
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "CidrIp": "0.0.0.0/0",
             "Description": "tenants' APIs on any port, AWS APIs on 443 (through NAT)"}],
        "Tags": tags("functions")}},
        ("CKV_AWS_382", "Connector calls go to tenants' own systems on ports they choose; the egress guard in "
                        "the code refuses private and link-local addresses."))
    # The database group allows nothing out and takes its ingress from a separate rule (no cycle with the proxy's).
    resources["DatabaseSecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupName": name(stage.name, "db"),
        "GroupDescription": "Stepline database: PostgreSQL from the proxy only",
        "VpcId": vpc_id(),
        "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "127.0.0.1/32", "Description": "nothing out"}],
        "Tags": tags("db")}}
    resources["ProxySecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
        "GroupName": name(stage.name, "db-proxy"),
        "GroupDescription": "Stepline database proxy: PostgreSQL from the functions only",
        "VpcId": vpc_id(),
        "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                  "SourceSecurityGroupId": ref("FunctionSecurityGroup"),
                                  "Description": "PostgreSQL from the functions"}],
        "SecurityGroupEgress": [{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
                                 "DestinationSecurityGroupId": ref("DatabaseSecurityGroup"),
                                 "Description": "to PostgreSQL"}],
        "Tags": tags("db-proxy")}}
    resources["DatabaseFromProxy"] = {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {
        "GroupId": ref("DatabaseSecurityGroup"), "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
        "SourceSecurityGroupId": ref("ProxySecurityGroup"), "Description": "PostgreSQL from the proxy"}}
    template["Outputs"]["VpcUsed"] = {"Value": vpc_id()}
