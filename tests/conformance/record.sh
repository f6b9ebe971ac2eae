#!/usr/bin/env bash
# Re-record the kernel-oracle transcripts of the usernet conformance scenarios.
#
#   tests/conformance/record.sh                 # every scenario in scenarios/
#   tests/conformance/record.sh FILE.scenario…  # only the given ones
#
# Each NAME.scenario is run with the shared oracle runner (kernel_run.py) and
# its transcript written to NAME.expected.jsonl next to it.  The shared tools
# are found at ../shared/conformance relative to the repository root, unless
# USERNET_CONFORMANCE points elsewhere.  Needs root (or user namespaces).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
shared="${USERNET_CONFORMANCE:-$repo_root/../shared/conformance}"
runner="$shared/kernel_run.py"
python="${PYTHON:-python3}"

if [[ ! -f "$runner" ]]; then
    echo "record.sh: oracle runner not found: $runner" >&2
    echo "record.sh: set USERNET_CONFORMANCE to the shared conformance folder" >&2
    exit 2
fi

if [[ $# -gt 0 ]]; then
    files=("$@")
else
    shopt -s nullglob
    files=("$here"/scenarios/*.scenario)
    shopt -u nullglob
fi

if [[ ${#files[@]} -eq 0 ]]; then
    echo "record.sh: no scenarios to record" >&2
    exit 1
fi

status=0
for f in "${files[@]}"; do
    case "$f" in
        *.scenario) ;;
        *) echo "record.sh: not a .scenario file: $f" >&2; status=1; continue ;;
    esac
    if [[ ! -f "$f" ]]; then
        echo "record.sh: no such file: $f" >&2
        status=1
        continue
    fi
    out="${f%.scenario}.expected.jsonl"
    tmp="$out.tmp.$$"
    if "$python" "$runner" --jsonl "$f" > "$tmp"; then
        mv -f "$tmp" "$out"
        echo "recorded $(basename "$out") ($(wc -l < "$out") commands)"
    else
        rm -f "$tmp"
        echo "record.sh: oracle run failed for $f" >&2
        status=1
    fi
done
exit $status
