#!/usr/bin/env bash
# Driver of the C epoll client (see build/bench/README.md), reached through build/bench.sh:
#   build/bench.sh --broadcast [--rounds 3] [--conns 1000,10000] [--sizes 64,4096] [--servers LIST] [--quick]
#       one message to every connection: ours (IWebSocketGroups.SendToAllAsync) in the default mode and in the
#       event-loop mode, ASP.NET Core's built-in WebSockets with a SendAsync loop, Node's ws with
#       clients.forEach(c => c.send(data)), Bun (uWebSockets) with one topic every connection subscribes to and
#       ws.publish; writes artifacts/bench/broadcast.md
#   build/bench.sh --client c [--scenarios 1,2,3,6] [--rounds 3] [--warmup 2] [--duration 3] [--servers LIST] [--quick]
#       issue 5's echo scenarios against the echo servers with the C client instead of the C# LoadGen; writes
#       artifacts/bench/results-c.md
# Servers (--servers, comma-separated, in the order they run in each round and appear in the table):
#   ours           A  BenchServers --mode ours (broadcast: ours-broadcast), default execution
#   ours-el        E  the same with --event-loop (UseWebSocketEventLoop) and DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1
#   ours-lean      H  ours (broadcast: ours-broadcast) with --lean (WebSocketServerOptions.LeanConnections: our epoll
#                     transport, the socket handed to the WebSocket after the 101 and the HTTP request ended; issue 15)
#   ours-lean-el   I  ours-lean with --event-loop (and the inline-completions variable, as E) on one event loop
#                     (--loops 1: WebSocketEventLoopOptions.LoopCount), as Bun runs its server on one thread
#   ours-spin0     G  ours with DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 (no thread-pool spinning; echo only)
#   builtin        B  ASP.NET Core's built-in WebSockets
#   rawtcp         C  Kestrel raw TCP echo (echo only)
#   rawtcp-inline  F  the raw echo with --inline-scheduling and inline socket completions (echo only)
#   ws             W  Node's ws (broadcast only)
#   bun            D  Bun (uWebSockets)
#   defaults: echo ours,ours-el,builtin,rawtcp,rawtcp-inline,bun; broadcast ours,ours-el,builtin,ws,bun
# Bun is installed from npm, pinned (@oven/bun-linux-x64@1.4.4, the binary at bin/bun; ensure_bun in common.sh), into
# artifacts/bench/bun/ on the first run; later runs find the binary and its version and skip npm.
# BENCH_SERVER_ARGS (environment) is appended to every .NET server's command line, e.g.
#   BENCH_SERVER_ARGS="--inline-scheduling" build/bench.sh --client c --scenarios 1,6
# (also --wait-for-data true|false and --io-queue-count N; see build/bench/Servers/Program.cs), so the .NET servers
# get the same Kestrel transport settings. The report's header names the arguments used.
# Servers are interleaved in every round and each run gets a fresh server process. Every run's raw RESULT line is kept
# in artifacts/bench/<name>-runs.txt. Every wait is bounded.
set -euo pipefail
# shellcheck source=build/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../common.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  broadcast|echo) ;;
  *) echo "epoll-client/run.sh: the first argument is broadcast or echo (normally reached through build/bench.sh)" >&2; exit 2 ;;
esac
what="$1"; shift
rounds=3 quick=0
conns_list="1000,10000" sizes="64,4096"          # broadcast
scenarios="1,2,3,6" warmup=2 duration=3          # echo
servers=""
usage_error() {
  echo "usage: build/bench.sh --broadcast [--rounds N] [--conns 1000,10000] [--sizes 64,4096] [--servers LIST] [--quick]" >&2
  echo "       build/bench.sh --client c [--scenarios 1,2,3,6] [--rounds N] [--warmup S] [--duration S] [--servers LIST] [--quick]" >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --broadcast) ;;
    -h|--help) usage; exit 0 ;;
    --client) [ "${2:-}" = c ] || usage_error; shift ;;
    --rounds) rounds="$2"; shift ;;
    --conns) conns_list="$2"; shift ;;
    --sizes) sizes="$2"; shift ;;
    --scenarios) scenarios="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --servers) servers="$2"; shift ;;
    --quick) quick=1 ;;
    *) usage_error ;;
  esac
  shift
done
if [ -z "$servers" ]; then
  if [ "$what" = broadcast ]; then servers="ours,ours-el,builtin,ws,bun"; else servers="ours,ours-el,builtin,rawtcp,rawtcp-inline,bun"; fi
