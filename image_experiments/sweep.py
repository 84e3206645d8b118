"""``imgctl sweep``: seed variants of every training strategy of a data set, as resumable units.

A sweep (configs/img_<name>.yaml, overridden by command-line flags) trains, for each regime
(learning rate, batch size) and each of its strategies, K seed variants together, and stores
their predictions and activations at the risk-equivalent checkpoints. Layout under OUT
(default results/img-<name>):

    OUT/probe/<regime>-<value>-<hash>.json   first pass, only without a given target: one
                                             variant per strategy trained to convergence,
                                             its best test accuracy
    OUT/units/<regime>-<value>-<hash>.npz    one per strategy: K variants (image_experiments
                                             .storage), written atomically
    OUT/variants.csv, strategies.csv, pairs.csv   the tidy analysis (image_experiments
                                             .analysis), rewritten after every run

Units are idempotent: a unit whose file exists is skipped, so an interrupted sweep resumes
where it stopped. The hash in a unit's name covers every parameter that changes its result,
so changing one trains new units instead of mixing results; the regimes and strategies chosen
are not among them, so a sweep extended by a regime or strategies trains only the new units.
Without a given target, a regime's target is the lowest best accuracy over its strategies'
probes minus ``target_margin``, rounded down to 0.001: an accuracy every strategy reaches
comfortably (adding a strategy that reaches less lowers it, and so retrains the regime).
"""
import dataclasses
import json
import math
from pathlib import Path

from image_experiments.cost import sweep_seconds
from image_experiments.sweep_units import probe_units, train_units
from irrepro.durations import ANNOUNCE_SECONDS, format_seconds
from irrepro.errors import UserError
from irrepro.tables import check_writable
from irrepro.units import run_units


def targets_from(sweep, probes):
    """Each regime's target: given, or from its finished probes (see the module docs)."""
    targets = {}
    for regime in sweep.regimes():
        given = sweep.target_for(regime)
        if given is not None or sweep.checkpoint == "final":
            targets[regime] = given
            continue
        best = [json.loads(p.path.read_text())["best_accuracy"]
                for p in probes if p.strategy.regime == regime]
        targets[regime] = math.floor((min(best) - sweep.target_margin) * 1000) / 1000
    return targets


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """What :func:`run_sweep` did: units run and already done (probe and training), the
    regimes' targets, the tables written ({level: path}) and the notes units recorded."""

    probes_run: int
    probes: int
    units_run: int
    units: int
    targets: dict
    written: dict
    notes: list


def run_sweep(sweep, out, data_dir=None, executor=None, progress=None, echo=None):
    """Run the probe pass where a regime has no target, then every training unit not yet
    done, then write the tables from all the sweep's units. Returns a :class:`SweepReport`.
    ``echo`` (a function printing a line) hears the units' estimated cost before they start
    when it is over a minute."""
    from image_experiments.analysis import write_tables

    out = Path(out)
    check_writable(out / "units" / "probe.npz")
    probes = probe_units(sweep, out, data_dir)
    probes_run = run_units(probes, executor, progress, noun="units", desc="probes")
    targets = targets_from(sweep, probes)
    units = train_units(sweep, out, targets, data_dir)
    seconds = sweep_seconds(units, probes, sweep.variants, sweep.train_options().cap(),
                            sweep.pseudo_max)
    if echo and seconds is not None and seconds > ANNOUNCE_SECONDS:
        todo = sum(not u.done() for u in units)
        echo(f"estimated {format_seconds(seconds)} for {todo} training unit"
             f"{'' if todo == 1 else 's'} on this machine "
             "(from the probes' speed)")
    units_run = run_units(units, executor, progress, noun="units", desc="strategies")
    written, notes = write_tables([u.path for u in units], out)
    return SweepReport(probes_run, len(probes), units_run, len(units), targets, written, notes)


def sweep_command(name, flags, sets=(), smoke=False, out=None, data_dir=None, scheduler=None,
                  workers=None, progress=None, echo=print, scale=None):
    """``imgctl sweep NAME``: load the sweep (preset or YAML ``name``, its smoke block with
    ``smoke``, then ``flags`` and the ``--set`` pairs ``sets``), run it here or on Dask, and
    say where it ran, its targets and what it wrote. ``echo`` prints a line. A Ganesh study
    (``image_experiments.axes``) goes to its own runner; ``scale`` names one of its blocks."""
    import contextlib

    from image_experiments.axes import is_study, study_command

    if is_study(name):
        return study_command(name, flags, sets, smoke, scale, out, data_dir, scheduler,
                             workers, progress, echo)
    if scale is not None:
        raise UserError("--scale applies to studies (cifar10_skewed) only; use --smoke")

    from image_experiments.sweep_config import load_sweep
    from image_experiments.training import setup_device
    from irrepro.config import parse_sets
    from irrepro.executors import make_executor

    config = load_sweep(name, {**flags, **parse_sets(sets)}, smoke=smoke)
    out = Path(out) if out else Path("results") / config.name
    executor = make_executor(scheduler or config.scheduler, workers or config.workers)
    # The scheduler is reached before TensorFlow starts: an unreachable one fails at once.
    with executor or contextlib.nullcontext() as executor:
        echo(f"device: {setup_device()}")
        report = run_sweep(config, out, data_dir, executor, progress, echo)
    for note in report.notes:
        echo(f"note: {note}")
    if config.checkpoint == "final":
        echo(f"checkpoint: final, after {config.epochs_max:g} epochs")
    else:
        targets = ", ".join(f"{regime} {target:g}"
                            for regime, target in report.targets.items())
        echo(f"target accuracy: {targets}")
    run, total = report.probes_run + report.units_run, report.probes + report.units
    echo(f"ran {run} of {total} units ({total - run} already done); "
         f"wrote {', '.join(map(str, report.written.values()))}")
    return report
