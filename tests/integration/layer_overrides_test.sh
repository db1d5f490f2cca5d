#!/usr/bin/env bash
# Per-layer overrides (`layers:`) in a sweep under `mpirun -n 2` give what one process gives: every
# top-1 and every quantizer's scale, zero point, min and max identical. Also: the rules reach the
# quantizers (bits of the named layers, float layers without quantizers), the rows carry the
# rules' label and render as rows of their own, `plan` shows what each rule sets, and a rule that
# matches no layer stops `plan` and `run` with the sweep file:line.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The evaluation split is the 1000-image calibration shard: the test is about equality, not accuracy.
cat >"$work/s.yaml" <<YAML
sweep: it_layers
data: {eval: $FIX/shards/calib.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 2, batch_size: 64,
       eval_batch_size: 250}
models:
  resnet18: {arch: resnet18, weights: $REPO/models/demo/resnet18.pth,
             options: {num_classes: 10, in_channels: 1, width: 0.125, small_input: true}}
grid:
  - include:   # the plain rows, for comparison
      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 4, abit: 8}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 3, abit: 8}
  - include:   # W4A8 with the first and last layers at 8 bits, stated explicitly
      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 4, abit: 8}
    layers:
      - {match: "@first", wbit: 8, abit: 8}
      - {match: "@last", wbit: 8, abit: 8}
  - include:   # W3 for all but the named layers (W6, EMAMSE inputs)
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 3, abit: 8}
    layers:
      - {match: "layer1.*.conv*", wbit: 6, a_observer: ema_mse}
  - include:   # layer4 kept in float
      - {model: resnet18, backend: academic, w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 4}
    layers:
      - {regex: "^layer4\\\\..*", float: true}
YAML
ntasks=5

"$QSWEEP_BIN" plan "$work/s.yaml" >"$work/plan.txt" || { cat "$work/plan.txt"; fail "plan refused the sweep"; }
cat "$work/plan.txt"
grep -q "5 tasks" "$work/plan.txt" || fail "plan: not 5 tasks (a rule must make its own task)"
grep -q "layers: @first: w8 a8; @last: w8 a8" "$work/plan.txt" || fail "plan does not show a task's rules"
grep -q "layer-overrides: '@first: w8 a8' on 1 node(s): conv1" "$work/plan.txt" || fail "plan: @first is not conv1"
grep -q "layer-overrides: 'layer1.\*.conv\*: w6 a_observer=ema_mse' on 4 node(s)" "$work/plan.txt" ||
  fail "plan: the layer1 glob does not set the 4 convs of layer1"

"$QSWEEP_BIN" run "$work/s.yaml" --results "$work/one.h5" --threads 1 >"$work/one.log" 2>&1 || { cat "$work/one.log"; fail "one process failed"; }
grep -q "$ntasks ran, 0 failed" "$work/one.log" || { cat "$work/one.log"; fail "one process: not $ntasks tasks"; }
mpirun -n 2 -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --results "$work/two.h5" >"$work/two.log" 2>&1 ||
  { cat "$work/two.log"; fail "mpirun -n 2 failed"; }
cat "$work/two.log"
grep -q "$ntasks ran, 0 failed" "$work/two.log" || fail "mpirun: not $ntasks tasks"

# Equality with one process: every quantizer and every top-1 (and the layers column).
quantizer_table() { "$QSWEEP_BIN" export "$1" --quantizers --format csv | sort; }
diff <(quantizer_table "$work/one.h5") <(quantizer_table "$work/two.h5") >/dev/null || {
  diff <(quantizer_table "$work/one.h5") <(quantizer_table "$work/two.h5") | head -20
  fail "a quantizer differs between one process and mpirun -n 2"
}
cells() {
  "$QSWEEP_BIN" export "$1" --format csv |
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
             { print $col["id"], $col["backend"], $col["wbit"], $col["layers"], $col["top1"] }' | sort
}
cells "$work/one.h5" | tee "$work/one.t"
cells "$work/two.h5" >"$work/two.t"
diff "$work/one.t" "$work/two.t" || fail "a top-1 differs between one process and mpirun -n 2"
"$QSWEEP_BIN" compare "$work/one.h5" "$work/two.h5" --max-delta 0 >"$work/cmp.txt" || { cat "$work/cmp.txt"; fail "compare found differences"; }

