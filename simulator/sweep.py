"""Sweeps: a YAML grid of settings, run as idempotent units, one CSV shard per setting.

A config holds ``name``, ``base`` (parameters shared by every setting), ``grid`` (a list of
blocks; each block maps parameters to lists of values and contributes their Cartesian
product) and ``smoke`` (overrides for a tiny run). Values may be written 2^10. The layers
are those of every irrepro sweep (:mod:`irrepro.config`): the file, then ``smoke``, then
the command line (``--paper-scale``, flags, ``--set``).

Layout of a sweep's results, under OUT (default results/NAME):
    OUT/shards/<config hash>.csv     one per setting, written atomically, skipped on re-run
    OUT/NAME.csv                     all shards merged, rewritten after every run
"""
import dataclasses
import itertools
from pathlib import Path

import pandas as pd

from irrepro.config import check_known, layered, read_yaml
from irrepro.durations import ANNOUNCE_SECONDS, format_seconds
from irrepro.errors import UserError
from irrepro.tables import write_csv
from simulator.config import Setting
from simulator.cost import estimate_seconds

SETTING_FIELDS = {f.name for f in dataclasses.fields(Setting)}
#: Snapp & Shamir's scale: 2^26 examples per model, 16 pairs, 2^16 evaluation examples.
PAPER_SCALE = {"examples": 2 ** 26, "pairs": 16, "eval_examples": 2 ** 16}
CONFIG_KEYS = {"name", "base", "grid", "smoke"}


@dataclasses.dataclass(frozen=True)
class Unit:
    """One unit of work: train ``setting`` and write its shard to ``path``."""

    setting: Setting
    path: Path
    weights: bool = False

    def done(self):
        return self.path.exists()

    def run(self, progress=None):
        from simulator.runner import run_one

        run_one(self.setting, self.path, progress=progress, weights=self.weights, quiet=True)


def read_config(path):
    """The YAML sweep config at ``path`` (an :class:`irrepro.config.Config`), checked for
    shape; its name defaults to the file's stem."""
    config = read_yaml(path, "configs/fig2.yaml")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        # an image sweep's config names its data set: say which tool runs it
        hint = ("; it is an image sweep config: run imgctl sweep "
                f"{path}" if "dataset" in config else "; see configs/fig2.yaml")
        raise UserError(f"sweep config {path}: unknown key(s) {', '.join(unknown)} "
                        f"({config.where(unknown[0])}); a simctl sweep config holds "
                        f"{', '.join(sorted(CONFIG_KEYS))}{hint}")
    if not isinstance(config.get("grid", []), list):
        raise UserError(f"sweep config {path}: 'grid' must be a list of blocks "
                        f"({config.where('grid')}); see configs/fig2.yaml")
    config.setdefault("name", Path(path).stem)
    return config


def expand(config, overrides=None, smoke=False):
    """The settings of a sweep config, in grid order, without duplicates. ``overrides``
    (the command line) win over ``smoke``, which wins over the file."""
    lines = getattr(config, "lines", None) is not None
    base = dict(config.get("base") or {})
    top = layered({}, (config.get("smoke") or {}) if smoke else None, overrides)
    check_known(base, SETTING_FIELDS, "base", (config, ("base",)) if lines else None)
    check_known(top, SETTING_FIELDS, "the smoke block or the overrides")
    settings = []
    for i, block in enumerate(config.get("grid") or [{}]):
        check_known(block, SETTING_FIELDS, f"grid block {i + 1}",
                    (config, ("grid", i)) if lines else None)
        names = list(block)
        values = [v if isinstance(v, list) else [v] for v in block.values()]
        for combo in itertools.product(*values):
            setting = Setting(**layered({**base, **dict(zip(names, combo))}, None, top))
            if setting not in settings:
                settings.append(setting)
    return settings


def units_for(settings, out_dir, weights=False):
    shards = Path(out_dir) / "shards"
    return [Unit(s, shards / f"{s.config_hash()}.csv", weights) for s in settings]


