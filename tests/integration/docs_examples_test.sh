#!/usr/bin/env bash
# Every command, example and recipe printed in README.md, docs/*.md, results/README.md and
# sweeps/README.md, run as printed (issue 28 item 2; the rules are in docs_examples.py) in a
# scratch checkout: build/qsweep is this build's binary, shards/fashion-mnist the fixture's
# Fashion-MNIST shards, results/ a copy of the committed results (results/demo.h5 is README
# command 1's file), old.h5 and new.h5 (the compare example's) copies of it; sweeps/, models/,
# slurm/, scripts/ and tools/ are the repository's.
source "$(dirname "$0")/fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
u=$work/checkout
mkdir -p "$u/build" "$u/shards"
ln -s "$QSWEEP_BIN" "$u/build/qsweep"
for d in sweeps models slurm scripts tools; do ln -s "$REPO/$d" "$u/$d"; done
ln -s "$FIX/shards" "$u/shards/fashion-mnist"
[[ -f $REPO/results/demo.h5 ]] || fail "results/demo.h5 (committed: README command 1's results) is missing"
cp -r "$REPO/results" "$u/results"
cp "$REPO/results/demo.h5" "$u/old.h5"
cp "$REPO/results/demo.h5" "$u/new.h5"
export PATH=$u/build:$PATH
export OMPI_MCA_rmaps_base_oversubscribe=true  # the groups example's 3 ranks on a 2-core machine
cd "$u"
/usr/bin/python3 "$REPO/tests/integration/docs_examples.py" "$REPO" || fail "a printed example does not run as printed"
echo "docs examples: 1 passed, 0 failed"
