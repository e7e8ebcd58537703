# Sourced by build/bench.sh and the drivers it hands over to (epoll-client/run.sh, idle-heap/run.sh): the paths, a
# quiet dotnet, the descriptor limit, ensure_bun and ensure_ws. Each benchmark process holds one descriptor per connection
# (10,000 idle connections, broadcasts to 10,000), so the soft limit is raised to the hard one, capped at 65,536.
bench="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench/../.." && pwd)"
out="$root/artifacts/bench"
mkdir -p "$out"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true

# ensure_bun: Bun (server D, and a broadcast server), pinned, from npm's @oven/bun-linux-x64 (the binary is bin/bun in
# the package) into artifacts/bench/bun/, never globally. npm runs only when the binary is missing or reports another
# version, so later runs use no network. Sets bun_bin.
bun_version=1.4.4
bun_bin="$out/bun/node_modules/@oven/bun-linux-x64/bin/bun"
ensure_bun() {
  if [ -x "$bun_bin" ] && [ "$("$bun_bin" --version 2>/dev/null)" = "$bun_version" ]; then return 0; fi
  echo "installing Bun $bun_version (npm @oven/bun-linux-x64) into $out/bun..." >&2
  mkdir -p "$out/bun"
  npm install --prefix "$out/bun" "@oven/bun-linux-x64@$bun_version" --no-save --no-audit --no-fund \
    --loglevel=error </dev/null >&2
  local got
  got="$("$bun_bin" --version 2>/dev/null || true)"
  if [ "$got" != "$bun_version" ]; then echo "Bun at $bun_bin reports '$got', not $bun_version" >&2; exit 1; fi
}

# ensure_ws: Node's ws (server W) from the committed lock in build/bench/node: npm ci only when node_modules is missing
# or the lock changed.
ensure_ws() {
  local node_dir="$bench/node" stamp lock_hash
  stamp="$node_dir/node_modules/.installed-lock-sha256"
  lock_hash="$(sha256sum "$node_dir/package-lock.json" | cut -d ' ' -f 1)"
  if ! [ -f "$node_dir/node_modules/ws/package.json" ] || ! [ -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null) >&2
    printf '%s\n' "$lock_hash" > "$stamp"
  fi
}
