"""Throughput of the stacked engine against per-model ``keras.Model.fit``, in one run.

Throughput is model-examples per second, data generation included: the engine trains
2 * pairs models at once on PairedBatches; the naive way generates one model's examples and
calls ``fit`` on them, one model at a time. Compilation is excluded from both (one warm-up).

    python benchmarks/bench_engine.py                 # linear, tower, 1024-512 (~5 min)
    python benchmarks/bench_engine.py --paper-scale   # also the 2^26-example linear run
"""
import argparse
import time

from irrepro.keras_activations import get_activation
from irrepro.streams import Role, rng_for
from irrepro.tf import keras
from simulator.config import Setting
from simulator.cost import steps_per_call
from simulator.data import PairedBatches, linear_model, unpack_features, unpack_labels
from simulator.engine import StackedTrainer, make_optimizer, run_setting
from simulator.models import parse_model, stacked_init

BATCH = 32


def naive_throughput(family, examples):
    """Model-examples/s of generating data and calling fit for one model at a time."""
    act = get_activation("relu")
    model = family.keras_model(act)
    model.compile(optimizer=make_optimizer("adagrad", 0.1),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    data = linear_model(0)

    def one_model(seed):
        packed = data.sample(rng_for(seed, 0), examples)
        model.fit(unpack_features(packed).astype("float32"), unpack_labels(packed)[:, None],
                  batch_size=BATCH, epochs=1, shuffle=True, verbose=0)

    one_model(0)  # compile
    start = time.perf_counter()
    one_model(1)
    return examples / (time.perf_counter() - start)


def engine_throughput(family, pairs, examples):
    """Model-examples/s of the stacked engine training 2 * pairs models together."""
    init = stacked_init(family, pairs, True, lambda k, m: rng_for(0, Role.INIT, k, m))
    trainer = StackedTrainer(family, get_activation("relu"), init,
                             make_optimizer("adagrad", 0.1),
                             steps_per_call(family, 2 * pairs, BATCH))
    warm = PairedBatches(linear_model(0), 0, pairs, 1, BATCH, BATCH * trainer.steps_per_call)
    trainer.train(warm.take(trainer.steps_per_call))  # compile
    steps = examples // BATCH
    start = time.perf_counter()
    trainer.train_from(PairedBatches(linear_model(1), 1, pairs, 1, BATCH, examples), steps)
    return 2 * pairs * examples / (time.perf_counter() - start)


CASES = [  # model, examples per model for fit, examples per model for the engine
    ("linear", 2 ** 14, 2 ** 20),
    ("tower", 2 ** 14, 2 ** 18),
    ("mlp", 2 ** 12, 2 ** 10),
]


def scaled(examples, scale):
    """``examples * scale`` rounded down to whole mini-batches (at least one)."""
    return max(BATCH, int(examples * scale)) // BATCH * BATCH


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every example count (e.g. 0.25 for a quick look)")
    parser.add_argument("--models", nargs="+", default=[name for name, *_ in CASES],
                        help="which of linear, tower, mlp to measure (default: all)")
    parser.add_argument("--paper-scale", action="store_true",
                        help="also time simctl's linear run at 2^26 examples, 16 pairs")
    args = parser.parse_args()
    print(f"{'model':<10} {'fit (ex/s)':>12} {'engine (ex/s)':>14} {'ratio':>8}")
    for name, fit_examples, engine_examples in CASES:
        if name not in args.models:
            continue
        family = parse_model(name)
        naive = naive_throughput(family, scaled(fit_examples, args.scale))
        fast = engine_throughput(family, args.pairs, scaled(engine_examples, args.scale))
        print(f"{family.name:<10} {naive:>12.3g} {fast:>14.3g} {fast / naive:>7.0f}x", flush=True)
    if args.paper_scale:
        setting = Setting(model="linear", activation="identity", window=2 ** 10,
                          pairs=16, examples=2 ** 26)
        start = time.perf_counter()
        run_setting(setting)
        print(f"paper scale (linear, 2^26 examples, 16 pairs, window 2^10, "
              f"{setting.checkpoints} evaluations): {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
