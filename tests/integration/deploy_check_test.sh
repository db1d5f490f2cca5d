#!/usr/bin/env bash
# The deployment check (issue 13) on the committed demo zoo: TensorRT W8A8 and W4A8 cells run in
# integer arithmetic within 0.2 point of their simulated top-1 and with >= 99 % agreement (W8A8
# only on CPUs with VNNI: without it the engine's int16 pair sums saturate); an
# Academic cell is refused naming the layer; in a sweep under `mpirun -n 2` the integer figures
# equal those of one process (`qsweep eval`), and `render --deploy` sets them beside the simulated.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One intra-op thread, as each sweep rank below runs: on a CPU without VNNI the engine's int16 pair
# sums saturate, and where they do the integer result depends on how the kernel splits the work
# among threads (seen on LibTorch 2.11: 9211 against 9209 correct images).
export OMP_NUM_THREADS=1
common=(--eval "$FIX/shards/val.h5" --calibration "$FIX/shards/calib.h5" --calibration-batches 4 --batch-size 64
        --eval-batch-size 500 --num-classes 10 --in-channels 1 --small-input --deploy-check)
r18=(--model resnet18 --weights "$REPO/models/demo/resnet18.pth" --width 0.125)
mv2=(--model mobilenetv2_1.0 --weights "$REPO/models/demo/mobilenetv2_1.0.pth" --width 0.25)
w8=(--w-calib minmax --a-calib ema_minmax --wbit 8 --abit 8)
w4=(--w-calib mse --a-calib ema_mse --wbit 4 --abit 8)

"$QSWEEP_BIN" eval "${r18[@]}" --backend tensorrt "${w8[@]}" "${common[@]}" --json "$work/r18_w8.json" | tee "$work/log"
grep -q "deploy check (onednn\|deploy check (qnnpack" "$work/log" || fail "no deploy check line"
"$QSWEEP_BIN" eval "${r18[@]}" --backend tensorrt "${w4[@]}" "${common[@]}" --json "$work/r18_w4.json"
"$QSWEEP_BIN" eval "${mv2[@]}" --backend tensorrt "${w8[@]}" "${common[@]}" --json "$work/mv2_w8.json"
"$QSWEEP_BIN" eval "${mv2[@]}" --backend tensorrt "${w4[@]}" "${common[@]}" --json "$work/mv2_w4.json"
"$QSWEEP_BIN" eval "${r18[@]}" --backend academic "${w8[@]}" "${common[@]}" --json "$work/r18_acad.json" |
  tee "$work/acad"
grep -q "refused: node 'conv1' (conv2d): asymmetric weights" "$work/acad" || fail "Academic cell not refused"

/usr/bin/python3 - "$work" <<'PY' || fail "integer figures outside the limits"
import json, sys
ok = True
for name in ["r18_w8", "r18_w4", "mv2_w8", "mv2_w4"]:
    j = json.load(open(f"{sys.argv[1]}/{name}.json"))
    d = j["deploy_check"]
    gap = d["int_top1"] - j["top1"]
    steps = [l for l in d["layers"] if l["scale"] > 0]
    worst = max(l["max_abs_diff"] / l["scale"] for l in steps)
    print(f"{name}: simulated {j['top1']:.2f}  integer {d['int_top1']:.2f}  gap {gap:+.2f}  "
          f"agreement {100 * d['agree']:.2f}%  worst layer {worst:.2f} steps  ({d['engine']}, {d['seconds']:.1f} s)")
    # Without VNNI, oneDNN's int16 pair sums saturate on 8-bit weights (the engine's reason says
    # so): those cells must run, and their gap is printed, not bounded.
    saturates = "no VNNI" in d["engine_why"] and name.endswith("_w8")
    if saturates:
        print(f"  {name}: 8-bit weights on a CPU without VNNI: the engine's int16 pair sums saturate")
    ok &= (saturates or (abs(gap) <= 0.2 and d["agree"] >= 0.99)) and d["refused"] == ""
a = json.load(open(f"{sys.argv[1]}/r18_acad.json"))["deploy_check"]
ok &= "asymmetric weights" in a["refused"] and "int_top1" not in a
sys.exit(0 if ok else 1)
PY

# The same cells in a sweep under mpirun -n 2: the integer figures are those of one process.
cat >"$work/s.yaml" <<YAML
sweep: it_deploy
data: {eval: $FIX/shards/val.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 4, batch_size: 64,
       eval_batch_size: 500}
$(demo_models)
grid:
  - include:
      - {model: resnet18, backend: tensorrt, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
      - {model: mobilenetv2_1.0, backend: tensorrt, w_calib: mse, a_calib: ema_mse, wbit: 4, abit: 8}
      - {model: resnet18, backend: academic, w_calib: minmax, a_calib: ema_minmax, wbit: 8, abit: 8}
YAML
mpirun -n 2 --oversubscribe -x GLIBC_TUNABLES "$QSWEEP_BIN" run "$work/s.yaml" --set deploy_check=int8 \
  --results "$work/s.h5" >"$work/run" 2>&1 || { cat "$work/run"; fail "the sweep failed"; }
"$QSWEEP_BIN" render "$work/s.h5" --deploy --format md | tee "$work/table.md"
grep -q " / refused" "$work/table.md" || fail "render --deploy: no refused cell"
grep -qE "[0-9]+\.[0-9]{2} / [0-9]+\.[0-9]{2} \([-+][0-9]+\.[0-9]{2}\)" "$work/table.md" || fail "render --deploy: no integer cell"
"$QSWEEP_BIN" render "$work/s.h5" --deploy --format csv | head -1 | grep -q "resnet18_int,resnet18_int_gap" ||
  fail "render --deploy csv: no integer columns"
"$QSWEEP_BIN" export "$work/s.h5" --format jsonl >"$work/rows.jsonl"
/usr/bin/python3 - "$work" <<'PY' || fail "the sweep's integer figures differ from one process's"
import json, sys
w = sys.argv[1]
rows = {(r["model"], r["backend"], r["wbit"]): r for r in map(json.loads, open(f"{w}/rows.jsonl"))}
for (model, bits), name in {("resnet18", 8): "r18_w8", ("mobilenetv2_1.0", 4): "mv2_w4"}.items():
    j = json.load(open(f"{w}/{name}.json"))
    r = rows[(model, "tensorrt", bits)]
    print(f"{model} W{bits}A8: sweep int {r['int_top1_count']} ({r['deploy']}), eval int {j['deploy_check']['int_top1_count']}")
    assert r["int_top1_count"] == j["deploy_check"]["int_top1_count"] and r["top1_count"] == j["top1_count"]
assert rows[("resnet18", "academic", 8)]["deploy"].startswith("refused: node 'conv1'")
PY
echo "deploy check: 1 passed, 0 failed"
