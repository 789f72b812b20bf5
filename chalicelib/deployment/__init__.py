"""What a deployment does once per release, before the new code serves: the migration function.

``handler.handler`` is a plain Lambda handler (not a Chalice route) run by the
stack as a CloudFormation custom resource on every create and update, or
invoked directly by an operator. It fills the secrets a template cannot
generate, keeps the application's database role in step with its secret, and
runs the Alembic migrations shipped in the same package. Every part is
idempotent.
"""
