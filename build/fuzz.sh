#!/usr/bin/env bash
# Coverage-guided fuzzing of the protocol core with SharpFuzz + AFL++, for a bounded time per target.
#
#   build/fuzz.sh [--seconds N] [--target NAME]... [--timeout MS] [--update-corpus]
#
# Targets: frames (the protocol object, WebSocketProtocol, with or without deflate, as the receive loop drives it), handshake (header
# parsing, validation, negotiation, origin policy), inflate (permessage-deflate decompression and round trips),
# utf8 (incremental UTF-8 validation). Default: every target, 60 s each. Installs AFL++ from apt if missing and the
# SharpFuzz instrumenter as a local dotnet tool, builds the harness in Release into artifacts/fuzz/bin, instruments
# only AspNetWebSockets.dll, and runs afl-fuzz on build/fuzz/corpus/<target>. Prints executions, corpus paths, crashes
# and hangs per target, writes artifacts/fuzz/summary.md, and exits 1 if a crash (or a hang that reproduces) was
# found; crash inputs stay under artifacts/fuzz/findings/<target>/default/crashes.
# --update-corpus re-minimizes the committed corpus together with the new finds (afl-cmin): AFL's inputs become
# afl-<hash> files (replacing earlier ones), hand-made seeds are always kept.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
timeout_ms=5000
update_corpus=0
targets=()
all_targets=(frames handshake inflate utf8)

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
need_value() { [ "$2" -ge 2 ] || { echo "fuzz.sh: $1 needs a value (--help prints usage)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) need_value "$1" $#; seconds="$2"; shift 2 ;;
    --target) need_value "$1" $#; targets+=("$2"); shift 2 ;;
    --timeout) need_value "$1" $#; timeout_ms="$2"; shift 2 ;;
    --update-corpus) update_corpus=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "fuzz.sh: unknown argument: $1 (--help prints usage)" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  case " ${all_targets[*]} " in *" $t "*) ;; *) echo "unknown target: $t (known: ${all_targets[*]})" >&2; exit 2 ;; esac
done
case "$seconds" in ''|*[!0-9]*) echo "--seconds needs a whole number" >&2; exit 2 ;; esac
case "$timeout_ms" in ''|*[!0-9]*) echo "--timeout needs a whole number of milliseconds" >&2; exit 2 ;; esac

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# AFL++ from the distribution (4.04c on Debian 12), installed once.
if ! command -v afl-fuzz >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  timeout 600 $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive timeout 900 $sudo apt-get install -y -qq afl++ >/dev/null
fi

# The instrumenter is a local tool pinned in .config/dotnet-tools.json.
timeout 300 dotnet tool restore >/dev/null

out="artifacts/fuzz"
bin="$out/bin"
instrumented="$out/bin-instrumented"
rm -rf "$bin" "$instrumented"
mkdir -p "$out"
timeout 600 dotnet build build/fuzz/AspNetWebSockets.Fuzzing/AspNetWebSockets.Fuzzing.csproj -c Release -o "$bin" \
  -nologo -v quiet -clp:ErrorsOnly >/dev/null
# Only our assembly gets the AFL edge counters; the runtime and SharpFuzz stay as they are. Instrumented code writes its
# counters into AFL's shared memory and faults without it, so findings are replayed with the plain copy in $bin.
cp -a "$bin" "$instrumented"
timeout 300 dotnet sharpfuzz "$instrumented/AspNetWebSockets.dll" >/dev/null
harness="$instrumented/AspNetWebSockets.Fuzzing"
replay="$bin/AspNetWebSockets.Fuzzing"

# afl-fuzz settings for a managed target on a shared machine: the .NET binary is not AFL-compiled, no core_pattern
# changes (not always permitted), no CPU pinning (other jobs share the cores), and a generous fork-server start-up time.
export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1
export AFL_FORKSRV_INIT_TMOUT=60000 AFL_SKIP_CRASHES=1
if [ "$(cat /proc/sys/kernel/core_pattern 2>/dev/null)" != "core" ]; then
  echo core >/proc/sys/kernel/core_pattern 2>/dev/null || true
fi

stat() { grep -E "^$1 *:" "$2" 2>/dev/null | head -n 1 | sed 's/.*: *//' || true; }

status=0
summary="$out/summary.md"
{
  echo "# Fuzzing summary"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), ${seconds} s per target, afl-fuzz $(afl-fuzz -h 2>&1 | grep -o '++[0-9.a-z]*' | head -n 1), SharpFuzz 2.3.0"
  echo
  echo "| Target | Executions | Exec/s | Corpus paths | Edges covered | Crashes | Hangs (reproduced) |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$summary"

