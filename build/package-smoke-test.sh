#!/usr/bin/env bash
# The install path a user takes, as a test: packs the libraries under src/ into a local folder feed, creates a fresh
# `dotnet new web` app in a temporary directory that references the AspNetWebSockets *package* (not the project)
# through a NuGet.config naming that feed and nuget.org, maps /echo with MapWebSocket, runs it on 127.0.0.1 with an
# OS-picked port, and has Node's ws client complete a text and a binary echo and a 1000 close handshake against it.
#
#   build/package-smoke-test.sh [--keep]
#
# --keep leaves the temporary app directory in place (its path is printed) for a look after a failure.
# Also fails when `dotnet pack` prints any warning, or a package lacks its licence, readme, repository commit or
# symbols package. Every step is bounded in time; the app process is always stopped. Ends with one line:
# "package smoke test: passed" or "package smoke test: FAILED (...)"; exits 0 or 1 accordingly.
# Needs the .NET 10 SDK and Node with the ws package (build/install-prerequisites.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
keep=0
case "$*" in
  -h|--help) usage; exit 0 ;;
  --keep) keep=1 ;;
  "") ;;
  *) echo "package-smoke-test.sh: unknown argument(s): $* (--help prints usage)" >&2; exit 2 ;;
esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
root="$(pwd)"
feed="$root/artifacts/packages"
ws_module="$root/test/AspNetWebSockets.RealClientTests/node/node_modules/ws"
# A version no earlier run used: NuGet caches packages by id and version, so a rebuilt package with a reused version
# would be ignored in favour of the stale cached one. The app also restores into a package folder of its own (kept
# between runs for the third-party packages), from which earlier smoke versions of ours are removed.
version_suffix="smoke.$(date -u +%Y%m%d%H%M%S).$$"
smoke_packages="$root/artifacts/package-smoke/nuget-packages"
work="$(mktemp -d "${TMPDIR:-/tmp}/aspnetwebsockets-smoke.XXXXXX")"
app_pid=""

