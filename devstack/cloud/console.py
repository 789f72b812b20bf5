"""The console on AWS: its static files in a private S3 bucket behind CloudFront, with the API as a
second origin for its paths, so the console and the API share one origin as they do locally.

The bucket is reached only through CloudFront's origin access control. The
files are synced by ``make deploy`` when ``console/.output/public`` exists;
the stack itself does not depend on them. Paths without a file extension are
served the SPA shell (``index.html``) by a viewer-request function, so deep
links work without turning the API's own 403/404 answers into HTML.
"""

from __future__ import annotations

from typing import Any

from devstack.cloud import functions
from devstack.cloud.cfn import NO_VALUE, att, if_, name, ref, skip, sub
from devstack.cloud.stages import Stage

# The API's paths (docs: API.md); everything else is the console.
API_PATHS = ("/api/*", "/auth/*", "/webhooks/*", "/oauth/*", "/health", "/openapi.json")
# AWS-managed CloudFront policies (fixed ids, the same in every account)
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
SECURITY_HEADERS = "67f7725c-6f97-4210-82d7-5512b31e9d03"
HAS_DOMAIN = "HasConsoleDomain"
HAS_PUBLIC_BASE_URL = "HasPublicBaseUrl"

SPA_ROUTES = """function handler(event) {
  var request = event.request;
  var last = request.uri.split('/').pop();
  if (last.indexOf('.') === -1) { request.uri = '/index.html'; }
  return request;
}
"""


