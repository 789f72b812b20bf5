#!/usr/bin/env bash
# LocalStack on the host, without Docker (see DESIGN.md facts): start | stop | foreground.
# Needs LS_PYTHON (the interpreter of the LocalStack virtualenv) for start/foreground.
set -euo pipefail
cmd=${1:-start}
port=${LS_PORT:-4566}
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.local/localstack"
pidfile="$state/localstack.pid"
url="http://127.0.0.1:$port"
mkdir -p "$state/fs"

healthy() { curl -fsS -m 2 "$url/_localstack/health" >/dev/null 2>&1; }

# GATEWAY_SERVER=hypercorn: LocalStack's default (twisted) server ignores the host of GATEWAY_LISTEN for
# IPv4 and listens on 0.0.0.0; hypercorn binds exactly the address given. Checked after start (bindings.py).
export GATEWAY_LISTEN="127.0.0.1:$port" GATEWAY_SERVER=hypercorn EDGE_BIND_HOST=127.0.0.1 OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$state/fs" DNS_ADDRESS=0 \
       SKIP_SSL_CERT_DOWNLOAD=1 DISABLE_EVENTS=1 LOCALSTACK_TELEMETRY_DISABLED=1 SERVICES="sqs,kms,events,secretsmanager,ses,ssm,s3" \
       EAGER_SERVICE_LOADING=0 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test

case "$cmd" in
  foreground)
    echo "LocalStack on $url (Ctrl-C stops it)"
    "$LS_PYTHON" -m localstack.runtime.main &
    pid=$!
    trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
    for _ in $(seq 1 120); do healthy && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if healthy && ! python3 "$root/devstack/bindings.py" "$pid"; then
      echo "LocalStack listens beyond loopback (GATEWAY_LISTEN=$GATEWAY_LISTEN); stopping it."
      kill -TERM "$pid"; wait "$pid"; exit 1
    fi
    wait "$pid" ;;
  start)
    if healthy; then echo "LocalStack already answers on $url (left running)"; exit 0; fi
    setsid "$LS_PYTHON" -m localstack.runtime.main >"$state/localstack.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      if healthy; then
        # Every local service listens on loopback only: refuse (and stop) a LocalStack reachable from outside.
        if ! python3 "$root/devstack/bindings.py" "$(cat "$pidfile")" >"$state/bindings.txt"; then
          echo "LocalStack listens beyond loopback (GATEWAY_LISTEN=$GATEWAY_LISTEN); stopping it:"
          grep "NOT LOOPBACK" "$state/bindings.txt"
          "$0" stop; exit 1
        fi
        echo "LocalStack started on $url (pid $(cat "$pidfile"), loopback only)"; exit 0
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
      sleep 0.5
    done
    echo "LocalStack did not become healthy; last log lines:"; tail -n 30 "$state/localstack.log"; exit 1 ;;
  stop)
    if [ -f "$pidfile" ]; then
      pid=$(cat "$pidfile")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "$pidfile"
      echo "LocalStack stopped"
    fi ;;
  *) echo "usage: $0 start|stop|foreground"; exit 2 ;;
esac
