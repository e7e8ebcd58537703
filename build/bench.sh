#!/usr/bin/env bash
# Side-by-side WebSocket benchmarks (see build/bench/README.md). Arguments are checked before anything is built.
#
#   build/bench.sh [--quick] [--scenarios 1,3,...] [--rounds N] [--warmup S] [--duration S]
#                  [--handshake-duration S] [--idle N[,N...]] [--global-warmup S] [--servers LIST]
#       the echo servers A (ours), E (ours in the event-loop mode), B (ASP.NET Core's built-in), C (raw Kestrel TCP)
#       and D (Bun; not in scenario 7) with the C# load generator, scenarios 1-7, 3 interleaved rounds
#       (~8-12 min); writes artifacts/bench/results.md. --quick: 1 round, short runs, 1,000 idle connections.
#       --idle: scenario 5's connection counts, a fresh server for each (default 10000; at most ulimit -n less 512:
#       19000 where one process may hold 20,000 descriptors). --servers: from ours, ours-el, ours-lean (H, lean
#       connections), ours-lean-el (I), ours-lean-wks (J, H with the workstation GC), builtin, rawtcp, bun, ws (W,
#       Node's ws), in round order, e.g. issue 15's
#       --scenarios 4,5 --idle 10000,19000 --servers ours,ours-lean,builtin,ws,bun
#   build/bench.sh --client c [--quick] [--scenarios 1,2,3,6] [--rounds N] [--warmup S] [--duration S] [--servers LIST]
#       the echo scenarios 1, 2, 3 and 6 with the C epoll client; by default against A (ours), E (ours, event-loop
#       mode), B, C, F (raw TCP with inline scheduling and inline socket completions) and D (Bun's Bun.serve, built on
#       uWebSockets), interleaved in every round; artifacts/bench/results-c.md
#   build/bench.sh --broadcast [--quick] [--rounds N] [--conns 1000,10000] [--sizes 64,4096] [--servers LIST]
#       one message to 1,000 and 10,000 connections: ours, ours in the event-loop mode, built-in, Node's ws, Bun (one
#       topic, ws.publish), measured by the C epoll client; artifacts/bench/broadcast.md (the C client's modes run
#       through build/bench/epoll-client/run.sh)
#   --servers LIST (C-client modes): which servers run, in this order, comma-separated, from ours, ours-el (event
#       loop), ours-lean (H, lean connections), ours-lean-el (I, lean + event loop), ours-spin0
#       (DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0; echo), builtin, rawtcp, rawtcp-inline (echo), ws (broadcast),
#       bun. Defaults: echo ours,ours-el,builtin,rawtcp,rawtcp-inline,bun; broadcast
#       ours,ours-el,builtin,ws,bun.
#   build/bench.sh --idle-heap [--conns N]
#       where an idle connection's managed memory goes, ours, ours with lean connections and the built-in, by owner,
#       from dotnet-gcdump snapshots;
#       build/bench/idle-heap/run.sh, artifacts/bench/idle-heap.md
#   build/bench.sh --micro [--filter PATTERN] [-- BENCHMARKDOTNET-ARGS...]
#       BenchmarkDotNet micro-benchmarks of the protocol core (short job); artifacts/bench/micro/
#   build/bench.sh --help
#
# S is seconds (decimals allowed), N a whole number. BENCH_SERVER_ARGS (environment) is appended to every .NET
# server's command line in the C-client modes (see build/bench/epoll-client/run.sh). The echo and broadcast modes
# install Bun from npm on first use, pinned (@oven/bun-linux-x64@1.4.4), into artifacts/bench/bun/; no global install.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
fail_usage() { echo "bench.sh: $*" >&2; echo "Run build/bench.sh --help for usage." >&2; exit 2; }

# Parse and check every argument here, before anything is built: the drivers and the load generator would only
# reject a mistake after a Release build.
mode=echo client=cs idle=""
seen=()
micro_args=()
is_whole() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
is_seconds() { [[ "$1" =~ ^([0-9]+([.][0-9]*)?|[.][0-9]+)$ ]]; }
is_list() { [[ "$1" =~ ^[0-9]+(,[0-9]+)*$ ]]; }
set_mode() {
  if [ "$mode" != echo ] && [ "$mode" != "$1" ]; then fail_usage "--$mode and --$1 cannot be combined"; fi
  mode="$1"
}
args=("$@")
# value: the argument after option $a into $v (and step over it).
value() {
  if [ $((i + 1)) -ge ${#args[@]} ]; then fail_usage "$a needs a value"; fi
  v="${args[$((i + 1))]}"
  i=$((i + 1))
}
i=0
while [ $i -lt ${#args[@]} ]; do
  a="${args[$i]}"
  case "$a" in
    -h|--help) usage; exit 0 ;;
    --quick) seen+=(quick) ;;
    --micro) set_mode micro ;;
    --broadcast) set_mode broadcast ;;
    --idle-heap) set_mode idle-heap ;;
    --client)
      value
      case "$v" in c) client=c ;; cs) client=cs ;; *) fail_usage "--client is c (the C epoll client) or cs (the C# load generator, the default)" ;; esac ;;
    --scenarios) value; is_list "$v" || fail_usage "--scenarios needs numbers separated by commas, e.g. 1,3"; seen+=(scenarios); scenarios="$v" ;;
    --conns) value; is_list "$v" || fail_usage "--conns needs a number or numbers separated by commas"; seen+=(conns); conns="$v" ;;
    --sizes) value; is_list "$v" || fail_usage "--sizes needs byte counts separated by commas, e.g. 64,4096"; seen+=(sizes) ;;
    --rounds) value; is_whole "$v" || fail_usage "$a needs a whole number above 0"; seen+=("${a#--}") ;;
    --idle) value; [[ "$v" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || fail_usage "--idle needs connection counts separated by commas, e.g. 10000,19000"; seen+=(idle); idle="$v" ;;
    --warmup|--duration|--handshake-duration|--global-warmup)
      value; is_seconds "$v" || fail_usage "$a needs a number of seconds"; seen+=("${a#--}") ;;
    --filter) value; seen+=(filter) ;;
    --servers) value; [[ "$v" =~ ^[a-z0-9-]+(,[a-z0-9-]+)*$ ]] || fail_usage "--servers needs server names separated by commas"; seen+=(servers); servers="$v" ;;
    --) micro_args=("${args[@]:$((i + 1))}"); seen+=(passthrough); break ;;
    *) fail_usage "unknown argument $a" ;;
  esac
  i=$((i + 1))