# The rules reached the quantizers. Quantizer rows: id,...,quantizer,...,bits (columns by name).
bits_of() {  # RESULTS LAYERS-LABEL-SUBSTRING QUANTIZER: the bits of that quantizer in the task with those rules
  local id
  id=$("$QSWEEP_BIN" export "$1" --format csv | awk -F, -v want="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
       index($col["layers"], want) && (want != "" || $col["layers"] == "") { print $col["id"] }' | head -1)
  [[ -n $id ]] || fail "no task with layers '$2'"
  "$QSWEEP_BIN" export "$1" --quantizers --format csv | awk -F, -v id="$id" -v q="$3" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $col["id"] == id && $col["quantizer"] == q { print $col["bits"]; exit }'
}
[[ $(bits_of "$work/one.h5" "@first" conv1.weight_fake_quant) == 8 ]] || fail "@first: conv1 weights not 8-bit"
[[ $(bits_of "$work/one.h5" "@first" fc.weight_fake_quant) == 8 ]] || fail "@last: fc weights not 8-bit"
[[ $(bits_of "$work/one.h5" "@first" layer1.0.conv1.weight_fake_quant) == 4 ]] || fail "@first: layer1 not at 4 bits"
[[ $(bits_of "$work/one.h5" "layer1" layer1.1.conv2.weight_fake_quant) == 6 ]] || fail "layer1 glob: not 6-bit"
[[ $(bits_of "$work/one.h5" "layer1" layer2.0.conv1.weight_fake_quant) == 3 ]] || fail "layer1 glob: layer2 not 3-bit"
[[ -z $(bits_of "$work/one.h5" "layer4" layer4.0.conv1.weight_fake_quant) ]] || fail "float layer4 has a weight quantizer"
[[ $(bits_of "$work/one.h5" "layer4" layer3.0.conv1.weight_fake_quant) == 4 ]] || fail "float rule: layer3 not at 4 bits"

# Rows of their own in the table, labelled with their rules.
"$QSWEEP_BIN" render "$work/one.h5" --format md >"$work/table.md"
cat "$work/table.md"
grep -qF 'MinMax [@first: w8 a8; @last: w8 a8]' "$work/table.md" || fail "the table does not label the rules' row"
grep -qF 'MinMax [layer1.\*.conv\*: w6 a_observer=ema_mse]' "$work/table.md" || fail "the md table does not escape the glob's * (emphasis)"
[[ $(grep -c '| TensorRT | 4 | 8 |' "$work/table.md") == 2 ]] || fail "the W4A8 rows with and without rules merged"

# Selecting by rules: --filter and show --cell take layers=none|set.
"$QSWEEP_BIN" plan "$work/s.yaml" --filter layers=set | grep -q "3 selected by --filter" || fail "--filter layers=set"
"$QSWEEP_BIN" plan "$work/s.yaml" --filter layers=none | grep -q "2 selected by --filter" || fail "--filter layers=none"
# --filter lists only the selected cells' rules (issue 28): the W4 TensorRT cell has @first/@last only.
"$QSWEEP_BIN" plan "$work/s.yaml" --filter 'backend=tensorrt,layers=set' >"$work/plan_f.txt"
grep -q "@first: w8 a8" "$work/plan_f.txt" || { cat "$work/plan_f.txt"; fail "--filter dropped the selected cell's rules"; }
! grep -q "layer1\.\*\.conv\*\|layer4" "$work/plan_f.txt" || { cat "$work/plan_f.txt"; fail "--filter lists rules of cells it leaves out"; }
"$QSWEEP_BIN" show "$work/one.h5" --cell 'backend=tensorrt,wbit=4,layers=set' >"$work/show.txt" ||
  { cat "$work/show.txt"; fail "show --cell with layers=set"; }
grep -q '\[@first: w8 a8; @last: w8 a8\]' "$work/show.txt" || { cat "$work/show.txt"; fail "show: not the task with rules"; }

# A rule that matches nothing stops plan and run, naming the file and line.
sed 's/layer1\.\*\.conv\*/layer9.*/' "$work/s.yaml" >"$work/bad.yaml"
"$QSWEEP_BIN" plan "$work/bad.yaml" >"$work/bad.txt" 2>&1 && fail "plan accepted a rule that matches nothing"
grep -q "bad.yaml:[0-9]*:[0-9]*: layers rule 'layer9.\*: w6 a_observer=ema_mse' matches no node of resnet18" "$work/bad.txt" ||
  { cat "$work/bad.txt"; fail "the refusal does not name the rule's place"; }
"$QSWEEP_BIN" run "$work/bad.yaml" --results "$work/bad.h5" >"$work/badrun.txt" 2>&1 && fail "run accepted it"
grep -q "matches no node of resnet18" "$work/badrun.txt" || { cat "$work/badrun.txt"; fail "run: no reason"; }
# The placement passes, one by one (what a backend is).
"$QSWEEP_BIN" inspect-model resnet18 --passes --backend tensorrt >"$work/passes.txt"
cat "$work/passes.txt"
grep -q "^1. fold-bn$" "$work/passes.txt" && grep -q "^4. insert-quantizers$" "$work/passes.txt" ||
  fail "inspect-model --passes does not list TensorRT's passes in order"
grep -q "31 activation and 21 weight quantizers" "$work/passes.txt" || fail "inspect-model --passes: quantizer counts"
echo "layer overrides: 1 passed, 0 failed"
