"""The local runtime: runs the Chalice app's functions on this machine.

Not shipped to AWS. It starts PostgreSQL and the AWS emulator when needed and
invokes the *same* handlers with API Gateway-, SQS- and EventBridge-shaped
events, so what works here works on Lambda.
"""
