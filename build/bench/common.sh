# Sourced by build/bench.sh and the drivers it hands over to (epoll-client/run.sh, idle-heap/run.sh): the paths, a
# quiet dotnet, and the descriptor limit. Each benchmark process holds one descriptor per connection (10,000 idle
# connections, broadcasts to 10,000), so the soft limit is raised to the hard one, capped at 65,536.
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/../.." && pwd)"
out="$root/artifacts/bench"
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true