fi
IFS=, read -r -a server_arr <<<"$servers"
for k in "${server_arr[@]}"; do
  case "$what:$k" in
    *:ours|*:ours-el|*:ours-lean|*:ours-lean-el|*:builtin|*:bun|echo:ours-spin0|echo:rawtcp|echo:rawtcp-inline|broadcast:ws) ;;
    *) echo "epoll-client/run.sh: no server '$k' in the $what benchmark" >&2; exit 2 ;;
  esac
done
if [ "$quick" = 1 ]; then
  rounds=1
  if [ "$what" = broadcast ]; then conns_list="1000" sizes="64"; else warmup=0.5 duration=1; fi
fi

if [ "$what" = broadcast ]; then
  max_conns=$(tr ',' '\n' <<<"$conns_list" | sort -n | tail -1)
  if [ "$(ulimit -n)" -lt $((max_conns + 256)) ]; then
    echo "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); $max_conns connections need at least $((max_conns + 256))" >&2
    exit 1
  fi
fi

echo "building (Release) and compiling the C client..." >&2
dotnet build "$bench/Servers/BenchServers.csproj" -c Release -nologo -v q -clp:ErrorsOnly >&2
client="$out/epoll-client"
gcc -O2 -Wall -Wextra -Werror -o "$client" "$bench/epoll-client/epoll-client.c"

node_dir="$bench/node"
ensure_bun
if [ "$what" = broadcast ]; then ensure_ws; fi

server="$bench/Servers/bin/Release/net10.0/BenchServers"
server_args="${BENCH_SERVER_ARGS:-}"
# The inline modes get the runtime's switch in their environment too: it is read once, at the first socket, and the
# server exits (code 3) rather than run a column that claims inline completions without them.
inline_env="env DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1"
server_cmd() {
  local ours_mode=ours
  if [ "$what" = broadcast ]; then ours_mode=ours-broadcast; fi
  case "$1" in
    ours) echo "$server --mode $ours_mode $server_args" ;;
    ours-el) echo "$inline_env $server --mode $ours_mode --event-loop $server_args" ;;
    ours-lean) echo "$server --mode $ours_mode --lean $server_args" ;;
    ours-lean-el) echo "$inline_env $server --mode $ours_mode --lean --event-loop --loops 1 $server_args" ;;
    ours-spin0) echo "env DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 $server --mode ours $server_args" ;;
    builtin) if [ "$what" = broadcast ]; then echo "$server --mode builtin-broadcast $server_args"; else echo "$server --mode builtin $server_args"; fi ;;
    rawtcp) echo "$server --mode rawtcp $server_args" ;;
    rawtcp-inline) echo "$inline_env $server --mode rawtcp --inline-scheduling $server_args" ;;
    ws) echo "node $node_dir/broadcast-server.js" ;;
    bun) if [ "$what" = broadcast ]; then echo "$bun_bin $bench/bun/broadcast.js"; else echo "$bun_bin $bench/bun/echo.js"; fi ;;
  esac
}

SRV_PID=""
stop_server() {
  [ -n "$SRV_PID" ] || return 0
  local pid="$SRV_PID"
  # stdin EOF asks the server to stop; give it 10 s, then kill it.
  if [ -n "${SRV[1]:-}" ]; then eval "exec ${SRV[1]}>&-"; fi
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
  SRV_PID=""
}
trap stop_server EXIT

# run_one KIND ROUND-TAG CLIENT-ARGS...: fresh server, one client run, RESULT (or FAILED) line appended to $runs.
run_one() {
  local kind="$1" tag="$2"; shift 2
  # shellcheck disable=SC2046 # the command is split into words on purpose
  coproc SRV { exec $(server_cmd "$kind"); }
  local line="" port result
  read -r -t 60 -u "${SRV[0]}" line || true
  port="${line#PORT }"
  if ! [[ "$port" =~ ^[0-9]+$ ]]; then
    echo "$kind: no PORT line within 60 s (got '$line')" >&2
    stop_server
    echo "FAILED label=$kind $tag" >> "$runs"
    return 0
  fi
  echo "[$(( $(date +%s) - started ))s] $kind $tag" >&2
  if result=$(timeout 900 "$client" "$@" --port "$port" --server-pid "$SRV_PID" --label "$kind"); then
    echo "$result $tag" >> "$runs"
  else
    echo "$kind: the client failed (see above)" >&2
    echo "FAILED label=$kind $tag" >> "$runs"
  fi
  stop_server
}

