#!/usr/bin/env bash
# Starts the Redis server the Redis backplane tests use: 127.0.0.1:${REDIS_TEST_PORT:-6390}, daemonized, no persistence.
# Idempotent: installs Debian's redis-server if missing, does nothing if that port already answers PING.
#
#   build/start-redis.sh [--started-file FILE]
#
# --started-file FILE: when this run starts Redis, writes the server's process id to FILE; when Redis was already
# running (someone else's), removes FILE. A caller stops only a Redis it started (build/test.sh does):
#   pid=$(cat FILE) && [ "$(redis-cli -p 6390 info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p')" = "$pid" ] \
#     && redis-cli -p 6390 shutdown nosave
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
started_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --started-file)
      [ $# -ge 2 ] && [ -n "$2" ] || { echo "start-redis.sh: --started-file needs a file name" >&2; exit 2; }
      started_file="$2"; shift ;;
    *) echo "start-redis.sh: unknown argument $1 (--help prints usage)" >&2; exit 2 ;;
  esac
  shift
done
[ -z "$started_file" ] || rm -f "$started_file"
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
    if [ -n "$started_file" ]; then
      redis-cli -h 127.0.0.1 -p "$port" info server | sed -n 's/^process_id:\([0-9]*\).*/\1/p' > "$started_file"
    fi
    exit 0
  fi
  sleep 0.1
done
echo "start-redis: redis-server did not answer on 127.0.0.1:$port (see /tmp/redis-test-$port.log)" >&2
exit 1
