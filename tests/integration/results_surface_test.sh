#!/usr/bin/env bash
# The results surface end to end on the reduced demo sweep (6 tasks, one process): run --filter
# and --set, export (csv, jsonl, per-layer long form), show, compare (passes on a copy, fails on a
# changed cell), plot (SVG that parses), render --anchors refusing a cross-dataset comparison,
# plan without data, --version and the usage exit code.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PY=/usr/bin/python3  # Debian's, with h5py and pandas (scripts/install-deps.sh --with-python)
write_sweep it_surface "$work/s.yaml"
q() { "$QSWEEP_BIN" "$@"; }
expect_rc() { local want=$1; shift; set +e; "$@" >"$work/out" 2>&1; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat "$work/out"; fail "'$*' exited $rc, expected $want"; }; }

# --version and usage errors (documented: 1).
q --version >"$work/version"
grep -q "^qsweep .* (commit " "$work/version" || fail "--version"
expect_rc 1 q no-such-command
grep -q "unknown subcommand 'no-such-command'" "$work/out" || { cat "$work/out"; fail "an unknown subcommand is not named"; }
expect_rc 1 q rendr results.h5
grep -q "unknown subcommand 'rendr'; did you mean 'render'?" "$work/out" || { cat "$work/out"; fail "no suggestion for 'rendr'"; }
expect_rc 1 q render
expect_rc 1 q run "$work/s.yaml" --threads 0
grep -q "threads" "$work/out" || fail "--threads 0 is not named"
for bad in "eval --batch-size 0" "eval --width 0" "train --momentum 1.5" "prepare imagenet --max-image-pixels 0"; do
  expect_rc 1 q $bad
  grep -q "not in range" "$work/out" || { cat "$work/out"; fail "'$bad': no range in the message"; }
done

# run --filter: only resnet18's three cells; the plan stays whole.
q run "$work/s.yaml" --results "$work/r.h5" --filter 'model=resnet18' >"$work/log" 2>&1 || { cat "$work/log"; fail "filtered run"; }
grep -q "3 left out by --filter, 3 to run" "$work/log" || { cat "$work/log"; fail "--filter did not select 3 tasks"; }
[[ $(ok_cells "$work/r.h5") == 3 ]] || fail "expected 3 cells after the filtered run"
# The cells not run yet read "·" (not "failed"), and render exits 0.
q render "$work/r.h5" >"$work/partial.rst" || fail "render of a partly run sweep must exit 0"
[[ $(grep -o "·" "$work/partial.rst" | wc -l) == 3 ]] || { cat "$work/partial.rst"; fail "not-run cells do not read '·'"; }
! grep -q failed "$work/partial.rst" || fail "a not-run cell reads 'failed'"
expect_rc 2 q run "$work/s.yaml" --results "$work/r.h5" --filter 'model=resnet19'
grep -q "matches none of the" "$work/out" || fail "an empty --filter is not refused"
expect_rc 1 q run "$work/s.yaml" --results "$work/r.h5" --filter 'wbits=4'  # does not parse: the command line's (1)
grep -q "did you mean 'wbit'" "$work/out" || fail "a bad --filter key has no suggestion"
q run "$work/s.yaml" --results "$work/r.h5" >"$work/log" 2>&1 || { cat "$work/log"; fail "full run"; }
grep -q "3 already done, 3 to run" "$work/log" || { cat "$work/log"; fail "the rest of the sweep did not run"; }

# --set: validated as the file, part of the ids.
expect_rc 1 q plan "$work/s.yaml" --set a_p=9
grep -q "^qsweep: error: --set:.*a_p: 9 not in \[1, 8\]" "$work/out" || { cat "$work/out"; fail "--set a_p=9"; }
# The cost column is seconds and the same with and without --resolve (issue 28: 2.05 vs 0.73 units).
q plan "$work/s.yaml" >"$work/plan_plain"
awk 'NR>1 && NF==8 {print $2, $3, $4, $5, $6, $7, $8}' "$work/plan_plain" >"$work/costs_plain"
q plan "$work/s.yaml" --resolve | awk 'NR>1 && NF==8 {print $2, $3, $4, $5, $6, $7, $8}' >"$work/costs_resolved"
[[ $(wc -l <"$work/costs_plain") == 6 ]] && cmp -s "$work/costs_plain" "$work/costs_resolved" ||
  { paste "$work/costs_plain" "$work/costs_resolved"; fail "plan's costs change with --resolve"; }
