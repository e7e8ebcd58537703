#!/usr/bin/env bash
# Starts the Redis server the Redis backplane tests use: 127.0.0.1:${REDIS_TEST_PORT:-6390}, daemonized, no persistence.
# Idempotent: installs Debian's redis-server if missing, does nothing if that port already answers PING.
# Stop it with: redis-cli -p 6390 shutdown nosave
set -euo pipefail
port="${REDIS_TEST_PORT:-6390}"

if ! command -v redis-server >/dev/null 2>&1; then
  echo "start-redis: installing redis-server (apt)"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi

if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
  echo "start-redis: already running on 127.0.0.1:$port"
  exit 0
fi

echo "start-redis: starting redis-server on 127.0.0.1:$port (no persistence)"
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --daemonize yes \
  --dir /tmp --pidfile "/tmp/redis-test-$port.pid" --logfile "/tmp/redis-test-$port.log"

for _ in $(seq 1 50); do
  if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
    echo "start-redis: ready; REDIS_TEST_ENDPOINT=127.0.0.1:$port"
    exit 0
  fi
  sleep 0.1
done
echo "start-redis: redis-server did not answer on 127.0.0.1:$port (see /tmp/redis-test-$port.log)" >&2
exit 1
