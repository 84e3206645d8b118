#!/usr/bin/env bash
# One short device check (under 8 minutes on one GPU): the simulator engine on the
# [1024, 512] MLP against per-model Keras fit, and grouped image training (K = 4 CNNs,
# 28x28x1) against per-variant fit at batch 8, 64 and 512, each beside the machine's
# measured matmul peak. The per-model fit baselines run with TensorFlow's own defaults.
#
#   benchmarks/gpu_check.sh           # the check (GPU)
#   benchmarks/gpu_check.sh --quick   # a tiny scale that runs anywhere in about 5 minutes
#                                     # on 2 CPU cores: checks the script, measures nothing
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ "${1:-}" == "--quick" ]]; then
  scale=0.03 steps=3 variants=2 batches="8 64"
else
  scale=8 steps=20 variants=4 batches="8 64 512"
fi

echo "== device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
  || echo "no nvidia-smi (CPU only)"
python -c "import tensorflow as tf; print('TensorFlow', tf.__version__, 'sees',
  [d.name for d in tf.config.list_physical_devices('GPU')] or 'no GPU')" 2>/dev/null

echo "== simulator engine, [1024, 512] MLP, 32 models (benchmarks/bench_engine.py)"
timeout 240 python benchmarks/bench_engine.py --models mlp --scale "$scale"

echo "== grouped CNN training (benchmarks/bench_group.py)"
# shellcheck disable=SC2086  # the batch sizes are separate arguments
timeout 240 python benchmarks/bench_group.py --variants "$variants" --steps "$steps" \
  --batch $batches