grep -q "^cost s: seconds of one rank of the 2-core development VM" "$work/plan_plain" || fail "plan does not state the costs' reference"
q plan "$work/s.yaml" --resolve | awk 'NR>1 && NF==8 {print $1}' | sort >"$work/ids1"
q plan "$work/s.yaml" --resolve --set ema_ratio=0.5 | awk 'NR>1 && NF==8 {print $1}' | sort >"$work/ids2"
[[ $(comm -12 "$work/ids1" "$work/ids2" | wc -l) == 2 ]] || fail "--set ema_ratio should change the 4 quantized ids only"

# export: tidy csv/jsonl and the long form, read back with pandas.
q export "$work/r.h5" --out "$work/tasks.csv"
q export "$work/r.h5" --format jsonl --out "$work/tasks.jsonl"
q export "$work/r.h5" --quantizers --out "$work/q.csv"
"$PY" - "$work" <<'PY'
import json, sys
import pandas as pd
w = sys.argv[1]
t = pd.read_csv(f"{w}/tasks.csv")
assert len(t) == 6, len(t)
assert set(t.status) == {"ok"}, t.status
for col in ["id", "top1", "top1_count", "seconds_total", "weights_sha256", "config.options.a_p", "config.seed"]:
    assert col in t.columns, col
j = [json.loads(l) for l in open(f"{w}/tasks.jsonl")]
assert len(j) == 6 and all("config" in r for r in j)
assert sorted(r["id"] for r in j) == sorted(t.id)
q = pd.read_csv(f"{w}/q.csv")
assert set(q.id) <= set(t.id) and len(set(q.id)) == 4, set(q.id)   # FP32 rows have no quantizers
assert q.sqnr_db.notna().all(), "sqnr_db missing"
w8 = q[(q.is_weight == 1) & (q.bits == 8)].sqnr_db
w4 = q[(q.is_weight == 1) & (q.bits == 4)].sqnr_db
assert w8.median() > w4.median() + 15, (w8.median(), w4.median())  # ~6 dB per bit
print("export: tasks", len(t), "quantizer rows", len(q), "median weight SQNR W8 %.1f W4 %.1f dB" % (w8.median(), w4.median()))
PY

# show: by cell and by id prefix; ambiguous and unknown selections are refused.
q show "$work/r.h5" --cell 'model=resnet18,wbit=4' >"$work/show"
grep -q "Academic MSE/EMAMSE W4A8" "$work/show" || { cat "$work/show"; fail "show: cell line"; }
grep -q "SQNR dB" "$work/show" && grep -q "conv1.weight_fake_quant" "$work/show" || fail "show: per-layer table"
grep -q "written by commit" "$work/show" || fail "show: provenance"
id=$(awk -F, 'NR==2 {print $1}' "$work/tasks.csv")
q show "$work/r.h5" "${id:0:6}" >"$work/show2"
grep -q "^task $id" "$work/show2" || fail "show by id prefix"
expect_rc 2 q show "$work/r.h5" --cell 'model=resnet18'
grep -q "matches 3 tasks" "$work/out" || fail "an ambiguous --cell is not refused"

# Activation statistics a task took from its rank's cache are marked in the row and in show, so
# that its ~0 s calibration is not read as the method's cost (issue 28 item 10).
cat >"$work/cache.yaml" <<YAML
sweep: it_cache
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 4, batch_size: 64,
       eval_batch_size: 500}
$(demo_models)
grid:
  - product: {model: resnet18, backend: academic, w_calib: [minmax, mse], a_calib: ema_minmax, wbit: 4, abit: 8}
