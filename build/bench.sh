#!/usr/bin/env bash
# Side-by-side WebSocket echo benchmark (see build/bench/README.md).
#   build/bench.sh            full run: 3 interleaved rounds of A B C per scenario (~5-8 min), writes artifacts/bench/results.md
#   build/bench.sh --quick    smoke run: 1 round, short durations, 1,000 idle connections
#   build/bench.sh --micro    BenchmarkDotNet micro-benchmarks of the protocol core (short job)
#   build/bench.sh --broadcast  one message to 1,000 and 10,000 connections: ours, built-in, Node's ws, measured by the
#                             C epoll client (--rounds N --conns 1000,10000 --sizes 64,4096 --quick); artifacts/bench/broadcast.md
#   build/bench.sh --client c   the echo scenarios 1, 2, 3, 6 with the C epoll client instead of the C# LoadGen
#                             (--scenarios --rounds --warmup --duration --quick); artifacts/bench/results-c.md
# Both are driven by build/bench/epoll-client/run.sh.
#   build/bench.sh --idle-heap [--conns N]  where an idle connection's managed memory goes, ours and the built-in, by
#                             owner (Kestrel HTTP, socket transport, runtime, WebSocket layer), from dotnet-gcdump
#                             snapshots; build/bench/idle-heap/run.sh, artifacts/bench/idle-heap.md
# Any other arguments go to the load generator, e.g. --scenarios 1,3 --rounds 5 --duration 5 --idle 2000.
set -euo pipefail
# shellcheck source=build/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

# The broadcast benchmark and the C-client echo run have their own driver (a C client, and a Node server for broadcast).
prev=""
for a in "$@"; do
  if [ "$a" = --broadcast ]; then exec "$root/build/bench/epoll-client/run.sh" broadcast "$@"; fi
  if [ "$a" = --idle-heap ]; then exec "$root/build/bench/idle-heap/run.sh" "$@"; fi
  if [ "$prev" = --client ] && [ "$a" = c ]; then exec "$root/build/bench/epoll-client/run.sh" echo "$@"; fi
  prev="$a"
done

micro=0
args=()
for a in "$@"; do
  case "$a" in
    --micro) micro=1 ;;
    *) args+=("$a") ;;
  esac
done


if [ "$micro" = 1 ]; then
  cd "$out"
  # All benchmarks unless the caller names some (BenchmarkDotNet refuses two --filter options).
  filter=(--filter '*')
  for a in ${args[@]+"${args[@]}"}; do
    case "$a" in --filter|-f) filter=() ;; esac
  done
  dotnet run -c Release --project "$root/test/AspNetWebSockets.Benchmarks/AspNetWebSockets.Benchmarks.csproj" -- \
    --job short ${filter[@]+"${filter[@]}"} --artifacts "$out/micro" ${args[@]+"${args[@]}"}
  exit 0
fi

echo "building (Release)..." >&2
dotnet build "$bench/Servers/BenchServers.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
dotnet build "$bench/LoadGen/LoadGen.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2

server="$bench/Servers/bin/Release/net10.0/BenchServers"
[ -x "$server" ] || server="$server.dll"
echo "ulimit -n $(ulimit -n); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
dotnet "$bench/LoadGen/bin/Release/net10.0/LoadGen.dll" --server "$server" --out "$out/results.md" ${args[@]+"${args[@]}"}