# Shared awk: median over the rounds of one metric, ratio and number formatting.
awk_lib='
  function median(key,   n, i, j, t, a) {
    n = cnt[key]; if (n == 0) return -1
    for (i = 1; i <= n; i++) a[i] = val[key, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  function add(key, v) { cnt[key]++; val[key, cnt[key]] = v }
  function grp(v,   s, r) { s = sprintf("%.0f", v); r = ""; while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) } return s r }
  function fmt(v, d) { return v < 0 ? "n/a" : (d == "g" || (d == "us" && v >= 100) ? grp(v) : sprintf("%." (d == "us" ? 1 : d) "f", v)) }
  function ratio(a, b) { return (a < 0 || b <= 0) ? "n/a" : sprintf("%.2f", a / b) }
  function parse(   i, p) { delete kv; for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] } }
  # Columns: the servers in run order, then the ratios whose two servers both ran (first/second of the medians).
  function columns(   i, j, p, q, np) {
    nsrv = split(servers, SRV, ",")
    letter["ours"] = "A"; letter["builtin"] = "B"; letter["rawtcp"] = "C"; letter["bun"] = "D"; letter["ours-el"] = "E"
    letter["rawtcp-inline"] = "F"; letter["ours-spin0"] = "G"; letter["ws"] = "W"; letter["ours-lean"] = "H"; letter["ours-lean-el"] = "I"
    coltitle["ours"] = "A ours"; coltitle["builtin"] = "B built-in"; coltitle["rawtcp"] = "C raw TCP"; coltitle["bun"] = "D Bun"
    coltitle["ours-el"] = "E ours event-loop"; coltitle["rawtcp-inline"] = "F raw TCP inline"; coltitle["ours-spin0"] = "G ours spin 0"
    coltitle["ws"] = "W ws"; coltitle["ours-lean"] = "H ours lean"; coltitle["ours-lean-el"] = "I ours lean event-loop, 1 loop"
    for (i = 1; i <= nsrv; i++) has[SRV[i]] = 1
    np = split("ours/builtin ours/ws ours/bun ours-el/bun ours-spin0/bun ours-el/ours ours-el/rawtcp-inline ours-lean/ours ours-lean-el/ours ours-lean-el/ours-el ours-lean/bun ours-lean-el/bun ours-lean/builtin", P, " ")
    nrat = 0
    for (i = 1; i <= np; i++) {
      split(P[i], q, "/")
      if (has[q[1]] && has[q[2]]) { nrat++; RA[nrat] = q[1]; RB[nrat] = q[2] }
    }
    head = " |"; rule = "|---|---|"
    for (i = 1; i <= nsrv; i++) { head = head " " coltitle[SRV[i]] " |"; rule = rule "---:|" }
    for (i = 1; i <= nrat; i++) { head = head " " letter[RA[i]] "/" letter[RB[i]] " |"; rule = rule "---:|" }
  }
  # One table row: label, metric name, then the median of metric m under key for every server, and every ratio.
  function row(label, metric, key, m, d,   i, line) {
    line = "| " label " | " metric " |"
    for (i = 1; i <= nsrv; i++) line = line " " fmt(median(key SUBSEP SRV[i] SUBSEP m), d) " |"
    for (i = 1; i <= nrat; i++) line = line " " ratio(median(key SUBSEP RA[i] SUBSEP m), median(key SUBSEP RB[i] SUBSEP m)) " |"
    print line
  }
  function failures(key,   i, line, any) {
    line = "| | failed runs |"; any = 0
    for (i = 1; i <= nsrv; i++) { line = line " " (failed[key SUBSEP SRV[i]] + 0) " |"; any += failed[key SUBSEP SRV[i]] }
    for (i = 1; i <= nrat; i++) line = line " |"
    if (any > 0) print line
  }
'

