#!/usr/bin/env bash
# Where an idle connection's memory goes: build/bench.sh --idle-heap [--conns N] (default 5,000).
# For the echo servers A (ours), H (ours with lean connections: --lean) and B (the built-in), each in a fresh process: open N connections that have each echoed
# one 1-byte message (scenario 5's shape, held by hold.js), run a full compacting GC, take a heap snapshot with
# dotnet-gcdump (a local tool pinned in .config/dotnet-tools.json), and split the objects that exist once or more per
# connection by owner. Writes artifacts/bench/idle-heap.md; every wait is bounded.
set -euo pipefail
# shellcheck source=build/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

conns=5000
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --idle-heap) ;;
    --conns) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "usage: build/bench.sh --idle-heap [--conns N]" >&2; exit 2; }; conns="$2"; shift ;;
    *) echo "usage: build/bench.sh --idle-heap [--conns N]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(ulimit -n)" -lt $((conns + 256)) ]; then
  echo "ulimit -n is $(ulimit -n); $conns connections need at least $((conns + 256))" >&2
  exit 1
fi

echo "building (Release) and restoring dotnet-gcdump..." >&2
dotnet build "$bench/Servers/BenchServers.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
(cd "$root" && timeout 300 dotnet tool restore >/dev/null)
server="$bench/Servers/bin/Release/net10.0/BenchServers"
work="$(mktemp -d)"
SRV_PID="" HOLD_PID=""
cleanup() {
  for pid in $HOLD_PID $SRV_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_IDLE_HEAP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

# measure NAME MODE [SERVER-ARGS...]: the gcdump report of BenchServers --mode MODE with N idle connections, in
# $work/NAME.txt, and its "GC" line (RSS, heap, committed) in $work/NAME.gc
measure() {
  local name="$1" mode="$2" port
  shift 2
  mkfifo "$work/srv-in" "$work/hold-in"
  "$server" --mode "$mode" "$@" < "$work/srv-in" > "$work/srv-out" &
  SRV_PID=$!
  exec 3> "$work/srv-in"
  for _ in $(seq 1 300); do grep -q '^PORT ' "$work/srv-out" 2>/dev/null && break; sleep 0.1; done
  port=$(awk '/^PORT /{print $2}' "$work/srv-out")
  [ -n "$port" ] || { echo "$mode: no PORT line within 30 s" >&2; exit 1; }
  node "$bench/idle-heap/hold.js" "$port" "$conns" < "$work/hold-in" > "$work/hold-out" &
  HOLD_PID=$!
  exec 4> "$work/hold-in"
  for _ in $(seq 1 1200); do grep -q '^OPEN ' "$work/hold-out" 2>/dev/null && break; kill -0 "$HOLD_PID" 2>/dev/null || break; sleep 0.1; done
  grep -q "^OPEN $conns\$" "$work/hold-out" || { echo "$mode: $conns connections did not open within 120 s" >&2; exit 1; }
  echo gc >&3
  for _ in $(seq 1 300); do grep -q '^GC ' "$work/srv-out" && break; sleep 0.1; done
  grep -q '^GC ' "$work/srv-out" || { echo "$mode: no GC reply within 30 s" >&2; exit 1; }
  grep '^GC ' "$work/srv-out" | tail -1 > "$work/$name.gc"
  (cd "$root" && timeout 300 dotnet tool run dotnet-gcdump collect -p "$SRV_PID" -o "$work/$name.gcdump" >/dev/null)
  (cd "$root" && timeout 300 dotnet tool run dotnet-gcdump report "$work/$name.gcdump") > "$work/$name.txt"
  exec 4>&- 3>&-
  wait "$HOLD_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$SRV_PID" 2>/dev/null || true
  wait "$SRV_PID" 2>/dev/null || true
  SRV_PID="" HOLD_PID=""
  rm -f "$work/srv-in" "$work/hold-in" "$work/srv-out" "$work/hold-out"
}

echo "A (ours), $conns connections..." >&2
measure ours ours
echo "H (ours, lean connections), $conns connections..." >&2
measure ours-lean ours --lean
echo "B (built-in), $conns connections..." >&2
measure builtin builtin

# gcdump report rows: "<bytes per object> <count> <type> [assembly]". Types with at least 0.9 x N objects are per
# connection; their bytes / N are split by owner, from the type's name (state machine boxes name the method they run).
split_by_owner() {
  awk -v n="$conns" '
    NR > 4 && $2 ~ /^[0-9,]+$/ {
      b = $1; c = $2; gsub(",", "", b); gsub(",", "", c)
      if (c + 0 < 0.9 * n) next
      t = $3
      if (t ~ /AspNetWebSockets\.Transport\.Linux|AspNetWebSockets\.Hosting\.Lean/) o = "our epoll transport (lean connections)"
      else if (t ~ /AspNetWebSockets|SendLocks|WaiterQueue|ReadAllAsync|ReceiveIntoSlowAsync|WebSocket|Program\+|BuiltinEcho|System\.Byte\[\]/) o = "WebSocket layer, handler and their buffers"
      else if (t ~ /DependencyInjection/) o = "dependency-injection scope (request or connection services)"
      else if (t ~ /Kestrel\.Core|AspNetCore\.Http|AspNetCore\.Hosting|AspNetCore\.Routing|StringValues|HostingApplication/) o = "Kestrel HTTP/1.1 and the request"
      else if (t ~ /Sockets|Pipelines|Kestrel\.Transport|MemoryPool|IPAddress|IPEndPoint|Net\.Sockets/) o = "Kestrel socket transport"
      else o = "runtime (locks, tasks, cancellation, strings)"
      owner[o] += b * c / n; total += b * c / n
    }
    END { for (o in owner) printf "%s\t%.0f\n", o, owner[o]; printf "total\t%.0f\n", total }' "$work/$1.txt"
}
split_by_owner ours > "$work/a.split"
split_by_owner ours-lean > "$work/h.split"
split_by_owner builtin > "$work/b.split"
# The whole process after the GC, from its "GC <rss> <heap> committed=..." line (not per connection: the split above is).
gc_field() { awk -v f="$2" '{ if (f == "rss") v = $2; else if (f == "heap") v = $3; else for (i = 4; i <= NF; i++) if ($i ~ "^" f "=") { v = $i; sub(/^[a-z]+=/, "", v) } } END { printf "%.1f", v / 1048576 }' "$work/$1.gc"; }

report="$out/idle-heap.md"
{
  echo "# Where an idle connection's memory goes"
  echo
  echo "\`build/bench.sh --idle-heap --conns $conns\`, $(date -u '+%Y-%m-%d %H:%M UTC'), .NET SDK $(dotnet --version)."
  echo "Each connection has echoed one 1-byte message. Managed bytes per connection, after a full compacting GC, of the"
  echo "types with at least 0.9 × N objects (scenario 5 of build/bench.sh measures the RSS and heap deltas)."
  echo
  echo "| | A ours | H ours, lean | B built-in |"
  echo "|---|---:|---:|---:|"
  cell() { local v; v=$(awk -F'\t' -v o="$2" '$1 == o {print $2}' "$work/$1.split"); echo "${v:-0}"; }
  for o in "Kestrel HTTP/1.1 and the request" "dependency-injection scope (request or connection services)" "Kestrel socket transport" "our epoll transport (lean connections)" "runtime (locks, tasks, cancellation, strings)" "WebSocket layer, handler and their buffers" total; do
    echo "| per-connection objects: $o | $(cell a "$o") | $(cell h "$o") | $(cell b "$o") |"
  done
  for f in rss heap committed; do
    echo "| whole process after the GC: $f (MiB) | $(gc_field ours "$f") | $(gc_field ours-lean "$f") | $(gc_field builtin "$f") |"
  done
  echo
  echo "What each lean connection (H) still holds, type by type (bytes per connection, largest first; objects per connection):"
  echo
  echo "| type | objects per connection | bytes per connection |"
  echo "|---|---:|---:|"
  awk -v n="$conns" 'NR > 4 && $2 ~ /^[0-9,]+$/ {
      b = $1; c = $2; gsub(",", "", b); gsub(",", "", c)
      if (c + 0 >= 0.9 * n) printf "%.0f\t%.2f\t%s\n", b * c / n, c / n, $3
    }' "$work/ours-lean.txt" | sort -rn | awk -F'\t' '{ t = $3; gsub(/\|/, "\\|", t); printf "| `%s` | %s | %s |\n", t, $2, $1 }'
} > "$report"
cat "$report"
echo "wrote $report" >&2
