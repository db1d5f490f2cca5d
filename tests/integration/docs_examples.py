"""Runs every example that README.md, docs/*.md, results/README.md and sweeps/README.md print.

Called by docs_examples_test.sh from a scratch checkout (the current directory) whose build/qsweep
is the binary under test, shards/fashion-mnist the fixture's shards and results/ a copy of the
committed results. What counts as an example, and what is done with it:

- ```sh / ```bash blocks: every command (continuation lines joined) runs in bash, as printed, in
  document order (a block's later lines may read what its earlier ones wrote); it must exit 0.
- ```python blocks: run with this interpreter, in the same directory, after the file's sh blocks
  that precede them.
- ```yaml blocks: a whole sweep file, or a grid fragment (`grid:` or `- product:` ...) set under the
  demo sweep's header, must pass `qsweep plan`; an anchor file (`source:` ...) must load in
  `qsweep render results/demo.h5 --anchors`.
- inline `qsweep ...` spans with a positional argument and no placeholder (NAME, RESULTS.h5, ...,
  [opt], a|b) run as printed; the others name a subcommand or option, which must exist in its
  --help.
- Unlabelled blocks are printed output and are not run.

A command that needs what no CI machine has (ImageNet and its weights, eight GPUs) or that is the
command running this test is in NOT_HERE with the reason; it must still be printed (the list
cannot go stale) and its repository files and qsweep options must exist.
"""
import os
import re
import shlex
import subprocess
import sys

REPO = sys.argv[1]
FILES = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(REPO, "docs")) if f.endswith(".md")) + [
    "results/README.md", "sweeps/README.md"]

IMAGENET = "needs ImageNet (and its weights) at the path it names; tests/data's sample covers the reader"
NOT_HERE = {
    "scripts/run-demo.sh": "README command 1 (installs, builds, ~5 min of sweeping); its outputs are committed "
                           "(results/demo.h5, demo.rst, demo_accuracy.png) and every reader here runs on them",
    "scripts/test.sh": "README command 2: the command that runs this test",
    "scripts/test-cuda.sh": ".ci/run runs it after scripts/test.sh",
    "tools/gpu_check.sh --dry-run": "scripts/test-cuda.sh runs it",
    "mpirun -n 8 qsweep run sweeps/full_table.yaml --group-size auto": IMAGENET,
    "mpirun -n 8 build/qsweep run sweeps/full_table.yaml --group-size auto": IMAGENET,
    "build/qsweep prepare imagenet --root /data/imagenet --out /data/shards/imagenet": IMAGENET,
    "export IMAGENET_SHARDS=/data/shards/imagenet QSWEEP_WEIGHTS=/data/weights": IMAGENET,
    "build/qsweep plan sweeps/full_table.yaml --resolve": IMAGENET,
    "mpirun -n 4 -x GLIBC_TUNABLES build/qsweep run sweeps/full_table.yaml": IMAGENET,
    "sbatch slurm/full_table.sh": IMAGENET + "; tests/integration/slurm_sweep_test.sh submits it on the demo",
    "SWEEP=sweeps/academic_naive.yaml sbatch -n 4 --gpus-per-node=4 slurm/full_table.sh": IMAGENET,
    "build/qsweep render results/full_table.h5 --format rst --anchors sweeps/anchors/mqbench_v0.0.5_academic.yaml":
        "needs the ImageNet sweep's results file",
    "build/qsweep prepare imagenet --root /data/imagenet --out shards/imagenet [--skip-bad] [--calib 1024] [--seed 1005]":
        IMAGENET,
    "mpirun -np 2 -x GLIBC_TUNABLES build/qsweep prepare imagenet --root /data/imagenet --out shards/imagenet": IMAGENET,
}

PLACEHOLDER = re.compile(r"(\.\.\.|…|\[|\||\b[A-Z][A-Z_]*\b|\b[A-Z]+\.(h5|yaml)\b)")
failures, counts, seen_not_here = [], {}, set()


def count(kind):
    counts[kind] = counts.get(kind, 0) + 1


def fail(where, what, out=""):
    failures.append(f"{where}: {what}\n{out[-3000:]}")