# legend: one line per server that ran, for the report.
legend() {
  local k
  echo "Servers (in round order); ratios are first/second of the medians:"
  for k in "${server_arr[@]}"; do
    case "$k" in
      ours) echo "- A ours: default execution (thread pool, Kestrel's IOQueue)" ;;
      ours-el) echo "- E ours event-loop: UseWebSocketEventLoop() (inline scheduling, inline socket completions, corked replies)" ;;
      ours-lean) echo "- H ours lean: LeanConnections (our epoll transport; after the 101 the socket is handed to the WebSocket and the request ends)" ;;
      ours-lean-el) echo "- I ours lean event-loop: H with UseWebSocketEventLoop() on one event loop (LoopCount = 1), as Bun runs on one thread" ;;
      ours-spin0) echo "- G ours with DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=0 (thread-pool workers do not spin before sleeping)" ;;
      builtin) echo "- B ASP.NET Core's built-in WebSockets" ;;
      rawtcp) echo "- C Kestrel raw TCP echo (no HTTP, no WebSocket)" ;;
      rawtcp-inline) echo "- F the raw echo with UnsafePreferInlineScheduling and inline socket completions" ;;
      ws) echo "- W Node's ws" ;;
      bun) echo "- D Bun $("$bun_bin" --version) (uWebSockets)" ;;
    esac
  done
}

started=$(date +%s)
echo "ulimit -n $(ulimit -n); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); rounds $rounds" >&2