for t in "${targets[@]}"; do
  corpus="build/fuzz/corpus/$t"
  findings="$out/findings/$t"
  rm -rf "$findings"
  mkdir -p "$out/findings"
  dict=()
  [ -f "build/fuzz/dictionaries/$t.dict" ] && dict=(-x "build/fuzz/dictionaries/$t.dict")
  echo "== $t: fuzzing for $seconds s"
  # -V bounds the campaign; the outer timeout bounds everything else (start-up, calibration, a wedged fork server).
  timeout --kill-after=30 $((seconds + 240)) afl-fuzz -i "$corpus" -o "$findings" -t "$timeout_ms" -m none -V "$seconds" \
    "${dict[@]}" -- "$harness" "$t" >"$out/afl-$t.log" 2>&1 || echo "   afl-fuzz ended with status $? (see $out/afl-$t.log)"

  stats="$findings/default/fuzzer_stats"
  execs=$(stat execs_done "$stats"); eps=$(stat execs_per_sec "$stats"); paths=$(stat corpus_count "$stats")
  edges=$(stat edges_found "$stats"); crashes=$(stat saved_crashes "$stats"); hangs=$(stat saved_hangs "$stats")
  crashes=${crashes:-0}; hangs=${hangs:-0}

  # A hang under afl-fuzz may just be a loaded machine: it counts only if a plain replay also takes over a minute.
  real_hangs=0
  for h in "$findings"/default/hangs/id:*; do
    [ -e "$h" ] || continue
    rc=0
    timeout 60 "$replay" "$t" "$h" >/dev/null 2>&1 || rc=$?
    if [ "$rc" != 0 ]; then
      real_hangs=$((real_hangs + 1))
      echo "   hang input $( [ "$rc" = 124 ] && echo 'still runs after 60 s' || echo "fails on replay (exit $rc)" ): $h"
    fi
  done

  echo "   executions: ${execs:-0}, exec/s: ${eps:-0}, corpus paths: ${paths:-0}, edges: ${edges:-0}, crashes: $crashes, hangs: $hangs (reproduced: $real_hangs)"
  echo "| $t | ${execs:-0} | ${eps:-0} | ${paths:-0} | ${edges:-0} | $crashes | $hangs ($real_hangs) |" >>"$summary"

  for c in "$findings"/default/crashes/id:*; do
    [ -e "$c" ] || continue
    echo "   crash: $c"
    { timeout 60 "$replay" "$t" "$c" 2>&1 || true; } | head -n 12 | sed 's/^/     /'
  done
  if [ "$crashes" != 0 ] || [ "$real_hangs" != 0 ]; then
    status=1
  fi

  if [ "$update_corpus" = 1 ] && [ -d "$findings/default/queue" ]; then
    # Minimize the committed corpus and the new queue together, so a rerun replaces earlier AFL finds instead of
    # piling up inputs with the same coverage. Hand-made seeds (not named afl-*) are always kept.
    pool="$findings/cmin-input"
    minimized="$findings/cmin"
    rm -rf "$pool" "$minimized"
    mkdir -p "$pool"
    cp "$corpus"/* "$pool"/
    for q in "$findings"/default/queue/id:*; do
      [ -f "$q" ] && cp "$q" "$pool/queue-$(basename "$q" | cut -c1-9 | tr ':' '-')"
    done
    if timeout 900 afl-cmin -i "$pool" -o "$minimized" -t "$timeout_ms" -m none -- "$harness" "$t" \
        >"$out/cmin-$t.log" 2>&1; then
      rm -f "$corpus"/afl-*
      kept=0
      for f in "$minimized"/*; do
        [ -f "$f" ] || continue
        if ! find "$corpus" -maxdepth 1 -type f -exec cmp -s "$f" {} \; -print | grep -q .; then
          cp "$f" "$corpus/afl-$(sha1sum "$f" | cut -c1-16)"
          kept=$((kept + 1))
        fi
      done
      echo "   corpus: $(ls "$corpus" | wc -l) files ($kept minimized AFL finds) in $corpus"
    else
      echo "   afl-cmin failed (see $out/cmin-$t.log); corpus unchanged"
    fi
  fi
done

{
  echo
  if [ "$status" = 0 ]; then echo "No crashes and no reproducible hangs."; else echo "**Crashes or reproducible hangs found**: inputs under $out/findings/<target>/default/."; fi
} >>"$summary"
echo "summary: $summary"
exit "$status"