def run(where, argv_or_cmd, shell=False, stdin=None):
    p = subprocess.run(argv_or_cmd if not shell else ["bash", "-c", argv_or_cmd], input=stdin, text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    return p.returncode, p.stdout


def blocks(path):
    """(line, language, [(line, text)]) of every fenced block of `path`."""
    out, lang, body, start = [], None, [], 0
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if line.startswith("```"):
                if lang is None:
                    lang, body, start = line[3:].strip() or "-", [], n
                else:
                    out.append((start, lang, body))
                    lang = None
            elif lang is not None:
                body.append((n, line))
    return out


def commands(body):
    """Logical shell lines (continuations joined), without comment-only lines."""
    out, cur, at = [], "", 0
    for n, line in body:
        if not cur:
            at = n
        cur += line
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur.strip() and not cur.strip().startswith("#"):
            out.append((at, cur.strip()))
        cur = ""
    return out


def without_comment(cmd):
    """The command as bash reads it, without a trailing '# ...' (bash drops it too)."""
    words = shlex.split(cmd, comments=True)
    return " ".join(words)


HELP = {}


def help_text(sub):
    key = tuple(sub)
    if key not in HELP:
        HELP[key] = run("help", ["build/qsweep"] + sub + ["--help"])
    return HELP[key]


def subcommand_of(words):
    """(subcommand words, the rest) of a qsweep command line's words after the program."""
    if not words or words[0].startswith("-"):
        return [], words
    sub = [words[0]]
    if words[0] == "prepare" and len(words) > 1 and not words[1].startswith("-"):
        sub.append(words[1])
    return sub, words[len(sub):]


def check_options_exist(where, words):
    """Every option of a qsweep invocation in `words` is in its subcommand's --help."""
    for i, w in enumerate(words):
        if os.path.basename(w) == "qsweep":
            sub, rest = subcommand_of(words[i + 1:])
            if "/" in "".join(sub):
                return  # 'qsweep plan/run': two names in one span
            rc, text = help_text(sub)
            if rc != 0:
                fail(where, f"'qsweep {' '.join(sub)} --help' exits {rc}", text)
                return
            for opt in rest:
                name = opt.split("=")[0]
                if name.startswith("--") and not re.search(r"(^|[\s,])" + re.escape(name) + r"\b", text):
                    fail(where, f"{name} is not an option of 'qsweep {' '.join(sub)}'", text)
            return


def check_files_exist(where, words):
    for w in words:
        w = w.split("=")[-1]
        if re.match(r"^(sweeps|slurm|scripts|tools|models)/", w) and not os.path.exists(os.path.join(REPO, w)):
            fail(where, f"{w} does not exist in the repository")


def shell_example(where, cmd):
    key = without_comment(cmd)
    if key in NOT_HERE:
        seen_not_here.add(key)
        words = shlex.split(key)
        check_files_exist(where, words)
        check_options_exist(where, words)
        count("listed as not runnable here (files and options checked)")
        return
    rc, out = run(where, cmd, shell=True)
    count("shell commands run")
    if rc != 0:
        fail(where, f"'{cmd}' exited {rc}", out)


DEMO_HEADER = open(os.path.join(REPO, "sweeps/demo.yaml"), encoding="utf-8").read().split("\ngrid:")[0] + "\n"


def yaml_example(where, text):
    first = next((l for l in text.splitlines() if l.strip() and not l.strip().startswith("#")), "")
    if first.startswith("source:"):
        with open("example_anchors.yaml", "w") as f:
            f.write(text)
        rc, out = run(where, ["build/qsweep", "render", "results/demo.h5", "--anchors", "example_anchors.yaml",
                              "--cross-dataset"])
        count("anchor files rendered against")
    else:
        if first.startswith("sweep:"):
            sweep = text
        elif first.startswith("grid:"):
            sweep = DEMO_HEADER.replace("sweep: demo", "sweep: docs_example") + text
        else:  # a grid item
            sweep = DEMO_HEADER.replace("sweep: demo", "sweep: docs_example") + "grid:\n" + text
        with open("example_sweep.yaml", "w") as f:
            f.write(sweep)
        rc, out = run(where, ["build/qsweep", "plan", "example_sweep.yaml"])
        count("sweep files planned")
    if rc != 0:
        fail(where, f"the yaml example does not load (exit {rc})", out)


def inline_examples(path):
    text = open(os.path.join(REPO, path), encoding="utf-8").read()
    in_block = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            continue
        for span in re.findall(r"`((?:build/)?qsweep(?: [^`]*)?)`", line):
            where = f"{path}:{n}"
            words = span.split()
            sub, rest = subcommand_of(words[1:])
            # A word after an option is that option's value ('--set a=b', '--group-size auto').
            positional = [w for i, w in enumerate(rest) if not w.startswith("-") and (i == 0 or not rest[i - 1].startswith("-"))]
            if span in ("qsweep --help", "qsweep --version") or (
                    sub and positional and not PLACEHOLDER.search(span) and "/" not in "".join(sub)):
                cmd = "build/qsweep " + " ".join(words[1:])
                rc, out = run(where, cmd, shell=True)
                count("inline commands run")
                if rc != 0:
                    fail(where, f"'{span}' exited {rc}", out)
            else:
                check_options_exist(where, words)
                count("inline references checked against --help")


for path in FILES:
    for start, lang, body in blocks(path):
        where = f"{path}:{start}"
        if lang in ("sh", "bash"):
            for n, cmd in commands(body):
                shell_example(f"{path}:{n}", cmd)
        elif lang == "python":
            rc, out = run(where, [sys.executable, "-"], stdin="\n".join(l for _, l in body) + "\n")
            count("python recipes run")
            if rc != 0:
                fail(where, f"the python recipe exited {rc}", out)
        elif lang == "yaml":
            yaml_example(where, "\n".join(l for _, l in body) + "\n")
        else:
            count("output listings (not run)")
    inline_examples(path)

for key in sorted(set(NOT_HERE) - seen_not_here):
    fail("NOT_HERE", f"'{key}' is no longer printed anywhere: remove it from the list")

for kind, n in sorted(counts.items()):
    print(f"docs examples: {n} {kind}")
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
