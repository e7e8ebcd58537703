#!/usr/bin/env bash
# The .NET floor for an idle connection: build/bench/idle-floor/run.sh [--conns N] (default 10,000).
# For each way of holding an accepted socket idle (Program.cs: epoll, none, saea, async), in a fresh process: measure, open N
# plain TCP connections from Node (../idle-heap/hold.js --tcp), wait until all are accepted, measure again; prints the RSS and managed heap
# per connection. It bounds what a lean WebSocket driver (issue 15) can reach on .NET before any WebSocket state.
# Every wait is bounded.
set -euo pipefail
# shellcheck source=build/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh" # raises the descriptor limit
conns=10000
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --conns) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: run.sh [--conns N]" >&2; exit 2; }; conns="$2"; shift ;;
    *) echo "usage: run.sh [--conns N]" >&2; exit 2 ;;
  esac
  shift
done
here="$bench/idle-floor"
dotnet build "$here/IdleFloor.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
bin="$here/bin/Release/net10.0/IdleFloor"

echo "| mode | connections | RSS per connection (B) | managed heap per connection (B) |"
echo "|---|---:|---:|---:|"
for mode in epoll none saea async; do
  coproc SERVER { "$bin" --mode "$mode"; }
  read -r -t 30 -u "${SERVER[0]}" _ port
  echo measure >&"${SERVER[1]}"
  read -r -t 60 -u "${SERVER[0]}" _ _ rss0 heap0
  holder_in="$(mktemp -u)"; mkfifo "$holder_in"
  node "$bench/idle-heap/hold.js" "$port" "$conns" --tcp <"$holder_in" >"$holder_in.out" &
  holder=$!
  exec {keep}>"$holder_in" # keeps the holder's stdin open until we are done
  for _ in $(seq 600); do grep -q '^OPEN' "$holder_in.out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^OPEN' "$holder_in.out" || { echo "holder did not open $conns connections" >&2; exit 1; }
  accepted=0 rss=0 heap=0
  for _ in $(seq 60); do
    echo measure >&"${SERVER[1]}"
    read -r -t 60 -u "${SERVER[0]}" _ accepted rss heap
    [ "$accepted" -ge "$conns" ] && break
    sleep 0.5
  done
  echo "| $mode | $accepted | $(( (rss - rss0) / accepted )) | $(( (heap - heap0) / accepted )) |"
  exec {keep}>&-
  wait "$holder" || true
  rm -f "$holder_in" "$holder_in.out"
  echo quit >&"${SERVER[1]}"
  wait "$SERVER_PID" || true
done
