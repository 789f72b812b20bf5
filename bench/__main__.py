"""``python -m bench``: every benchmark against one throwaway local stack."""

from __future__ import annotations

import os


def main() -> None:
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # figures, not request logs
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines between the figures
    import boto3

    from bench import engine, expressions, foundation, triggers
    from bench.harness import local_stack

    with local_stack() as (stack, runtime):
        env = stack.env
        sqs = boto3.session.Session().client("sqs", region_name=env["AWS_DEFAULT_REGION"],
                                             endpoint_url=env["AWS_ENDPOINT_URL"])
        queue_url = sqs.get_queue_url(QueueName=env["STEP_QUEUE_NAME"])["QueueUrl"]
        foundation.api_health(runtime.gateway.url)
        foundation.api_authenticated_read(runtime.gateway.url)
        foundation.queue_round_trip(sqs, queue_url)
        engine.run_all(sqs)
        expressions.run_all()
        triggers.run_all(runtime.gateway.url)


if __name__ == "__main__":
    main()