YAML
q run "$work/cache.yaml" --results "$work/cache.h5" >"$work/log" 2>&1 || { cat "$work/log"; fail "cache run"; }
q export "$work/cache.h5" --out "$work/cache.csv"
cat >"$work/a_stats.py" <<'PY'
import sys, pandas as pd
t = pd.read_csv(sys.argv[1])
assert sorted(t.a_stats) == ["cached", "computed"], list(t.a_stats)
c = t[t.a_stats == "cached"].iloc[0]
assert c.seconds_calibrate_activations < t[t.a_stats == "computed"].iloc[0].seconds_calibrate_activations
print(c.id)
PY
cached_id=$("$PY" "$work/a_stats.py" "$work/cache.csv") || fail "a_stats: one task computes the statistics, the other reuses them"
q show "$work/cache.h5" "$cached_id" >"$work/show3"
grep -q "calibrate activations [0-9.]* (statistics from this rank's cache" "$work/show3" ||
  { cat "$work/show3"; fail "show does not mark statistics from the cache"; }
! grep -q "this rank's cache" "$work/show" || fail "show marks computed statistics"

# compare: a copy passes; a changed cell fails (exit 3) and is named; --max-delta lets it pass.
cp "$work/r.h5" "$work/r2.h5"
q compare "$work/r.h5" "$work/r2.h5" >"$work/cmp" || { cat "$work/cmp"; fail "compare of a copy"; }
grep -q "6 cells in both, 0 only in A, 0 only in B; 0 beyond" "$work/cmp" || { cat "$work/cmp"; fail "compare counts"; }
# Listed in the table's order (backend, row, model), not in the file's (issue 28).
# listed FILE: the cell labels of a compare listing, ';'-joined (the words before the first number).
listed() {
  awk '/^cell /{on=1; next} on && NF==0{exit}
       on{l=""; for(i=1;i<=NF;i++){ if ($i ~ /^[-+]?[0-9.]+$/ || $i=="-" || $i=="failed") break; l=l (l?" ":"") $i }; print l}' \
    "$1" | tr '\n' ';'
}
[[ $(listed "$work/cmp") == "resnet18 Academic FP32;mobilenetv2_1.0 Academic FP32;resnet18 Academic MinMax/EMAMinMax W8A8;mobilenetv2_1.0 Academic MinMax/EMAMinMax W8A8;resnet18 Academic MSE/EMAMSE W4A8;mobilenetv2_1.0 Academic MSE/EMAMSE W4A8;" ]] ||
  { cat "$work/cmp"; fail "compare does not list the cells in the table's order"; }
"$PY" - "$work/r2.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    t = f["tasks"]
    for i in range(len(t)):
        row = t[i]
        if row["model"] == b"mobilenetv2_1.0" and row["wbit"] == 8:
            row["top1"] += 0.3
            t[i] = row
PY
expect_rc 3 q compare "$work/r.h5" "$work/r2.h5"
grep -q "mobilenetv2_1.0 Academic MinMax/EMAMinMax W8A8 .* +0.30  <-- |delta| > 0" "$work/out" || { cat "$work/out"; fail "changed cell not named"; }
expect_rc 0 q compare "$work/r.h5" "$work/r2.h5" --max-delta 0.3
expect_rc 3 q compare "$work/r.h5" "$work/r2.h5" --only-diff
[[ $(listed "$work/out") == "mobilenetv2_1.0 Academic MinMax/EMAMinMax W8A8;" ]] || { cat "$work/out"; fail "--only-diff"; }
grep -q "(5 cells with B - A = +0.00 not listed: --only-diff)" "$work/out" || { cat "$work/out"; fail "--only-diff count"; }
expect_rc 3 q compare "$work/r.h5" "$work/r2.h5" --sort delta
[[ $(listed "$work/out") == "mobilenetv2_1.0 Academic MinMax/EMAMinMax W8A8;"* ]] || { cat "$work/out"; fail "--sort delta"; }

