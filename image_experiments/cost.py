"""What an image sweep's training units will cost, estimated from its own probes.

A probe (``sweep_units.ProbeUnit``) trains one variant of a strategy on this machine and
records how long its steps and its test-set evaluations took. A training unit trains the K
variants of that strategy to the regime's target, evaluating the test set as often, then
predicts every evaluation set (test, OOD, RM points) at the checkpoints. Its work is per
variant, so it costs about

    K x (step_s x steps + image_s x (test_images x evaluations + checkpoint_images))

with ``steps`` the probe's first evaluated step at or above the target (the cap, when the
probe never got there; at least the probe's own length when the unit also trains on to the
pseudo-maximum, as the probe did), ``step_s`` the probe's seconds per training step and
``image_s`` its seconds per evaluated image. It is rough: the finer target search (a few per
cent of the steps) and building the models are left out, and the slowest of K variants
reaches the target later than one probe.
"""
import math

import numpy as np

#: The keys a probe record needs for an estimate (records of older versions lack some).
MEASURED = ("seconds", "eval_seconds", "steps", "accuracy", "test_images", "checkpoint_images",
            "steps_per_epoch")


def unit_seconds(record, target, variants, cap_epochs, converge=False):
    """Estimated seconds of a training unit of ``variants`` variants towards ``target``,
    from its strategy's probe ``record`` (the probe JSON as a dict), training at most
    ``cap_epochs`` epochs, and with ``converge`` on until they converge (the pseudo-maximum
    checkpoint). None when the record lacks a measurement."""
    if any(key not in record for key in MEASURED):
        return None
    steps, accuracy = np.asarray(record["steps"]), np.asarray(record["accuracy"])
    reached = np.flatnonzero(accuracy >= target)
    if reached.size:
        n_steps, evaluations = int(steps[reached[0]]), int(reached[0]) + 1
    else:
        n_steps = math.ceil(cap_epochs * record["steps_per_epoch"])
        evaluations = math.ceil(n_steps / steps[0])  # the probe evaluated every steps[0] steps
    if converge and n_steps < steps[-1]:
        n_steps, evaluations = int(steps[-1]), len(steps)
    step_s = (record["seconds"] - record["eval_seconds"]) / steps[-1]
    image_s = record["eval_seconds"] / (len(steps) * record["test_images"])
    images = record["test_images"] * evaluations + record["checkpoint_images"]
    return variants * (step_s * n_steps + image_s * images)


def sweep_seconds(units, probes, variants, cap_epochs, converge=False):
    """Estimated seconds of the training ``units`` not yet done, from the finished
    ``probes`` of their strategies (``converge``: see :func:`unit_seconds`); None when a
    unit has no usable probe record (a given target trains no probes)."""
    import json

    records = {(p.strategy.regime, p.strategy.value): json.loads(p.path.read_text())
               for p in probes if p.done()}
    total = 0.0
    for unit in units:
        if unit.done():
            continue
        record = records.get((unit.strategy.regime, unit.strategy.value))
        seconds = None if record is None else unit_seconds(record, unit.target, variants,
                                                           cap_epochs, converge)
        if seconds is None:
            return None
        total += seconds
    return total
