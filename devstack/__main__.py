"""``python -m devstack up | migrate | seed | reset``: the local platform in one command.

``migrate``, ``seed`` and ``reset`` work beside a running ``up``: they use its
database (see ``stack.attach``) and leave it running.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from devstack import stack as stack_mod
from devstack.worker import POLL_WAIT_SECONDS


def _up(args: argparse.Namespace) -> int:
    os.environ.setdefault("LOG_FORMAT", "console")
    # EMF metrics are printed for CloudWatch to pick up; locally nobody reads them (GET /api/metrics reads the DB).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("STAGE", "local")
    # Each process stands in for many Lambda containers: enough pooled connections for every poller
    # thread (step workers) or concurrent request (the API: the gateway admits no more at once).
    os.environ.setdefault("DB_POOL_SIZE", "32")
    os.environ.setdefault("STEP_BATCH_CONCURRENCY", "4")
    # Without AWS_ENDPOINT_URL (LocalStack) the step doorbells live in PostgreSQL: the embedded queue
    # (chalicelib/adapters/pg_queue.py) instead of the emulator's SQS, a round trip and a commit cheaper.
    if not os.environ.get("AWS_ENDPOINT_URL"):
        os.environ.setdefault("STEP_QUEUE_BACKEND", "postgres")
    os.environ["PORT"] = str(args.port)  # links (mail, webhooks, OAuth2 redirect) follow the port served
    running = None if args.throwaway else stack_mod.running_state()
    if running:
        print(f"A local stack of this checkout is already running (pid {running['pid']}, "
              f"http://127.0.0.1:{running['port']}); stop it first (Ctrl-C in its terminal).", file=sys.stderr)
        return 1
    print("Stepline local stack: starting …", flush=True)
    # --throwaway (the console's browser tests): a fresh database on free ports, removed on stop.
    stack = stack_mod.bring_up(throwaway=args.throwaway, pg_port=None if args.throwaway else args.pg_port,
                               moto_port=None if args.throwaway else args.moto_port)
    stack.apply()
    from devstack.console_files import ConsoleFiles
    from devstack.runtime import LocalRuntime

    runtime = LocalRuntime(endpoint_url=stack.env["AWS_ENDPOINT_URL"], region=stack.env["AWS_DEFAULT_REGION"],
                           host=args.host, port=args.port, workers=args.workers,
                           worker_processes=args.worker_processes, poll_wait_seconds=POLL_WAIT_SECONDS,
                           api_processes=args.api_processes,
                           console=None if args.no_console else ConsoleFiles())
    try:
        if args.seed:
            _seed_if_possible()
        stack.started.append(_rewrap())
        runtime.start()
        if not args.throwaway:  # a throwaway stack (browser tests) may run beside make up
            stack_mod.write_state(port=args.port, env=stack.env)
    except BaseException:
        runtime.stop()
        stack.stop(destroy_database=args.throwaway)
        raise
    print("\n".join(["Started:"] + [f"  {line}" for line in stack.started + runtime.describe()]), flush=True)
    if not args.no_console:
        print(f"Console: http://{args.host}:{args.port}/  (sign in as owner@acme.test)", flush=True)
    print(f"Ready: curl http://{args.host}:{args.port}/health  —  Ctrl-C stops everything.", flush=True)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    print("\nStopping …", flush=True)
    runtime.stop()
    if not args.throwaway:
        stack_mod.clear_state()
    stack.stop(destroy_database=args.throwaway)
    print("Stopped.", flush=True)
    return 0


def _rewrap() -> str:
    """Move every sealed secret to the current key-encryption key (after a switch of keys)."""
    import app  # noqa: F401
    from chalicelib.services.connectors import secrets_box  # loaded only by this command (start-up cost)

    reports = secrets_box.rewrap_all()
    moved = sum(r.rewrapped for r in reports.values())
    failed = sum(len(r.failed) for r in reports.values())
    line = f"Sealed secrets  {sum(r.checked for r in reports.values())} checked, {moved} re-wrapped"
    return line + (f", {failed} not readable with the configured keys" if failed else "")


def _seed_if_possible() -> None:
    import app  # noqa: F401  (app.py boots the container: its demo seeders)
    from chalicelib.services import demo  # loaded only by the commands that seed (start-up cost)

    demo.seed_if_empty()


def _migrate(args: argparse.Namespace) -> int:
    url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        stack_mod.run_migrations(url if "+pg8000" in url else url.replace("postgresql://", "postgresql+pg8000://"))
        print("Migrations at head.")
        return 0
    stack = stack_mod.attach(pg_port=args.pg_port)  # migrates; beside a running `make up` too
    stack.stop()
    print("Migrations at head (local cluster).")
    return 0


def _with_database(action, args: argparse.Namespace):
    """Run ``action`` against the local database: the running ``make up``'s, or one started for this command."""
    stack = stack_mod.attach(pg_port=args.pg_port)
    stack.apply()
    try:
        return action()
    finally:
        if not os.environ.get("STEPLINE_KEEP_DB"):
            stack.stop()  # stops only a cluster this command started


def _seed(args: argparse.Namespace) -> int:
    import app  # noqa: F401  (app.py boots the container: its demo seeders)
    from chalicelib.services import demo  # loaded only by the commands that seed (start-up cost)

    created = _with_database(demo.seed_if_empty, args)
    print("Demo data created." if created else "Demo data already present (make reset to start over).")
    return 0


def _reset(args: argparse.Namespace) -> int:
    import app  # noqa: F401  (app.py boots the container: its demo seeders)
    from chalicelib.services import demo  # loaded only by the commands that seed (start-up cost)

    result = _with_database(demo.reset, args)
    print(f"Reset done: business data purged, demo tenants reseeded {sorted(result['tenants'])}, "
          "every session invalidated.")
    return 0


def _rewrap_command(args: argparse.Namespace) -> int:
    print(_with_database(_rewrap, args))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["up", "migrate", "seed", "reset", "rewrap"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("STEPLINE_PG_PORT", "54320")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("STEPLINE_MOTO_PORT", "54321")))
    parser.add_argument("--workers", type=int, default=8,
                        help="concurrent invocations per queue (in each step-worker process if any; each handles its "
                             "batch with STEP_BATCH_CONCURRENCY threads, 4 by default here)")
    parser.add_argument("--worker-processes", type=int,
                        default=int(os.environ.get("STEPLINE_WORKER_PROCESSES") or 0),
                        help="step-worker processes beside the API's (STEPLINE_WORKER_PROCESSES); 0 (the "
                             "default) runs the pollers in the API's process")
    parser.add_argument("--api-processes", type=int, default=None,
                        help="processes serving the HTTP API (STEPLINE_API_PROCESSES; default: one per core from 3 "
                             "cores up, else 0); 0 serves it from threads of the runtime's own process")
    parser.add_argument("--no-seed", dest="seed", action="store_false")
    parser.add_argument("--no-console", action="store_true", help="do not serve the web console at /")
    parser.add_argument("--throwaway", action="store_true",
                        help="(up) a fresh database and emulator on free ports, removed on stop")
    args = parser.parse_args(argv)
    if args.api_processes is None:
        from devstack.gateway import default_processes

        args.api_processes = default_processes()
    return {"up": _up, "migrate": _migrate, "seed": _seed, "reset": _reset,
            "rewrap": _rewrap_command}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