fail() {
  echo "package-smoke-test: $*" >&2
  echo "package smoke test: FAILED ($*)"
  exit 1
}
cleanup() {
  if [ -n "$app_pid" ] && kill -0 "$app_pid" 2>/dev/null; then
    kill -TERM "$app_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then echo "package-smoke-test: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT   # so an outer timeout still runs cleanup (stops the app)

[ -f "$ws_module/package.json" ] || ./build/install-prerequisites.sh >&2

# 1. Pack, treating every warning as an error: the packages must pack cleanly.
rm -rf "$feed"
mkdir -p "$feed" "$smoke_packages"
rm -rf "$smoke_packages"/aspnetwebsockets*
echo "package-smoke-test: dotnet pack -c Release (version suffix $version_suffix) into $feed"
for project in src/*/*.csproj; do
  if ! timeout 600 dotnet pack "$project" -c Release -o "$feed" -p:VersionSuffix="$version_suffix" \
      -warnaserror -nologo -v quiet -clp:ErrorsOnly >"$work/pack.log" 2>&1; then
    cat "$work/pack.log" >&2
    fail "dotnet pack $project failed or warned"
  fi
done
version="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props)-$version_suffix"
for id in AspNetWebSockets AspNetWebSockets.Testing AspNetWebSockets.Redis; do
  nupkg="$feed/$id.$version.nupkg"
  [ -f "$nupkg" ] || fail "$nupkg was not produced"
  [ -f "$feed/$id.$version.snupkg" ] || fail "no symbols package for $id"
  nuspec="$(unzip -p "$nupkg" "$id.nuspec")"
  for expected in '<license type="expression">MIT</license>' '<readme>README.md</readme>' '<repository type="git"' 'commit="'; do
    grep -qF "$expected" <<<"$nuspec" || fail "$id's nuspec lacks $expected"
  done
  # Listed into a variable first: with pipefail, grep -q ending the pipe early would fail it through SIGPIPE.
  listing="$(unzip -l "$nupkg")"
  grep -q ' README.md$' <<<"$listing" || fail "$id's package lacks README.md"
done

# 2. A fresh web app that references the package, outside the repository (no Directory.*.props of ours apply).
app="$work/SmokeApp"
timeout 120 dotnet new web -o "$app" -n SmokeApp >"$work/new.log" 2>&1 || { cat "$work/new.log" >&2; fail "dotnet new web failed"; }
cat >"$app/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <!-- Our packages only from the local feed, whatever nuget.org may hold under the same names. -->
  <packageSourceMapping>
    <packageSource key="local"><package pattern="AspNetWebSockets*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
EOF
sed -i "s|</Project>|  <ItemGroup>\n    <PackageReference Include=\"AspNetWebSockets\" Version=\"$version\" />\n  </ItemGroup>\n</Project>|" "$app/SmokeApp.csproj"
cat >"$app/Program.cs" <<'EOF'
using AspNetWebSockets;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddWebSockets(o => o.MaxMessageSize = 1 << 20);
var app = builder.Build();

app.MapWebSocket("/echo", async (WebSocketConnection socket, CancellationToken closed) =>
{
    await foreach (WebSocketMessage message in socket.ReadAllAsync(closed))
        await socket.SendAsync(message.Data, message.Type, closed);
});

app.Run();
EOF
echo "package-smoke-test: building a dotnet new web app that references AspNetWebSockets $version"
if ! NUGET_PACKAGES="$smoke_packages" timeout 600 dotnet build "$app/SmokeApp.csproj" -c Release -nologo -v quiet -clp:ErrorsOnly >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  fail "the app did not build against the package"
fi
grep -q "\"AspNetWebSockets/$version\"" "$app/obj/project.assets.json" || fail "the app did not restore AspNetWebSockets $version"

# 3. Run it on an OS-picked loopback port and read the port from Kestrel's "Now listening on" line.
dotnet "$app/bin/Release/net10.0/SmokeApp.dll" --urls http://127.0.0.1:0 >"$work/app.log" 2>&1 &
app_pid=$!
port=""
for _ in $(seq 1 600); do
  port="$(sed -n 's|.*Now listening on: http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$work/app.log" | sed -n 1p)"
  [ -n "$port" ] && break
  kill -0 "$app_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/app.log" >&2; fail "the app did not report a listening port within 60 s"; }

# 4. A real WebSocket echo with Node's ws: text, binary, then a clean close.
cat >"$work/client.cjs" <<'EOF'
const WebSocket = require(process.env.WS_MODULE);
const url = process.argv[2];
const fail = (why) => { console.error(`client: ${why}`); process.exit(1); };
setTimeout(() => fail('timed out after 20 s'), 20000).unref();
const socket = new WebSocket(url);
const text = 'hello from the package smoke test';
const binary = Buffer.from([0, 1, 2, 253, 254, 255]);
let step = 0;
socket.on('open', () => socket.send(text));
socket.on('message', (data, isBinary) => {
  if (step === 0) {
    if (isBinary || data.toString() !== text) fail(`text echo was ${isBinary ? 'binary' : JSON.stringify(data.toString())}`);
    step = 1;
    socket.send(binary);
  } else if (step === 1) {
    if (!isBinary || !Buffer.from(data).equals(binary)) fail('binary echo differs');
    step = 2;
    socket.close(1000, 'done');
  } else {
    fail('unexpected extra message');
  }
});
socket.on('close', (code) => {
  if (step !== 2 || code !== 1000) fail(`closed with ${code} after step ${step}`);
  console.log('client: text and binary echoed, closed with 1000');
  process.exit(0);
});
socket.on('error', (e) => fail(e.message));
EOF
if ! WS_MODULE="$ws_module" timeout 30 node "$work/client.cjs" "ws://127.0.0.1:$port/echo"; then
  cat "$work/app.log" >&2
  fail "the WebSocket echo against the packaged library failed"
fi
echo "package smoke test: passed"
