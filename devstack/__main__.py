"""``python -m devstack up | migrate``: the local platform in one command."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from devstack import stack as stack_mod


def _up(args: argparse.Namespace) -> int:
    os.environ.setdefault("LOG_FORMAT", "console")
    # EMF metrics are printed for CloudWatch to pick up; locally nobody reads them (GET /api/metrics reads the DB).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("STAGE", "local")
    print("Stepline local stack: starting …", flush=True)
    # --throwaway (the console's browser tests): a fresh database on free ports, removed on stop.
    stack = stack_mod.bring_up(throwaway=args.throwaway, pg_port=None if args.throwaway else args.pg_port,
                               moto_port=None if args.throwaway else args.moto_port)
    stack.apply()
    from devstack.console_files import ConsoleFiles
    from devstack.runtime import LocalRuntime

    runtime = LocalRuntime(endpoint_url=stack.env["AWS_ENDPOINT_URL"], region=stack.env["AWS_DEFAULT_REGION"],
                           host=args.host, port=args.port, workers=args.workers,
                           console=None if args.no_console else ConsoleFiles())
    try:
        if args.seed:
            _seed_if_possible()
        runtime.start()
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
    stack.stop(destroy_database=args.throwaway)
    print("Stopped.", flush=True)
    return 0


def _seed_if_possible() -> None:
    import app  # noqa: F401  (every area registers its demo seeder on import)
    from chalicelib.services import demo

    demo.seed_if_empty()


def _migrate(args: argparse.Namespace) -> int:
    url = os.environ.get("MIGRATION_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        stack_mod.run_migrations(url if "+pg8000" in url else url.replace("postgresql://", "postgresql+pg8000://"))
        print("Migrations at head.")
        return 0
    stack = stack_mod.bring_up(throwaway=False, pg_port=args.pg_port, moto_port=args.moto_port)
    stack.stop()
    print("Migrations at head (local cluster).")
    return 0


def _with_database(action):
    """Run ``action`` against the local database (``make up``'s cluster, or DATABASE_URL)."""
    stack = stack_mod.bring_up(throwaway=False, pg_port=int(os.environ.get("STEPLINE_PG_PORT", "54320")),
                               moto_port=None)
    stack.apply()
    try:
        return action()
    finally:
        if stack.cluster is not None and not os.environ.get("STEPLINE_KEEP_DB"):
            stack.stop()


def _seed(args: argparse.Namespace) -> int:
    import app  # noqa: F401  (every area registers its demo seeder on import)
    from chalicelib.services import demo

    created = _with_database(demo.seed_if_empty)
    print("Demo data created." if created else "Demo data already present (make reset to start over).")
    return 0


def _reset(args: argparse.Namespace) -> int:
    import app  # noqa: F401  (every area registers its demo seeder on import)
    from chalicelib.services import demo

    result = _with_database(demo.reset)
    print(f"Reset done: business data purged, demo tenants reseeded {sorted(result['tenants'])}, "
          "every session invalidated.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack")
    parser.add_argument("command", choices=["up", "migrate", "seed", "reset"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--pg-port", type=int, default=int(os.environ.get("STEPLINE_PG_PORT", "54320")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("STEPLINE_MOTO_PORT", "54321")))
    parser.add_argument("--workers", type=int, default=4, help="concurrent step invocations per queue")
    parser.add_argument("--no-seed", dest="seed", action="store_false")
    parser.add_argument("--no-console", action="store_true", help="do not serve the web console at /")
    parser.add_argument("--throwaway", action="store_true",
                        help="(up) a fresh database and emulator on free ports, removed on stop")
    args = parser.parse_args(argv)
    return {"up": _up, "migrate": _migrate, "seed": _seed, "reset": _reset}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
