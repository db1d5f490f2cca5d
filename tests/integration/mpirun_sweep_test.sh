#!/usr/bin/env bash
# qsweep run under mpirun -n 2, resume (nothing reruns), and -n 4 oversubscribed giving the same
# numbers; the RST table has the seed's layout.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
write_sweep it_mpirun "$work/s.yaml"

mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/two.h5" | tee "$work/log2"
grep -q "6 ran, 0 failed" "$work/log2" || fail "first run did not finish 6 tasks"
[[ $(ok_cells "$work/two.h5") == 6 ]] || fail "expected 6 filled cells"
"$QSWEEP_BIN" render "$work/two.h5" --format rst >"$work/table.rst"
grep -q '| W_calibration | A_calibration | Backend  | wbit | abit | resnet18 | mobilenetv2_1.0 |' "$work/table.rst" ||
  fail "RST header differs from the seed's layout"
grep -q '^+===============+' "$work/table.rst" || fail "RST header rule missing"

mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/two.h5" | tee "$work/log2b"
grep -q "6 already done, 0 to run" "$work/log2b" || fail "resume reran finished tasks"

mpirun -n 4 --oversubscribe -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/four.h5" | tee "$work/log4"
grep -q "on 4 rank(s)" "$work/log4" || fail "not 4 ranks"
diff <("$QSWEEP_BIN" render "$work/two.h5" --format csv) <("$QSWEEP_BIN" render "$work/four.h5" --format csv) ||
  fail "-n 4 gave other numbers than -n 2"
echo "mpirun sweep: 1 passed, 0 failed"
