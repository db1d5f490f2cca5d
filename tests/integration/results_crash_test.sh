#!/usr/bin/env bash
# The results file's guarantees under failure (support/h5_commit.h): 20 kill -9 of rank 0 at
# random moments, each followed by a readability check with h5py (every row seen before is still
# there), then a resume to completion with no lost or duplicated row; a second writer refused;
# a results file of another sweep refused (and --new-file moving it aside); a full disk
# (RLIMIT_FSIZE) and an unwritable folder reported clearly with the rows already written intact.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'pkill -9 -f "$work/" 2>/dev/null || true; rm -rf "$work"' EXIT
PY=/usr/bin/python3
write_sweep it_crash "$work/full.yaml"
# 26 tasks evaluated on the 1 024 calibration images (about a second each), so the 20 kills all
# land in a run with work left: before, during and after many row writes.
cat >"$work/s.yaml" <<YAML
sweep: it_crash
data: {eval: $FIX/shards/calib.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 2, batch_size: 64,
       eval_batch_size: 512}
$(demo_models)
grid:
  - include:
      - {model: [resnet18, mobilenetv2_1.0], backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}
  - product:
      model: [resnet18, mobilenetv2_1.0]
      backend: [academic, tensorrt]
      zip: [{w_calib: minmax, a_calib: ema_minmax}, {w_calib: mse, a_calib: ema_minmax}]
      wbit: [8, 4, 3]
      abit: 8
YAML
r=$work/r.h5

# ok task ids in the file, one per line, sorted; fails the test if h5py cannot read it.
ok_ids() {
  "$PY" - "$1" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    t = f["tasks"][:]
    for row in t:
        if row["status"] == b"ok" and row["wbit"] != 32:
            g = f["task/" + row["id"].decode() + "/quantizers"]   # the row's quantizer groups exist
            assert len(g) > 0
            for name in g:
                g[name]["scale"][:]
    ids = sorted(r["id"].decode() for r in t if r["status"] == b"ok")
    print("\n".join(ids))
PY
}

RANDOM=1005  # the kill moments are random but the same in every run of this test
seen=$work/seen; : >"$seen"
for i in $(seq 20); do
  "$QSWEEP_BIN" run "$work/s.yaml" --results "$r" >"$work/log$i" 2>&1 &
  pid=$!
  delay=$(( 300 + RANDOM % 5700 ))  # 0.3 .. 6 s: before, during and after the writes of a row
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [[ -f $r ]]; then
    ok_ids "$r" >"$work/now" || fail "kill $i (after ${delay} ms): h5py cannot read the results file"
    comm -23 "$seen" <(sort -u "$work/now") | grep -q . && fail "kill $i: a row reported before is gone"
    sort -u "$work/now" >"$seen"
  fi
  echo "kill $i after ${delay} ms: $(wc -l <"$seen") task(s) in the file"
done
"$QSWEEP_BIN" run "$work/s.yaml" --results "$r" >"$work/final" 2>&1 || { cat "$work/final"; fail "resume after the kills"; }
ok_ids "$r" >"$work/now"
[[ $(wc -l <"$work/now") == 26 && $(sort -u "$work/now" | wc -l) == 26 ]] ||
  fail "after resuming: $(wc -l <"$work/now") ok rows, $(sort -u "$work/now" | wc -l) distinct (expected 26 and 26)"

# A second writer on the same file is refused while the first runs.
"$QSWEEP_BIN" run "$work/s.yaml" --results "$r" --no-resume >"$work/first" 2>&1 &
first=$!
for _ in $(seq 100); do grep -q "tasks planned" "$work/first" && break; sleep 0.1; done
set +e
"$QSWEEP_BIN" run "$work/s.yaml" --results "$r" >"$work/second" 2>&1
rc=$?
set -e
kill -9 "$first" 2>/dev/null || true
wait "$first" 2>/dev/null || true
[[ $rc == 2 ]] && grep -q "another qsweep run is writing this results file (pid $first on" "$work/second" ||
  { cat "$work/second"; fail "a second writer was not refused (rc $rc)"; }

# Another sweep's results file is refused, naming the first difference; --new-file moves it aside.
sed 's/wbit: \[8, 4, 3\]/wbit: [8, 4, 2]/' "$work/s.yaml" >"$work/other.yaml"
set +e
"$QSWEEP_BIN" run "$work/other.yaml" --results "$r" >"$work/foreign" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -q "holds the results of another sweep text (line [0-9]*: the file has" "$work/foreign" ||
  { cat "$work/foreign"; fail "a results file of another sweep was not refused (rc $rc)"; }
sed -i 's/^sweep: it_crash/sweep: it_crash3/' "$work/other.yaml"
"$QSWEEP_BIN" run "$work/other.yaml" --results "$r" --new-file --filter 'wbit=32' >"$work/new" 2>&1 ||
  { cat "$work/new"; fail "--new-file"; }
aside=$(ls "$work"/r.*.h5 | head -1)
[[ -f $aside ]] && [[ $(ok_ids "$aside" | sort -u | wc -l) == 26 ]] || fail "--new-file lost the old file"

# A full disk: the run stops with the cause named and the rows already written intact.
rm -f "$work/d.h5"
set +e
( trap '' XFSZ; ulimit -f 600; export PMIX_MCA_gds=hash; exec "$QSWEEP_BIN" run "$work/full.yaml" --results "$work/d.h5" ) >"$work/full" 2>&1
rc=$?
set -e
[[ $rc == 2 ]] && grep -q "d.h5: cannot write .*File too large; the file is unchanged (every row written before is intact)" "$work/full" ||
  { cat "$work/full"; fail "a full disk was not reported clearly (rc $rc)"; }
n=$(ok_ids "$work/d.h5" | wc -l)
[[ $n -ge 1 && $n -lt 6 ]] || fail "expected some rows in the size-limited file, got $n"
"$QSWEEP_BIN" run "$work/full.yaml" --results "$work/d.h5" >"$work/full2" 2>&1 || fail "resume after the full disk"
grep -q "$n already done" "$work/full2" || fail "the rows written before the full disk were not kept"

# An unwritable folder: refused before any work.
mkdir "$work/ro"; chmod 500 "$work/ro"
set +e
"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/ro/x.h5" >"$work/ro.log" 2>&1
rc=$?
set -e
chmod 700 "$work/ro"
if [[ $(id -u) != 0 ]]; then  # root writes anywhere; the check is for ordinary users
  [[ $rc == 2 ]] && grep -q "x.h5: cannot create the lock file" "$work/ro.log" || { cat "$work/ro.log"; fail "unwritable folder"; }
fi
echo "results crash safety: 1 passed, 0 failed"
