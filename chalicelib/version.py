"""The platform version reported by /health and the OpenAPI document."""

VERSION = "0.1.0"
