#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "tests: N passed, N failed, N skipped".
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

# The Redis backplane tests need a real Redis on loopback; started here (idempotently) and stopped on exit.
./build/start-redis.sh
export REDIS_TEST_ENDPOINT=127.0.0.1:6390
trap 'redis-cli -p 6390 shutdown nosave >/dev/null 2>&1 || true' EXIT

dotnet build AspNetWebSockets.sln -c Debug -nologo -v quiet -clp:ErrorsOnly

status=0
log="$results/dotnet-test.log"
timeout 20m dotnet test --solution AspNetWebSockets.sln --no-build -c Debug \
  --results-directory "$results" --report-xunit-xml --no-progress 2>&1 | tee "$log" || status=$?

# Count from dotnet test's run summary (the last "total/failed/succeeded/skipped" block), not from the xUnit XML
# reports: those are named by a timestamp, and two test assemblies starting together can write the same file.
summary() { sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E "^[[:space:]]+$1: [0-9]+$" | tail -n 1 | grep -o '[0-9]*$' || true; }
total=$(summary total) passed=$(summary succeeded) failed=$(summary failed) skipped=$(summary skipped)

if [ -z "$total" ]; then
  echo "No test summary was printed." >&2
  status=1
fi

echo "tests: ${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "${failed:-0}" -gt 0 ]; then
  status=1
fi
exit "$status"