def add(template: dict[str, Any], stage: Stage, *, release: str) -> None:
    template["Parameters"].update({
        "ConsoleDomainName": {"Type": "String", "Default": "",
                              "Description": "Custom domain of the console and API (empty: CloudFront's own)."},
        "ConsoleCertificateArn": {"Type": "String", "Default": "",
                                  "Description": "With ConsoleDomainName: its ACM certificate in us-east-1."},
        "PublicBaseUrl": {"Type": "String", "Default": "",
                          "Description": "Base URL in mails and links (empty: https:// + the console's domain)."},
    })
    template["Conditions"][HAS_DOMAIN] = {"Fn::Not": [{"Fn::Equals": [ref("ConsoleDomainName"), ""]}]}
    template["Conditions"][HAS_PUBLIC_BASE_URL] = {"Fn::Not": [{"Fn::Equals": [ref("PublicBaseUrl"), ""]}]}
    resources = template["Resources"]
    resources["ConsoleBucket"] = skip({"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                                       "UpdateReplacePolicy": "Retain", "Properties": {
        "BucketName": sub(f"{name(stage.name, 'console')}-${{AWS::AccountId}}-${{AWS::Region}}"),
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "VersioningConfiguration": {"Status": "Enabled"},
        "LifecycleConfiguration": {"Rules": [{"Id": "old-builds", "Status": "Enabled",
                                              "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}}},
        ("CKV_AWS_18", "Static build output; requests are visible in CloudFront's metrics."),
        ("CKV_AWS_145", "SSE-S3: the files are public through CloudFront anyway; SSE-KMS would need the key "
                        "opened to CloudFront for no gain."))
    resources["ConsoleOriginAccess"] = {"Type": "AWS::CloudFront::OriginAccessControl", "Properties": {
        "OriginAccessControlConfig": {"Name": name(stage.name, "console"), "OriginAccessControlOriginType": "s3",
                                      "SigningBehavior": "always", "SigningProtocol": "sigv4",
                                      "Description": "CloudFront reads the console bucket"}}}
    resources["ConsoleRoutes"] = {"Type": "AWS::CloudFront::Function", "Properties": {
        "Name": name(stage.name, "console-routes"), "AutoPublish": True, "FunctionCode": SPA_ROUTES,
        "FunctionConfig": {"Comment": "deep links to the SPA shell", "Runtime": "cloudfront-js-2.0"}}}
    api_origin = sub("${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}")
    distribution = {
        "Enabled": True, "Comment": f"Stepline {stage.name}: console and API", "HttpVersion": "http2and3",
        "IPV6Enabled": True, "PriceClass": "PriceClass_100", "DefaultRootObject": "index.html",
        "Aliases": if_(HAS_DOMAIN, [ref("ConsoleDomainName")], NO_VALUE),
        "ViewerCertificate": if_(HAS_DOMAIN, {"AcmCertificateArn": ref("ConsoleCertificateArn"),
                                              "SslSupportMethod": "sni-only",
                                              "MinimumProtocolVersion": "TLSv1.2_2021"},
                                 {"CloudFrontDefaultCertificate": True}),
        "Origins": [
            {"Id": "console", "DomainName": att("ConsoleBucket", "RegionalDomainName"),
             "OriginAccessControlId": att("ConsoleOriginAccess", "Id"),
             "S3OriginConfig": {"OriginAccessIdentity": ""}},
            # the API's stage is "api": /api/flows reaches the stage's /api/flows
            {"Id": "api", "DomainName": api_origin, "OriginPath": "/api",
             "CustomOriginConfig": {"OriginProtocolPolicy": "https-only", "OriginSSLProtocols": ["TLSv1.2"]}},
        ],
        "DefaultCacheBehavior": {
            "TargetOriginId": "console", "ViewerProtocolPolicy": "redirect-to-https", "Compress": True,
            "AllowedMethods": ["GET", "HEAD"], "CachePolicyId": CACHING_OPTIMIZED,
            "ResponseHeadersPolicyId": SECURITY_HEADERS,
            "FunctionAssociations": [{"EventType": "viewer-request",
                                      "FunctionARN": att("ConsoleRoutes", "FunctionMetadata.FunctionARN")}]},
        "CacheBehaviors": [
            {"PathPattern": path, "TargetOriginId": "api", "ViewerProtocolPolicy": "https-only", "Compress": True,
             "AllowedMethods": ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"],
             "CachePolicyId": CACHING_DISABLED, "OriginRequestPolicyId": ALL_VIEWER_EXCEPT_HOST,
             "ResponseHeadersPolicyId": SECURITY_HEADERS}
            for path in API_PATHS],
    }
    resources["ConsoleDistribution"] = skip(
        {"Type": "AWS::CloudFront::Distribution", "Properties": {"DistributionConfig": distribution}},
        ("CKV_AWS_68", "No WAF by default (a fixed monthly cost); the API rate-limits per tenant, user and token, "
                       "and API Gateway throttles per stage. Attach a web ACL where policy requires one."),
        ("CKV_AWS_86", "Standard logging needs an ACL-enabled bucket; CloudFront's metrics cover operations."),
        ("CKV_AWS_174", "Without ConsoleDomainName CloudFront's default certificate is used, whose minimum "
                        "protocol it fixes; with a domain, TLSv1.2_2021 is set."),
        ("CKV_AWS_310", "One origin per path set: the API's origin has no sensible failover target."),
        ("CKV_AWS_374", "The console and API are offered worldwide."))
    resources["ConsoleBucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": ref("ConsoleBucket"),
        "PolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Sid": "CloudFrontReads", "Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"},
             "Action": "s3:GetObject", "Resource": sub("${ConsoleBucket.Arn}/*"),
             "Condition": {"StringEquals": {"AWS:SourceArn": sub(
                 "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}")}}},
            {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": [att("ConsoleBucket", "Arn"), sub("${ConsoleBucket.Arn}/*")],
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}
    resources["PublicBaseUrlParameter"] = {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": functions.parameter_name(stage), "Type": "String",
        "Description": f"Stepline {stage.name}: base URL in mails and links (read by the functions at cold start)",
        "Value": if_(HAS_PUBLIC_BASE_URL, ref("PublicBaseUrl"),
                     if_(HAS_DOMAIN, sub("https://${ConsoleDomainName}"),
                         sub("https://${ConsoleDistribution.DomainName}")))}}
    template["Outputs"].update({
        "ConsoleBucketName": {"Value": ref("ConsoleBucket")},
        "ConsoleDistributionId": {"Value": ref("ConsoleDistribution")},
        "ConsoleUrl": {"Value": sub("https://${ConsoleDistribution.DomainName}")},
    })
