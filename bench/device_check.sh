#!/usr/bin/env bash
# kagglekit's own training on a lent GPU (H100/H200): the real CLI on Keras' JAX backend,
# `KERAS_BACKEND=jax python -m kagglekit train`, on the whole real split, printing one RESULT line per run.
#
#   bench/device_check.sh stage [PYTHON]  here: the wheels the GPU machine lacks -> .whl/ (its Python version,
#                                         default 3.12 as there); the real split -> bench/out/device/part1, part2
#   bench/device_check.sh receive         there, 1st call, carry .whl bench/out/device/part1: installs the
#                                         wheels and keeps part 1 in $KEEP (the machine stays warm ~30 s)
#   bench/device_check.sh run             there, 2nd call at once, carry bench/out/device/part2: joins the
#                                         parts, lays the data out, trains each of $RUNS in order
#   bench/device_check.sh dry-run         here, on the CPU: receive and run on a tiny random split, tiny widths
#
# RUNS is a list of MODEL:EPOCHS:SEED:PRECISION (precision as `train --precision`), run in order, so put
# first what matters most: a call stopped at its limit still returns the RESULT lines printed so far.
# The real split is kagglekit's 45,000 / 5,000 of ../shared/cifar10 (bench/export_split.py --xz, ~100 MB),
# so its accuracy figures compare with the CPU's. The machine has JAX, numpy, pandas, h5py, matplotlib and
# PyTorch but no Keras: keras, optree and namex travel as wheels (KINDS.md lists what is there).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/out/device}
KEEP=${KEEP:-/tmp/kagglekit-device}
PY=${PYTHON_BIN:-python3}
RUNS=${RUNS:-"best:31:0:auto fast:10:0:auto"}
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=$ROOT:$KEEP/site${PYTHONPATH:+:$PYTHONPATH}
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-$KEEP/jax-cache}  # runs of one shape compile once
WHEELS="keras==3.15.1 optree namex"

say() { printf '\n### %s\n' "$*"; }

stage() {
    local version=${1:-3.12}  # the lent machines' python3 (KINDS.md: Python 3.12.3, /opt/torch/.venv)
    rm -rf .whl && mkdir -p .whl "$OUT"
    # shellcheck disable=SC2086
    .venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: -d .whl --python-version "$version" \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 $WHEELS
    [ -f "$OUT/real.npz.xz" ] || .venv/bin/python bench/export_split.py --data-dir "${DATA:-bench/out/real-data}" \
        --xz --out "$OUT/real.npz.xz"
    split_in_two "$OUT/real.npz.xz" "$OUT/part"
    local tree wheels part1 part2
    tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    wheels=$(du -sb .whl | cut -f1)
    part1=$(stat -c %s "$OUT/part1") part2=$(stat -c %s "$OUT/part2")
    echo "per call, MiB: tree $((tree >> 20)) + wheels $((wheels >> 20)) + part 1 $((part1 >> 20)) | tree + part 2 $((part2 >> 20))"
    [ $(((tree + wheels + part1) >> 20)) -lt 64 ] && [ $(((tree + part2) >> 20)) -lt 64 ] || { echo "over 64 MiB" >&2; exit 1; }
}

split_in_two() {  # FILE PREFIX -> PREFIX1 PREFIX2
    local size half
    size=$(stat -c %s "$1")
    half=$(((size + 1) / 2))
    head -c "$half" "$1" >"${2}1"
    tail -c +"$((half + 1))" "$1" >"${2}2"
}

receive() {
    mkdir -p "$KEEP"
    $PY -c "import keras" 2>/dev/null || $PY -m pip install --quiet --no-index --no-deps --target "$KEEP/site" .whl/*.whl
    cp "$OUT/part1" "$KEEP/part1"
    $PY -c "import keras, jax; print('keras', keras.__version__, 'on', keras.backend.backend(), 'jax', jax.__version__, jax.devices())"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
}

train_and_report() {  # DATA_DIR RUNS_DIR MODEL EPOCHS SEED PRECISION [train flags...]
    local data=$1 runs=$2 model=$3 epochs=$4 seed=$5 precision=$6
    shift 6
    $PY -m kagglekit train --model "$model" --epochs "$epochs" --seed "$seed" --precision "$precision" \
        --data-dir "$data" --runs-dir "$runs" "$@" || return 0  # a failed run: its message is above; on to the next
    $PY - "$runs" "$model" "$seed" "$precision" <<'EOF'
import json, sys
from kagglekit.training.runs import latest_run
run = latest_run(sys.argv[1], sys.argv[2])
m = json.loads((run / "metrics.json").read_text())
steady = sorted(float(line.split(",")[6]) for line in (run / "history.csv").read_text().splitlines()[2:])
print(f"RESULT {sys.argv[2]:5s} | seed {sys.argv[3]} | {sys.argv[4]}: {m['mixed_precision']} | {m['device']} | {m['epochs']} epochs | "
      f"{m['training_seconds']:.1f} s (compilation included) | steady {steady[len(steady) // 2] if steady else 0:.0f} img/s | "
      f"val acc {m['best_val_accuracy']:.4f} | with TTA {m.get('val_accuracy_tta', float('nan')):.4f}")
EOF
}

run() {  # [train flags...]
    say "data"
    cat "$KEEP/part1" "$OUT/part2" >"$KEEP/real.npz.xz"
    $PY bench/device_data.py build --real "$KEEP/real.npz.xz" --out "$KEEP/real"
    for spec in $RUNS; do
        IFS=: read -r model epochs seed precision <<<"$spec"
        say "$model, $epochs epochs, seed $seed, precision $precision"
        train_and_report "$KEEP/real" "$KEEP/runs" "$model" "$epochs" "$seed" "$precision" "$@" | tee -a "$KEEP/log"
    done
    say "results"
    grep '^RESULT ' "$KEEP/log" || true
}

case "${1:-}" in
    stage) stage "${2:-}" ;;
    receive) receive ;;
    run) time run ;;
    dry-run)
        PY=.venv/bin/python OUT=$(mktemp -d) KEEP=$(mktemp -d) RUNS=${RUNS:-"fast:1:0:auto fast:1:1:float32"}
        trap 'rm -rf "$OUT" "$KEEP"' EXIT
        $PY bench/device_data.py build --random 300 --out "$OUT/source"  # stands in for the real data here
        $PY bench/export_split.py --data-dir "$OUT/source" --xz --out "$OUT/real.npz.xz"
        split_in_two "$OUT/real.npz.xz" "$OUT/part"
        receive
        run --batch-size 64 --set 'widths=[8,16,16]'
        ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
esac
