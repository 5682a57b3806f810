#!/usr/bin/env bash
# kagglekit's own training on a lent GPU (H100/H200): the real CLI on Keras' JAX backend,
# `KERAS_BACKEND=jax python -m kagglekit train | evaluate | predict`, printing images/s and accuracy.
#
#   bench/device_check.sh stage [PYTHON]  here: wheels the GPU machine may lack -> .whl/ (its Python
#                                         version, default 3.12 as there), the real subset -> bench/out/device/
#   bench/device_check.sh install         there, 1st call, carry .whl: pip-installs what is missing into .devdeps/
#   bench/device_check.sh run             there, 2nd call, carry bench/out/device: data, fast + best, evaluate, predict
#   bench/device_check.sh dry-run         here, on the CPU: `run`'s commands on a tiny random set, 1 epoch each
#                                         (MODELS=fast: fast alone; `run` trains MODELS, default "fast best")
#
# Two calls because the device machine takes 64 MiB a call: ~45 MiB of wheels (keras, h5py, pandas,
# matplotlib, ...: the machine has JAX, numpy and PyTorch, no TensorFlow, no Keras) and a 53 MiB real subset
# do not fit together; .devdeps/ stays on the warm machine between calls, which is held only ~30 s after a
# call: make the second call at once. What it measures on:
#   speed    fast (10 epochs) and best (31) on 45,000 random-pixel images (+5,000 validation): full size,
#            content does not change the arithmetic;
#   accuracy fast on the first 15,000 training and 5,000 validation images of kagglekit's split of the real
#            CIFAR-10 (../shared/cifar10), not the full 45,000: compare it with a CPU run on the same subset.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/bench/out/device}
PY=${PYTHON_BIN:-python3}
export KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH=$ROOT:$ROOT/.devdeps${PYTHONPATH:+:$PYTHONPATH}
WHEELS="keras==3.15.1 absl-py rich markdown-it-py mdurl pygments namex h5py optree packaging
pandas<3 python-dateutil pytz tzdata six matplotlib<4 contourpy cycler fonttools kiwisolver pyparsing pillow<13 tqdm"
MODULES="keras h5py optree rich absl namex pandas dateutil pytz matplotlib PIL tqdm six"

say() { printf '\n### %s\n' "$*"; }

stage() {
    local version=${1:-3.12}  # the lent machines' python3 (KINDS.md: Python 3.12.3, /opt/torch/.venv)
    rm -rf .whl && mkdir -p .whl "$OUT"
    # shellcheck disable=SC2086
    .venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: -d .whl --python-version "$version" \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 $WHEELS
    [ -f "$OUT/real.npz" ] || .venv/bin/python bench/export_split.py --data-dir "${DATA:-bench/out/agreement-data}" \
        --train 15000 --valid 5000 --compress --out "$OUT/real.npz"
    local tree wheels data
    tree=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
    wheels=$(du -sb .whl | cut -f1)
    data=$(du -sb "$OUT" | cut -f1)
    echo "per call, MiB: tree $((tree >> 20)) + wheels $((wheels >> 20)) (call 1) | tree + data $((data >> 20)) (call 2)"
    [ $(((tree + wheels) >> 20)) -lt 64 ] && [ $(((tree + data) >> 20)) -lt 64 ] || { echo "over 64 MiB" >&2; exit 1; }
}

install() {
    local missing=()
    for module in $MODULES; do
        $PY -c "import $module" 2>/dev/null || missing+=("$module")
    done
    echo "missing: ${missing[*]:-nothing}"
    # Everything in .whl goes into .devdeps (no index, no network); modules the machine has are found first
    # only if they come earlier on sys.path, so install only when something is missing.
    [ ${#missing[@]} -eq 0 ] || $PY -m pip install --quiet --no-index --no-deps --target .devdeps .whl/*.whl
    $PY -c "import keras, jax; print('keras', keras.__version__, 'on', keras.backend.backend(), 'jax', jax.__version__, jax.devices())"
}

train_and_report() {  # DATA_DIR RUNS MODEL [train flags...]
    local data=$1 runs=$2 model=$3
    shift 3
    $PY -m kagglekit train --model "$model" --data-dir "$data" --runs-dir "$runs" "$@"
    $PY -m kagglekit evaluate "$model" --data-dir "$data" --runs-dir "$runs"
    $PY -m kagglekit predict "$model" --data-dir "$data" --runs-dir "$runs" --submissions-dir "$runs/submissions"
    $PY - "$runs" "$model" <<'EOF'
import json, sys
from kagglekit.training.runs import latest_run
run = latest_run(sys.argv[1], sys.argv[2])
m = json.loads((run / "metrics.json").read_text())
print(f"RESULT {sys.argv[2]:5s} | {m['device']} x{m['replicas']} | {m['mixed_precision']} | {m['epochs']} epochs | "
      f"{m['images_per_second']:.0f} img/s over all epochs (compilation included) | {m['training_seconds']:.1f} s | "
      f"val acc {m['best_val_accuracy']:.4f} | with TTA {m.get('val_accuracy_tta', float('nan')):.4f} | {run}")
EOF
}

run() {  # SPEED_IMAGES EPOCH_FLAGS...
    local n=${1:-50000}
    shift || true
    say "data"
    $PY bench/device_data.py build --random "$n" --out "$OUT/speed"
    if [ -f "$OUT/real.npz" ]; then $PY bench/device_data.py build --real "$OUT/real.npz" --out "$OUT/real"; fi
    for model in ${MODELS:-fast best}; do
        say "speed: $model on $n random-pixel images"
        train_and_report "$OUT/speed" "$OUT/runs-speed" "$model" "$@"
    done
    if [ -d "$OUT/real" ]; then
        say "accuracy: fast on the real subset"
        train_and_report "$OUT/real" "$OUT/runs-real" fast "$@"
    fi
    say "steady rates (per epoch, img/s)"
    for history in "$OUT"/runs-*/*/history.csv; do
        echo "$history: $(tail -n +2 "$history" | cut -d, -f7 | cut -d. -f1 | tr '\n' ' ')"
    done
}

case "${1:-}" in
    stage) stage "${2:-}" ;;
    install) install ;;
    run) time run 50000 ;;
    dry-run)
        PY=.venv/bin/python OUT=$(mktemp -d)
        trap 'rm -rf "$OUT"' EXIT
        install
        $PY bench/device_data.py build --random 300 --out "$OUT/source"  # stands in for the real data here
        $PY bench/export_split.py --data-dir "$OUT/source" --train 200 --valid 50 --compress --out "$OUT/real.npz"
        run 400 --epochs 1 --batch-size 64 --set 'widths=[8,16,16]' 
        ;;
    *) sed -n '2,19p' "$0"; exit 2 ;;
esac
