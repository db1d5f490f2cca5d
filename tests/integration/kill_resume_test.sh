#!/usr/bin/env bash
# SIGKILL a worker rank mid-sweep: the results file stays readable with the rows written so far,
# and rerunning finishes only the missing tasks, leaving the earlier rows as they were.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"; pkill -9 -f "$work/s.yaml" 2>/dev/null || true' EXIT
write_sweep it_kill "$work/s.yaml"

mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r.h5" >"$work/log1" 2>&1 &
launcher=$!
for _ in $(seq 600); do  # until the first row lands (≤ 60 s)
  [[ -f $work/r.h5 ]] && [[ $(ok_cells "$work/r.h5" 2>/dev/null || echo 0) -ge 1 ]] && break
  sleep 0.1
done
worker=""
for pid in $(pgrep -f "run $work/s.yaml" || true); do
  tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && worker=$pid
done
[[ -n $worker ]] || fail "could not find rank 1"
kill -9 "$worker"
wait "$launcher" && fail "mpirun should report the killed rank" || true
before=$(ok_cells "$work/r.h5")
echo "rows after the kill: $before"
[[ $before -ge 1 && $before -lt 6 ]] || fail "expected some but not all rows before resuming, got $before"
"$QSWEEP_BIN" render "$work/r.h5" --format csv >"$work/before.csv"

mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/r.h5" | tee "$work/log2"
grep -q "$before already done" "$work/log2" || fail "resume did not skip the $before finished tasks"
[[ $(ok_cells "$work/r.h5") == 6 ]] || fail "resume did not complete the sweep"
# Every number present before the kill is unchanged.
"$QSWEEP_BIN" render "$work/r.h5" --format csv >"$work/after.csv"
paste -d'\n' "$work/before.csv" "$work/after.csv" | awk 'NR%2==1{b=$0; next} {
  n=split(b, x, ","); split($0, y, ","); for (i=1;i<=n;i++) if (x[i] != "-" && x[i] != "" && x[i] != y[i]) exit 1 }' ||
  fail "a row written before the kill changed"
echo "kill and resume: 1 passed, 0 failed"