def merge_shards(out_dir, name):
    """Concatenate every shard of ``out_dir`` into OUT/NAME.csv (atomically); returns it."""
    shards = sorted((Path(out_dir) / "shards").glob("*.csv"))
    if not shards:
        return None
    frame = pd.concat([pd.read_csv(p) for p in shards], ignore_index=True)
    path = Path(out_dir) / f"{name}.csv"
    write_csv(frame, path)
    return path


def varying(settings):
    """The names of the parameters whose values differ across ``settings``."""
    dicts = [s.as_dict() for s in settings]
    keys = dict.fromkeys(k for d in dicts for k in d)  # a mitigation's keys appear with it
    return [k for k in keys if len({repr(d.get(k)) for d in dicts}) > 1]


def plan_table(units):
    """A DataFrame describing each unit: its varying parameters, cost estimate and status."""
    keys = varying([u.setting for u in units])
    return pd.DataFrame([{**{k: u.setting.as_dict().get(k) for k in keys},
                          "hash": u.setting.config_hash(),
                          "est_s": round(estimate_seconds(u.setting), 1),
                          "status": "done" if u.done() else "todo"} for u in units])


def _counts(settings, key):
    """The distinct values of ``key`` over ``settings``; powers of 2 above 1024 as 2^k."""
    def show(n):
        return f"2^{n.bit_length() - 1}" if n > 1024 and n & (n - 1) == 0 else str(n)
    return ", ".join(show(n) for n in sorted({getattr(s, key) for s in settings}))


def plan_text(units):
    """The dry run's text: every unit with its estimate and status, the total left to run,
    and the scale."""
    table = plan_table(units)
    todo = table[table["status"] == "todo"]
    settings = [u.setting for u in units]
    scale = "; ".join(f"{key.replace('_', ' ')} {_counts(settings, key)}"
                      for key in ("examples", "pairs", "eval_examples"))
    return "\n".join([table.to_string(index=False),
                      f"{len(table)} settings, {len(todo)} to run, estimated "
                      f"{todo['est_s'].sum() / 60:.1f} min on 2 CPU cores",
                      f"scale: {scale}"])


def estimate_line(units):
    """'estimated N min on 2 CPU cores for K settings' for the units not yet done, or ''
    when they take a minute or less (no need to say)."""
    todo = [u for u in units if not u.done()]
    seconds = sum(estimate_seconds(u.setting) for u in todo)
    return (f"estimated {format_seconds(seconds)} on 2 CPU cores for {len(todo)} settings"
            if seconds > ANNOUNCE_SECONDS else "")


def run_sweep(config, out=None, dry_run=False, smoke=False, paper_scale=False, flags=None,
              sets=(), weights=False, scheduler=None, workers=None, progress=None,
              echo=print):
    """``simctl sweep``: expand ``config`` (a YAML path) with its layers (smoke, the paper's
    scale, ``flags``, ``--set`` pairs ``sets``), then print the plan (``dry_run``) or run the
    units not yet done, here or on Dask, and merge the shards. ``echo`` prints a line."""
    import contextlib

    from irrepro.config import parse_sets
    from irrepro.executors import make_executor
    from irrepro.tables import check_writable
    from irrepro.units import run_units

    spec = read_config(config)
    overrides = {**(PAPER_SCALE if paper_scale else {}),
                 **{k: v for k, v in (flags or {}).items() if v is not None},
                 **parse_sets(sets)}
    settings = expand(spec, overrides, smoke=smoke)
    out = Path(out) if out else Path("results") / spec["name"]
    units = units_for(settings, out, weights=weights)
    if dry_run:
        echo(plan_text(units))
        return None
    check_writable(out / "shards" / "probe.csv")
    if estimate := estimate_line(units):
        echo(estimate)
    executor = make_executor(scheduler or spec.get("scheduler"), workers or spec.get("workers"))
    with executor or contextlib.nullcontext():
        ran = run_units(units, executor, progress=progress)
    merged = merge_shards(out, spec["name"])
    echo(f"ran {ran} of {len(units)} settings ({len(units) - ran} already done); "
         f"wrote {merged}")
    return merged
