#!/usr/bin/env bash
# Runs every test of the solution; then the Kestrel-hosted suites (integration, conformance, real-client) once more in
# the event-loop mode (ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1 with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1: every
# server they start calls UseWebSocketEventLoop()); the conformance, real-client and hardening suites once more with
# lean connections off (ASPNETWEBSOCKETS_TEST_CLASSIC=1); then the package smoke test (build/package-smoke-test.sh: the packed
# libraries installed into a fresh `dotnet new web` app, serving a WebSocket echo). Ends with one line counting all of
# them: "tests: N passed, N failed, N skipped" (the smoke test counted as one test).
# Needs the .NET 10 SDK; installs the rest (Debian's Chromium, the Node ws client, Redis) idempotently through
# build/install-prerequisites.sh and build/start-redis.sh, so this stays the one command a newcomer and CI run.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
case "$*" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "test.sh: unknown argument(s): $* (it takes none; --help prints usage)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

./build/install-prerequisites.sh

# The Redis backplane tests need a real Redis on loopback; started here if none answers, and stopped on exit only if
# this run started it (a Redis that was already running belongs to someone else). The process id check makes sure
# the Redis stopped is still the one started here.
redis_started="$results/redis-started-pid"
./build/start-redis.sh --started-file "$redis_started"
export REDIS_TEST_ENDPOINT=127.0.0.1:6390
stop_own_redis() {
  [ -s "$redis_started" ] || return 0
  local pid
  pid="$(cat "$redis_started")"
  if [ "$(redis-cli -p 6390 info server 2>/dev/null | sed -n 's/^process_id:\([0-9]*\).*/\1/p')" = "$pid" ]; then
    redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true
  fi
}
trap stop_own_redis EXIT

dotnet build AspNetWebSockets.sln -c Debug -nologo -v quiet -clp:ErrorsOnly

status=0
log="$results/dotnet-test.log"
logs=("$log")
timeout 20m dotnet test --solution AspNetWebSockets.sln --no-build -c Debug \
  --results-directory "$results" --report-xunit-xml --no-progress 2>&1 | tee "$log" || status=$?

# The suites whose servers run on Kestrel, again in the event-loop mode (issue 14: both modes in CI). Each of their
# Kestrel hosts goes through test/Shared/TestExecutionMode.cs, which calls UseWebSocketEventLoop() when
# ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1; the runtime reads DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS once, at the first
# socket use, so it is set for the whole process here (each suite's ExecutionModeTests fail if either did not take).
# One run and one log per suite, so each run's summary is read on its own.
for suite in AspNetWebSockets.IntegrationTests AspNetWebSockets.ConformanceTests AspNetWebSockets.RealClientTests; do
  suite_log="$results/event-loop-$suite.log"
  logs+=("$suite_log")
  echo "== $suite in the event-loop mode"
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 ASPNETWEBSOCKETS_TEST_EVENT_LOOP=1 \
    timeout 10m dotnet test --project "test/$suite" --no-build -c Debug \
    --results-directory "$results/event-loop" --report-xunit-xml --no-progress 2>&1 | tee "$suite_log" || status=$?
done

# The conformance, real-client and hardening suites once more with lean connections off (issue 15: they are on by
# default, so the runs above test them; the rest of the integration suite covers both paths in every run through its
# transport modes). Each Kestrel host of these suites turns them off when ASPNETWEBSOCKETS_TEST_CLASSIC=1
# (test/Shared/TestExecutionMode.cs; the hardening tests pick their transport from it).
for suite in AspNetWebSockets.ConformanceTests AspNetWebSockets.RealClientTests AspNetWebSockets.IntegrationTests; do
  filter=()
  [ "$suite" = AspNetWebSockets.IntegrationTests ] && filter=(-- --filter-namespace "*.Hardening")
  suite_log="$results/classic-$suite.log"
  logs+=("$suite_log")
  echo "== $suite over Kestrel's own transport (lean connections off)"
  ASPNETWEBSOCKETS_TEST_CLASSIC=1 \
    timeout 10m dotnet test --project "test/$suite" --no-build -c Debug \
    --results-directory "$results/classic" --report-xunit-xml --no-progress "${filter[@]}" 2>&1 | tee "$suite_log" || status=$?
done
# Count from each run's dotnet test summary (the last "total/failed/succeeded/skipped" block of its log), not from the
# xUnit XML reports: those are named by a timestamp, and two test assemblies starting together can write the same file.
summary() { sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E "^[[:space:]]+$2: [0-9]+$" | tail -n 1 | grep -o '[0-9]*$' || true; }
count() { local n; n="$(summary "$1" "$2")"; echo "${n:-0}"; }
passed=0 failed=0 skipped=0
for run_log in "${logs[@]}"; do
  if [ -z "$(summary "$run_log" total)" ]; then
    echo "No test summary was printed in $run_log." >&2
    status=1
    continue
  fi
  passed=$((passed + $(count "$run_log" succeeded)))
  failed=$((failed + $(count "$run_log" failed)))
  skipped=$((skipped + $(count "$run_log" skipped)))
done

# One more test outside the solution: the packages install into a fresh app and serve a WebSocket echo
# (build/package-smoke-test.sh), counted with the others.
smoke_log="$results/package-smoke-test.log"
smoke_status=0
timeout 15m ./build/package-smoke-test.sh >"$smoke_log" 2>&1 || smoke_status=$?
if [ "$smoke_status" = 0 ] && grep -qx 'package smoke test: passed' "$smoke_log"; then
  passed=$((${passed:-0} + 1))
else
  sed 's/^/  /' "$smoke_log" | tail -n 40
  echo "package smoke test: FAILED (exit $smoke_status; log: $smoke_log)"
  failed=$((${failed:-0} + 1))
fi
grep -x 'package smoke test: passed' "$smoke_log" || true

echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${failed:-0}" -gt 0 ]; then
  status=1
fi
exit "$status"