if [ "$what" = broadcast ]; then
  # Broadcasts per run: 300 at 1,000 subscribers, 100 at 10,000 where each costs 10x more. Warm-up first, about
  # 300,000 deliveries either way: with 30,000 the .NET servers were still tiering up (about 2 µs per message more).
  broadcasts_for() { if [ "$1" -ge 5000 ]; then echo 100; else echo 300; fi; }
  warmup_for() { if [ "$1" -ge 5000 ]; then echo 30; else echo 300; fi; }
  runs="$out/broadcast-runs.txt"
  : > "$runs"
  IFS=, read -r -a size_arr <<<"$sizes"
  IFS=, read -r -a conn_arr <<<"$conns_list"
  for size in "${size_arr[@]}"; do
    for n in "${conn_arr[@]}"; do
      for round in $(seq 1 "$rounds"); do
        for kind in "${server_arr[@]}"; do
          run_one "$kind" "size=$size conns=$n round=$round" broadcast --path /broadcast --conns "$n" --size "$size" \
            --rounds "$(broadcasts_for "$n")" --warmup-rounds "$(warmup_for "$n")" --round-timeout 30 --connect-timeout 120
        done
      done
    done
  done

  table=$(awk -v sizes="$sizes" -v conns="$conns_list" -v servers="$servers" "$awk_lib"'
    /^RESULT / {
      parse(); base = kv["size"] SUBSEP kv["conns"] SUBSEP kv["label"]
      add(base SUBSEP "p50", kv["p50_us"] / 1000); add(base SUBSEP "p99", kv["p99_us"] / 1000)
      add(base SUBSEP "srv", kv["server_cpu_us_per_msg"]); add(base SUBSEP "cli", kv["client_cpu_us_per_msg"])
    }
    /^FAILED / { parse(); failed[kv["size"] SUBSEP kv["conns"] SUBSEP kv["label"]]++ }
    END {
      columns(); print "| Broadcast | Metric" head; print rule
      ns = split(sizes, S, ","); nc = split(conns, C, ",")
      split("p50 p99 srv cli", M, " ")
      name["p50"] = "time to last client, median ms"; name["p99"] = "time to last client, p99 ms"
      name["srv"] = "server CPU µs per delivered msg"; name["cli"] = "load-gen CPU µs per delivered msg"
      for (i = 1; i <= ns; i++) for (j = 1; j <= nc; j++) {
        sz = S[i]; n = C[j]
        label = (sz >= 1024 ? sz / 1024 " KiB" : sz " B") " to " grp(n)
        for (m = 1; m <= 4; m++) row(m == 1 ? label : "", name[M[m]], sz SUBSEP n, M[m], 2)
        failures(sz SUBSEP n)
      }
    }' "$runs")
  report="$out/broadcast.md"
  {
    echo "# Broadcast benchmark"
    echo
    echo "\`build/bench.sh --broadcast --rounds $rounds --conns $conns_list --sizes $sizes --servers $servers\`, $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), .NET SDK $(dotnet --version), Node $(node --version),"
    echo "ws $(node -p "require('$node_dir/node_modules/ws/package.json').version"), Bun $("$bun_bin" --version). Medians of $rounds interleaved rounds, a fresh server per run."
    echo "Each run: 1 publisher + N subscribers; $(broadcasts_for 1000) broadcasts at 1,000 and $(broadcasts_for 10000) at 10,000, after $(warmup_for 1000) and $(warmup_for 10000) warm-up broadcasts."
    echo "Time to last client: from the publisher's send until the last subscriber has the whole message."
    echo "CPU per delivered message: CPU time over the measured broadcasts / (broadcasts × N)."
    echo
    legend
    echo
    echo "$table"
  } > "$report"
else
  runs="$out/results-c-runs.txt"
  : > "$runs"
  # Issue 5's echo shapes (build/bench/README.md, "Scenarios"), same numbering as the C# LoadGen's table.
  scenario_args() {
    case "$1" in
      1) echo "--size 64 --conns 100 --window 16" ;;
      2) echo "--size 16384 --conns 10 --window 4" ;;
      3) echo "--size 64 --conns 1 --window 1" ;;
      6) echo "--size 64 --conns 100 --window 16 --text" ;;
      *) echo "unknown echo scenario $1 (the C client runs 1, 2, 3 and 6)" >&2; exit 2 ;;
    esac
  }
  IFS=, read -r -a sc_arr <<<"$scenarios"
  for s in "${sc_arr[@]}"; do
    for round in $(seq 1 "$rounds"); do
      for kind in "${server_arr[@]}"; do
        raw=""; case "$kind" in rawtcp*) raw="--raw" ;; esac
        # shellcheck disable=SC2046 # scenario_args is split into words on purpose
        run_one "$kind" "scenario=$s round=$round" echo --path /echo $(scenario_args "$s") $raw \
          --warmup "$warmup" --duration "$duration" --connect-timeout 60
      done
    done
  done

  table=$(awk -v scenarios="$scenarios" -v servers="$servers" "$awk_lib"'
    /^RESULT / {
      parse(); base = kv["scenario"] SUBSEP kv["label"]
      add(base SUBSEP "rate", kv["msgs_per_s"]); add(base SUBSEP "mbs", kv["msgs_per_s"] * kv["size"] / 1e6)
      add(base SUBSEP "p50", kv["p50_us"]); add(base SUBSEP "p99", kv["p99_us"])
      add(base SUBSEP "srv", kv["server_cpu_us_per_msg"]); add(base SUBSEP "cli", kv["client_cpu_us_per_msg"])
      add(base SUBSEP "pct", kv["server_cpu_pct"])
    }
    /^FAILED / { parse(); failed[kv["scenario"] SUBSEP kv["label"]]++ }
    END {
      title[1] = "(1) 64 B binary echo, 100 conn × 16 in flight"; title[2] = "(2) 16 KiB binary echo, 10 conn × 4 in flight"
      title[3] = "(3) 64 B binary, 1 conn × 1 in flight"; title[6] = "(6) 64 B text (UTF-8), 100 conn × 16 in flight"
      name["rate"] = "msgs/s"; name["mbs"] = "MB/s"; name["p50"] = "p50 µs"; name["p99"] = "p99 µs"
      name["srv"] = "server CPU µs/msg"; name["cli"] = "loadgen (C) CPU µs/msg"; name["pct"] = "server CPU %"
      dec["rate"] = "g"; dec["mbs"] = "0"; dec["p50"] = "us"; dec["p99"] = "us"; dec["srv"] = "2"; dec["cli"] = "2"; dec["pct"] = "1"
      columns(); print "| Scenario | Metric" head; print rule
      n = split(scenarios, S, ",")
      for (i = 1; i <= n; i++) {
        s = S[i]
        nm = split(s == 2 ? "mbs rate p50 p99 srv cli pct" : "rate p50 p99 srv cli pct", M, " ")
        for (m = 1; m <= nm; m++) row(m == 1 ? title[s] : "", name[M[m]], s, M[m], dec[M[m]])
        failures(s)
      }
    }' "$runs")
  report="$out/results-c.md"
  {
    echo "# Echo benchmark with the C epoll client"
    echo
    echo "\`build/bench.sh --client c --scenarios $scenarios --rounds $rounds --warmup $warmup --duration $duration --servers $servers\`, $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg), .NET SDK $(dotnet --version), Bun $("$bun_bin" --version)."
    echo "Medians of $rounds interleaved rounds, a fresh server per run, ${warmup} s warm-up then ${duration} s measured."
    if [ -n "$server_args" ]; then echo "Server arguments (BENCH_SERVER_ARGS): \`$server_args\`."; fi
    echo
    legend
    echo
    echo "$table"
  } > "$report"
fi

cat "$report"
echo "wrote $report and $runs ($(( $(date +%s) - started )) s)" >&2
