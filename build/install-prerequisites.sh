#!/usr/bin/env bash
# Installs what the real-client tests (test/AspNetWebSockets.RealClientTests) need, idempotently and without
# prompts, on a Debian machine: Debian's Chromium (Playwright drives /usr/bin/chromium; its own browser download
# does not work here), node and npm, and the Node packages of the ws client (npm ci from the committed lock).
# Safe to run again: each step is skipped when already done. Exits non-zero when a step fails.
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
case "$*" in
  -h|--help) usage; exit 0 ;;
  "") ;;
  *) echo "install-prerequisites.sh: unknown argument(s): $* (it takes none; --help prints usage)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

node_dir="test/AspNetWebSockets.RealClientTests/node"
stamp="$node_dir/node_modules/.installed-from.sha256"

say() { printf 'install-prerequisites: %s\n' "$*"; }

# Root runs apt-get directly; anyone else needs sudo (non-interactive: -n fails instead of asking for a password).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    say "need root or sudo to run: $*" >&2
    return 1
  fi
}

apt_updated=false
apt_install() {
  if [ "$apt_updated" = false ]; then
    say "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=true
  fi
  say "apt-get install -y $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" </dev/null
}

if [ -x /usr/bin/chromium ]; then
  say "chromium: present ($(/usr/bin/chromium --version 2>/dev/null | head -n 1 || echo 'version unknown'))"
else
  say "chromium: missing"
  apt_install chromium
  [ -x /usr/bin/chromium ] || { say "chromium was installed but /usr/bin/chromium is still missing" >&2; exit 1; }
fi

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  say "node: present ($(node --version)), npm $(npm --version)"
else
  say "node/npm: missing"
  apt_install nodejs npm
fi

# Reinstall when ws is missing or the lock (package.json when there is no lock) changed since the last install.
if [ -f "$node_dir/package-lock.json" ]; then
  manifest="$node_dir/package-lock.json" npm_command="ci"
else
  manifest="$node_dir/package.json" npm_command="install"
fi
manifest_hash="$(sha256sum "$manifest" | cut -d ' ' -f 1)"
if [ -f "$node_dir/node_modules/ws/package.json" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$manifest_hash" ]; then
  say "node packages: up to date with $manifest"
else
  say "node packages: npm $npm_command in $node_dir"
  (cd "$node_dir" && npm "$npm_command" --no-audit --no-fund --loglevel=error </dev/null)
  [ -f "$node_dir/node_modules/ws/package.json" ] || { say "npm $npm_command did not install ws" >&2; exit 1; }
  printf '%s\n' "$manifest_hash" > "$stamp"
fi

say "done"