done
if [ "$client" = c ]; then
  [ "$mode" = echo ] || fail_usage "--client c runs the echo scenarios; it cannot be combined with --$mode"
  mode=client-c
fi

# Which options each mode takes, and the scenario numbers it knows.
case "$mode" in
  echo) allowed="quick scenarios rounds warmup duration handshake-duration idle global-warmup servers"; known_scenarios="1 2 3 4 5 6 7"
    known_servers="ours ours-el ours-lean ours-lean-el ours-lean-wks builtin rawtcp bun ws" ;;
  client-c) allowed="quick scenarios rounds warmup duration servers"; known_scenarios="1 2 3 6"
    known_servers="ours ours-el ours-lean ours-lean-el ours-spin0 builtin rawtcp rawtcp-inline bun" ;;
  broadcast) allowed="quick rounds conns sizes servers"; known_servers="ours ours-el ours-lean ours-lean-el builtin ws bun" ;;
  idle-heap) allowed="conns" ;;
  micro) allowed="filter passthrough" ;;
esac
for o in ${seen[@]+"${seen[@]}"}; do
  case " $allowed " in *" $o "*) ;; *)
    if [ "$o" = passthrough ]; then fail_usage "'--' (arguments for BenchmarkDotNet) only goes with --micro"; fi
    fail_usage "--$o does not apply to the ${mode} benchmark" ;;
  esac
done
if [ -n "${scenarios:-}" ]; then
  for s in ${scenarios//,/ }; do
    case " $known_scenarios " in *" $s "*) ;; *) fail_usage "no scenario $s in this mode (known: $known_scenarios)" ;; esac
  done
fi
if [ -n "${servers:-}" ]; then
  for s in ${servers//,/ }; do
    case " $known_servers " in *" $s "*) ;; *) fail_usage "no server $s in the ${mode} benchmark (known: $known_servers)" ;; esac
  done
fi
if [ "$mode" = idle-heap ] && [ -n "${conns:-}" ] && ! is_whole "$conns"; then
  fail_usage "--idle-heap takes one connection count (--conns N)"
fi

# shellcheck source=build/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/bench/common.sh"

# The broadcast benchmark, the C-client echo run and the idle-heap split have their own drivers.
case "$mode" in
  broadcast) exec "$root/build/bench/epoll-client/run.sh" broadcast "$@" ;;
  client-c) exec "$root/build/bench/epoll-client/run.sh" echo "$@" ;;
  idle-heap) exec "$root/build/bench/idle-heap/run.sh" "$@" ;;
esac

micro=0
args=()
if [ "$mode" = micro ]; then
  micro=1
  skip=0
  for a in "$@"; do
    if [ "$skip" = 0 ]; then
      case "$a" in --micro) continue ;; --) skip=1; continue ;; esac
    fi
    args+=("$a")
  done
else
  # The load generator takes the rest; "--client cs" only named it.
  prev=""
  for a in "$@"; do
    if [ "$a" = --client ]; then prev="$a"; continue; fi
    if [ "$prev" = --client ]; then prev=""; continue; fi
    args+=("$a")
  done
fi

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
ensure_bun
case ",${servers:-}," in *,ws,*) ensure_ws ;; esac
# The idle counts must fit this shell's descriptor limit (the load generator and each server hold one per connection).
for n in ${idle//,/ }; do
  if [ "$n" -gt $(($(ulimit -n) - 512)) ]; then
    echo "bench.sh: --idle $n needs a descriptor limit of $((n + 512)); ulimit -n is $(ulimit -n) (hard $(ulimit -Hn))" >&2
    exit 2
  fi
done
dotnet "$bench/LoadGen/bin/Release/net10.0/LoadGen.dll" --server "$server" \
  --bun "$bun_bin" --bun-script "$bench/bun/echo.js" --ws-script "$bench/node/echo-server.js" --event-loop \
  --out "$out/results.md" ${args[@]+"${args[@]}"}