# plot: SVGs that parse.
q plot "$work/r.h5" --out-dir "$work/plots" >"$work/plots.txt"
grep -q "r_accuracy.svg" "$work/plots.txt" || fail "plot did not print its path"
expect_rc 2 q plot "$work/r.h5" --out-dir "$work/plots" --anchors "$REPO/sweeps/anchors/mqbench_v0.0.5_academic.yaml"
q plot "$work/r.h5" --out-dir "$work/plots" --cross-dataset \
  --anchors "$REPO/sweeps/anchors/mqbench_v0.0.5_academic.yaml" >/dev/null 2>&1
"$PY" - "$work/plots" <<'PY'
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
for name in ["r_accuracy.svg", "r_vs_anchors.svg"]:
    root = ET.parse(f"{d}/{name}").getroot()
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "resnet18" in texts and "mobilenetv2_1.0" in texts, (name, texts[:10])
assert any("WARNING" in (t or "") for t in texts), "the cross-dataset plot has no warning"
print("plot: both SVGs parse")
PY

# render --anchors: the Fashion-MNIST demo beside ImageNet numbers is refused, or labelled.
expect_rc 2 q render "$work/r.h5" --anchors "$REPO/sweeps/anchors/mqbench_v0.0.5_academic.yaml"
grep -q "not comparable" "$work/out" || fail "cross-dataset anchors not refused"
q render "$work/r.h5" --cross-dataset --anchors "$REPO/sweeps/anchors/mqbench_v0.0.5_academic.yaml" >"$work/t.rst" 2>/dev/null
head -1 "$work/t.rst" | grep -q "^.. warning:: results on dataset 'fashion-mnist'" || fail "cross-dataset table not labelled"
# CSV is data: the warning goes to stderr alone, so pandas' documented read gives the table (issue
# 28: a '# warning' first line made it a 12x2 frame of junk without an error).
q render "$work/r.h5" --format csv --cross-dataset --anchors "$REPO/sweeps/anchors/mqbench_v0.0.5_academic.yaml" \
  >"$work/t.csv" 2>"$work/t.err"
grep -q "^qsweep: warning: results on dataset 'fashion-mnist'" "$work/t.err" || fail "no cross-dataset warning on stderr"
head -1 "$work/t.csv" | grep -q "^W_calibration,A_calibration,Backend,wbit,abit," || fail "the csv does not start with its header"
"$PY" - "$work/t.csv" <<'PY' || fail "pandas does not read the cross-dataset csv as its table"
import sys, pandas as pd
t = pd.read_csv(sys.argv[1], na_values="-")
assert list(t.columns[:5]) == ["W_calibration", "A_calibration", "Backend", "wbit", "abit"], list(t.columns)
assert "resnet18_published" in t.columns and len(t) >= 3, t.shape
PY

# plan without data: every missing input at once, with file:line and a hint; --resolve needs them.
sed -e "s|$FIX/shards/val.h5|\"\${QSWEEP_SURELY_UNSET}/val.h5\"|" -e "s|models/demo/resnet18.pth|models/demo/nope.pth|" \
  -e "s|models/demo/mobilenetv2_1.0.pth|models/demo/nope2.pth|" "$work/s.yaml" >"$work/nodata.yaml"
q plan "$work/nodata.yaml" >"$work/out" 2>&1 || { cat "$work/out"; fail "plan needed the data"; }
grep -q "3 input(s) cannot be read yet" "$work/out" || { cat "$work/out"; fail "missing inputs not listed"; }
grep -q "nodata.yaml:2:14: data.eval: environment variable QSWEEP_SURELY_UNSET is not set" "$work/out" || { cat "$work/out"; fail "unset variable place"; }
grep -q "models.mobilenetv2_1.0.weights: .*nope2.pth' does not exist; ImageNet checkpoints" "$work/out" || fail "weights hint"
grep -q "^id (provisional)" "$work/out" || fail "provisional ids not labelled"
expect_rc 2 q plan "$work/nodata.yaml" --resolve
grep -q "3 input(s) of the sweep cannot be read" "$work/out" || { cat "$work/out"; fail "--resolve did not list every input"; }
echo "results surface: 1 passed, 0 failed"
