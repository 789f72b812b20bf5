"""``python -m bench``: every benchmark; ``python -m bench throughput``: that one alone.

The figures other than throughput run against one throwaway local stack; the
throughput benchmark starts the stack as ``make up`` runs it (``bench/throughput.py``).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:] == ["throughput"]:
        from bench import throughput

        throughput.main()
        return
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # figures, not request logs
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no EMF lines between the figures
    # The benchmarks measure the platform, not its per-principal API rate limit (one token drives them all).
    os.environ.setdefault("LIMITS_API_BURST", "1000000")
    os.environ.setdefault("LIMITS_API_PER_SECOND", "1000000")
    os.environ.setdefault("LIMITS_MAX_WORKFLOWS", "1000000")
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
    from bench import throughput

    throughput.main()


if __name__ == "__main__":
    main()
