#!/usr/bin/env bash
# Run molecule scenarios side by side (they share no container, port or
# network), each into its own log, and report. Scenarios spend most of their
# time waiting on apt and on per-task round trips, so running them together
# roughly halves the suite's wall time on a 2-core machine.
#
# Each scenario runs with the tools of one venv: those named in
# LEGACY_SCENARIOS with $LEGACY_VENV (the older supported controller,
# requirements-legacy.txt), every other one with $VENV. The Makefile sets all
# three; the first line of each scenario says which ansible-core it ran.
#
# usage: [VENV=.venv] [LEGACY_VENV=.venv-legacy LEGACY_SCENARIOS="cluster"] run-scenarios.sh SCENARIO...
set -uo pipefail
venv="${VENV:-.venv}"
legacy_venv="${LEGACY_VENV:-.venv-legacy}"
legacy_scenarios=" ${LEGACY_SCENARIOS:-} "
logs=".cache/logs"
mkdir -p "$logs"
# Figures the tests measure (deploy times, unit exposure, requests served).
: >"$logs/measurements.txt"
# Each playbook run of the tests: its time and controller CPU (support.py).
: >"$logs/playbook-runs.txt"
declare -A pids started
for scenario in "$@"; do
  tools="$venv"
  [[ $legacy_scenarios == *" $scenario "* ]] && tools="$legacy_venv"
  # molecule calls ansible-playbook and pytest by name: its venv goes first.
  tools_path="$(cd "$tools/bin" && pwd)" || exit 1
  controller="$("$tools_path/python" -c 'import sys, ansible.release as r; print(f"ansible-core {r.__version__}, Python {sys.version.split()[0]}")')" || exit 1
  PATH="$tools_path:$PATH" molecule test -s "$scenario" >"$logs/$scenario.log" 2>&1 &
  pids[$scenario]=$!
  started[$scenario]=$SECONDS
  echo "molecule test -s $scenario: started with $tools ($controller; log: $logs/$scenario.log)"
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
