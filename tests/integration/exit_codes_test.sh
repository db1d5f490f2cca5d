#!/usr/bin/env bash
# One exit-code rule for every subcommand (src/cli/exit_codes.h, README "The qsweep command"):
# 1 when the command line alone is wrong, 2 when an input file is (missing, not what it should be,
# or not holding what was asked), 3 when the work found failures; 0 for --help. Every subcommand
# `qsweep --help` lists is tried with an unknown flag, so a new one cannot escape the rule.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
q() { "$QSWEEP_BIN" "$@"; }
checked=0
expect_rc() { local want=$1; shift; set +e; "$@" >"$work/out" 2>&1; local rc=$?; set -e
  [[ $rc == "$want" ]] || { cat "$work/out"; fail "'${*#"$QSWEEP_BIN"}' exited $rc, expected $want"; }
  checked=$((checked + 1)); }
# The one-FP32-task results file the read-only commands need (a few seconds).
cat >"$work/s.yaml" <<YAML
sweep: it_exit_codes
data: {eval: $FIX/shards/calib.h5, calibration: $FIX/shards/calib.h5, calibration_batches: 1, batch_size: 64,
       eval_batch_size: 500}
$(demo_models)
grid:
  - include:
      - {model: resnet18, backend: academic, w_calib: none, a_calib: none, wbit: 32, abit: 32}
YAML
q run "$work/s.yaml" --results "$work/r.h5" >"$work/log" 2>&1 || { cat "$work/log"; fail "the one-task run"; }
echo "not HDF5" >"$work/notes.txt"
printf 'sweep: [unclosed\n' >"$work/bad.yaml"
none=$work/no-such-file
R=$work/r.h5

# Every subcommand: --help is 0, an unknown flag is 1.
subs=$(q --help | awk '/^Subcommands:/{on=1; next} on && /^$/{exit} on && /^  [a-z]/{print $1}')
[[ $(wc -w <<<"$subs") -ge 14 ]] || fail "qsweep --help lists too few subcommands: $subs"
for sub in $subs; do
  expect_rc 0 q "$sub" --help
  expect_rc 1 q "$sub" --no-such-flag
  # CLI11 names a missing required argument before an extra one; either way the message says what.
  grep -q -- "--no-such-flag\|is required" "$work/out" || { cat "$work/out"; fail "$sub: the usage error is not said"; }
done
q --help | grep -q "^Exit codes (every subcommand): 0 done; 1 the command line" || fail "--help does not state the rule"
expect_rc 1 q bogus

# 1: the command line alone.
expect_rc 1 q render
expect_rc 1 q render "$R" --format bogus
expect_rc 1 q show "$R"
grep -q "give a task id or --cell" "$work/out" || fail "show without a task: no hint"
expect_rc 1 q show "$R" --cell 'model'
expect_rc 1 q compare "$R"
expect_rc 1 q compare "$R" "$R" --max-delta -1
expect_rc 1 q plan "$work/s.yaml" --filter 'model'
expect_rc 1 q plan "$work/s.yaml" --filter 'wbits=4'
expect_rc 1 q plan "$work/s.yaml" --set a_p=-1
grep -q "a_p" "$work/out" || fail "--set a_p=-1: the key is not named"
expect_rc 1 q plan "$work/s.yaml" --set no_such_option=1
expect_rc 1 q plan "$work/s.yaml" --set 'a_p'
expect_rc 1 q plan "$work/s.yaml" --ranks 0
expect_rc 1 q plan "$work/s.yaml" --ranks 4 --group-size lots
expect_rc 1 q run "$work/s.yaml" --threads 0
expect_rc 1 q run "$work/s.yaml" --set a_p=-1
expect_rc 1 q eval --model resnet18
expect_rc 1 q eval --model no_such_net --weights "$REPO/models/demo/resnet18.pth" --eval "$FIX/shards/val.h5" \
  --calibration "$FIX/shards/calib.h5"
expect_rc 1 q eval --model resnet18 --weights "$REPO/models/demo/resnet18.pth" --eval "$FIX/shards/val.h5" \
  --calibration "$FIX/shards/calib.h5" --w-calib none
expect_rc 1 q train --model resnet18
expect_rc 1 q prepare
expect_rc 1 q quant-error --bits 9
expect_rc 1 q inspect-model no_such_net
expect_rc 1 q inspect-model resnet18 --passes --backend no_such_backend

# 2: an input file — missing, not what it should be, or not holding what was asked.
for cmd in render export plot; do
  expect_rc 2 q $cmd "$none"
  grep -q "no such file" "$work/out" || { cat "$work/out"; fail "$cmd: a missing file is not said to be missing"; }
  expect_rc 2 q $cmd "$work/notes.txt"
  expect_rc 2 q $cmd "$work"
done
expect_rc 2 q show "$none" abc
expect_rc 2 q show "$work/notes.txt" abc
expect_rc 2 q show "$R" --cell 'model=mobilenetv2_1.0'
expect_rc 2 q show "$R" zzzzzz
expect_rc 2 q compare "$R" "$none"
expect_rc 2 q compare "$work/notes.txt" "$R"
expect_rc 2 q render "$R" --anchors "$none"
expect_rc 2 q plot "$R" --anchors "$none"
expect_rc 2 q plan "$none"
expect_rc 2 q plan "$work/bad.yaml"
grep -q "bad.yaml:" "$work/out" || { cat "$work/out"; fail "a malformed sweep file is not named with its line"; }
expect_rc 2 q plan "$work/s.yaml" --filter 'model=mobilenetv2_1.0'
expect_rc 2 q run "$none"
expect_rc 2 q eval --model resnet18 --weights "$none" --eval "$FIX/shards/val.h5" --calibration "$FIX/shards/calib.h5"
expect_rc 2 q eval --model resnet18 --weights "$work/notes.txt" --eval "$FIX/shards/val.h5" \
  --calibration "$FIX/shards/calib.h5" --num-classes 10 --in-channels 1 --width 0.125 --small-input
expect_rc 2 q train --model resnet18 --train "$none"
expect_rc 2 q prepare fashion-mnist --root "$none" --out "$work/p"
grep -q "no such folder" "$work/out" || { cat "$work/out"; fail "prepare: a missing folder is not said to be missing"; }
expect_rc 2 q prepare imagenet --root "$none" --out "$work/p"
expect_rc 2 q quant-error --root "$none"

# 0 and 3: done, and work that found differences.
expect_rc 0 q compare "$R" "$R"
cp "$R" "$work/r2.h5"
/usr/bin/python3 - "$work/r2.h5" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    t = f["tasks"]
    row = t[0]
    row["top1"] += 1.0
    t[0] = row
PY
expect_rc 3 q compare "$R" "$work/r2.h5"
echo "exit codes: $checked commands checked; 1 passed, 0 failed"
