#!/usr/bin/env bash
# Records public API changes of the packages under src/ in their PublicAPI.Unshipped.txt (Microsoft.CodeAnalysis.
# PublicApiAnalyzers; the build fails with RS0016/RS0017 until a change is recorded).
#
#   build/update-public-api.sh [--allow-removals] [--ship] [PROJECT...]
#
# PROJECT is a directory under src/ (e.g. src/AspNetWebSockets); default: every project under src/.
#   (no option)        adds every public API that is not yet declared to PublicAPI.Unshipped.txt (the analyzers' own
#                      code fix, through `dotnet format analyzers --diagnostics RS0016`), sorts the file, then builds;
#                      drops unshipped entries whose API is gone again; exits 1 if shipped API has disappeared
#                      (RS0017): removing or changing shipped API is a breaking change and has to be chosen explicitly.
#   --allow-removals   records each disappeared shipped API as "*REMOVED*<line>" in PublicAPI.Unshipped.txt.
#   --ship             at a release, after the above: moves PublicAPI.Unshipped.txt into PublicAPI.Shipped.txt
#                      (a "*REMOVED*" line deletes its API from the shipped file) and empties the unshipped file.
# Review the diff of the PublicAPI.*.txt files before committing: it is the public API change.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
allow_removals=0 ship=0 projects=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --allow-removals) allow_removals=1 ;;
    --ship) ship=1 ;;
    -*) echo "update-public-api: unknown option $1" >&2; usage >&2; exit 2 ;;
    *)
      dir="${1%/}"
      if [ ! -f "$dir/PublicAPI.Shipped.txt" ] || [ -z "$(ls "$dir"/*.csproj 2>/dev/null)" ]; then
        echo "update-public-api: $1 is not a project directory with PublicAPI.Shipped.txt" >&2
        exit 2
      fi
      projects+=("$dir") ;;
  esac
  shift
done
if [ ${#projects[@]} -eq 0 ]; then
  # Shortest name first: src/AspNetWebSockets before the packages built on it, whose builds need it recorded.
  while IFS= read -r f; do projects+=("$(dirname "$f")"); done < <(ls src/*/PublicAPI.Shipped.txt | awk '{ print length($0) "\t" $0 }' | sort -n | cut -f2-)
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# sort_api FILE: "#nullable enable" first, then the entries sorted (ordinal) without duplicates or blank lines.
sort_api() {
  local file="$1" tmp
  tmp="$(mktemp)"
  { echo '#nullable enable'; grep -v -e '^#nullable' -e '^[[:space:]]*$' "$file" | LC_ALL=C sort -u || true; } > "$tmp"
  mv "$tmp" "$file"
}

status=0
for dir in "${projects[@]}"; do
  project="$(ls "$dir"/*.csproj | head -n 1)"
  unshipped="$dir/PublicAPI.Unshipped.txt"
  [ -f "$unshipped" ] || echo '#nullable enable' > "$unshipped"
  echo "update-public-api: $dir: recording new public API"
  timeout 600 dotnet format analyzers "$project" --diagnostics RS0016 --severity warn -v quiet
  sort_api "$unshipped"

  # What disappeared: RS0017 names the declared line ("Symbol 'LINE' is part of the declared API, but ...").
  log="$(mktemp)"
  timeout 600 dotnet build "$project" -nologo -v quiet -clp:ErrorsOnly -p:TreatWarningsAsErrors=false >"$log" 2>&1 || true
  # Only this project's diagnostics: building it also builds (and reports on) the projects it references.
  grep -F "[$(realpath "$project")]" "$log" > "$log.own" || true
  mv "$log.own" "$log"
  removed="$(grep -o "RS0017: Symbol '.*' is part of the declared API" "$log" \
    | sed -e "s/^RS0017: Symbol '//" -e "s/' is part of the declared API\$//" | LC_ALL=C sort -u || true)"
  other="$(grep -E ': error [A-Z]+[0-9]+' "$log" | grep -v 'RS0017' | sed 's/ \[.*//' | sort -u || true)"
  rm -f "$log"
  if [ -n "$other" ]; then
    echo "update-public-api: $dir does not build:" >&2
    echo "$other" >&2
    status=1
    continue
  fi
  # API added since the release and gone again is simply forgotten; shipped API that is gone is a breaking change.
  breaking=""
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    if grep -q -x -F -e "$line" "$unshipped"; then
      grep -v -x -F -e "$line" "$unshipped" > "$unshipped.tmp" || true
      mv "$unshipped.tmp" "$unshipped"
      echo "update-public-api: $dir: dropped unshipped entry whose API is gone: $line"
    else
      breaking+="$line"$'\n'
    fi
  done <<<"$removed"
  breaking="${breaking%$'\n'}"
  if [ -n "$breaking" ]; then
    if [ "$allow_removals" = 1 ]; then
      while IFS= read -r line; do printf '*REMOVED*%s\n' "$line" >> "$unshipped"; done <<<"$breaking"
      sort_api "$unshipped"
      echo "update-public-api: $dir: recorded removed shipped API (a breaking change):"
      sed 's/^/  - /' <<<"$breaking"
    else
      echo "update-public-api: $dir: shipped API has disappeared (a breaking change); rerun with --allow-removals to record it:" >&2
      sed 's/^/  - /' <<<"$breaking" >&2
      status=1
      continue
    fi
  fi

  if [ "$ship" = 1 ]; then
    shipped="$dir/PublicAPI.Shipped.txt"
    tmp="$(mktemp)"
    grep '^\*REMOVED\*' "$unshipped" | sed 's/^\*REMOVED\*//' > "$tmp.removed" || true
    { grep -v -x -F -f "$tmp.removed" "$shipped" || true; grep -v -e '^#nullable' -e '^\*REMOVED\*' "$unshipped" || true; } > "$tmp"
    mv "$tmp" "$shipped"
    rm -f "$tmp.removed"
    sort_api "$shipped"
    echo '#nullable enable' > "$unshipped"
    echo "update-public-api: $dir: shipped"
  fi
  echo "update-public-api: $dir: $(($(wc -l < "$unshipped") - 1)) unshipped, $(($(wc -l < "$dir/PublicAPI.Shipped.txt") - 1)) shipped entries"
done
exit "$status"
