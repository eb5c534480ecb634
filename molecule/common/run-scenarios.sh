#!/usr/bin/env bash
# Run molecule scenarios side by side (they share no container, port or
# network), each into its own log, and report. Scenarios spend most of their
# time waiting on apt and on per-task round trips, so running them together
# roughly halves the suite's wall time on a 2-core machine.
#
# usage: run-scenarios.sh SCENARIO...
set -uo pipefail
logs=".cache/logs"
mkdir -p "$logs"
# Figures the tests measure (deploy times, unit exposure, requests served).
: >"$logs/measurements.txt"
declare -A pids started
for scenario in "$@"; do
  molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 &
  pids[$scenario]=$!
  started[$scenario]=$SECONDS
  echo "molecule test -s $scenario: started (log: $logs/$scenario.log)"
done
failed=()
for scenario in "$@"; do
  if wait "${pids[$scenario]}"; then
    echo "molecule test -s $scenario: passed in $((SECONDS - ${started[$scenario]})) s"
  else
    echo "molecule test -s $scenario: FAILED after $((SECONDS - ${started[$scenario]})) s; end of its log:"
    sed 's/\x1b\[[0-9;]*m//g' "$logs/$scenario.log" | tail -n 80
    failed+=("$scenario")
  fi
done
if [[ -s "$logs/measurements.txt" ]]; then
  echo "measured:"
  sed 's/^/  /' "$logs/measurements.txt"
fi
if ((${#failed[@]})); then
  echo "failed scenarios: ${failed[*]}"
  exit 1
fi
