#!/usr/bin/env bash
# Runs every test of the solution and ends with one line: "tests: N passed, N failed, N skipped".
# Needs the .NET 10 SDK; installs the rest (Debian's Chromium, the Node ws client, Redis) idempotently through
# build/install-prerequisites.sh and build/start-redis.sh, so this stays the one command a newcomer and CI run.
set -euo pipefail
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
timeout 20m dotnet test --solution AspNetWebSockets.sln --no-build -c Debug \
  --results-directory "$results" --report-xunit-xml --no-progress || status=$?

# Count from the xUnit XML reports, one per test assembly (not from dotnet test's own summary).
passed=0 failed=0 skipped=0 reports=0
for report in "$results"/*.xml; do
  [ -e "$report" ] || continue
  reports=$((reports + 1))
  line=$(grep -o '<assembly [^>]*>' "$report" | head -n 1)
  attr() { printf '%s' "$line" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(attr passed)))
  failed=$((failed + $(attr failed) + $(attr errors)))
  skipped=$((skipped + $(attr skipped)))
done

if [ "$reports" -eq 0 ]; then
  echo "No test report was written." >&2
  status=1
fi

echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then
  status=1
fi
exit "$status"
