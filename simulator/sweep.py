"""Sweeps: a YAML grid of settings, run as idempotent units, one CSV shard per setting.

A config holds ``name``, ``base`` (parameters shared by every setting), ``grid`` (a list of
blocks; each block maps parameters to lists of values and contributes their Cartesian
product) and ``smoke`` (overrides for a tiny run). Values may be written 2^10. Overrides from
the command line win over everything in the file.

Layout of a sweep's results, under OUT (default results/NAME):
    OUT/shards/<config hash>.csv     one per setting, written atomically, skipped on re-run
    OUT/NAME.csv                     all shards merged, rewritten after every run
"""
import dataclasses
import itertools
from pathlib import Path

import pandas as pd
import yaml

from simulator.config import Setting
from simulator.errors import UserError
from simulator.progress import progress_bar
from simulator.results import write_csv

SETTING_FIELDS = {f.name for f in dataclasses.fields(Setting)}


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


def run_unit(unit):
    """Run ``unit`` (any object with ``done()``, ``run(progress)`` and ``path``: a
    :class:`Unit`, or one of the image sweep's units) unless it is done; returns its path.
    Idempotent, and module-level so that Dask can send it to a worker."""
    if not unit.done():
        unit.run(progress=False)
    return unit.path


def read_config(path):
    """The YAML sweep config at ``path`` as a dict, checked for shape."""
    try:
        config = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise UserError(f"cannot read sweep config {path}: {error.strerror}; "
                        "see configs/ for examples") from None
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise UserError(f"sweep config {path} is not valid YAML{line}") from None
    if not isinstance(config, dict) or not isinstance(config.get("grid", []), list):
        raise UserError(f"sweep config {path} must be a mapping with 'name', 'base' and a "
                        "list 'grid'; see configs/fig2.yaml")
    config.setdefault("name", Path(path).stem)
    return config


def _check_keys(params, where):
    unknown = set(params) - SETTING_FIELDS
    if unknown:
        raise UserError(f"unknown parameter(s) {', '.join(sorted(unknown))} in {where}; "
                        f"known: {', '.join(sorted(SETTING_FIELDS))}")


def expand(config, overrides=None, smoke=False):
    """The settings of a sweep config, in grid order, without duplicates."""
    base = dict(config.get("base") or {})
    top = {**((config.get("smoke") or {}) if smoke else {}), **(overrides or {})}
    _check_keys(base, "base")
    _check_keys(top, "the overrides")
    settings = []
    for i, block in enumerate(config.get("grid") or [{}]):
        _check_keys(block, f"grid block {i + 1}")
        names = list(block)
        values = [v if isinstance(v, list) else [v] for v in block.values()]
        for combo in itertools.product(*values):
            setting = Setting(**{**base, **dict(zip(names, combo)), **top})
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


def run_units(units, executor=None, progress=None, noun="settings", desc="sweep"):
    """Run the units not yet done, here in order (one progress bar counting ``noun``, and
    each unit's own) or through ``executor`` (an object with ``map(fn, items, progress)``,
    see ``simulator.executors``); returns the number run."""
    todo = [u for u in units if not u.done()]
    if executor is not None:
        executor.map(run_unit, todo, progress=progress)
        return len(todo)
    with progress_bar(len(todo), noun, enabled=progress, desc=desc) as bar:
        for unit in todo:
            unit.run(progress=progress)
            bar.update(1)
    return len(todo)
    with progress_bar(len(todo), "settings", enabled=progress, desc="sweep") as bar:
        for unit in todo:
            run_unit(unit)
            bar.update(1)
    return len(todo)


def varying(settings):
    """The names of the parameters whose values differ across ``settings``."""
    dicts = [s.as_dict() for s in settings]
    return [k for k in dicts[0] if len({repr(d.get(k)) for d in dicts}) > 1] if dicts else []


def plan_table(units):
    """A DataFrame describing each unit: its varying parameters, cost estimate and status."""
    from simulator.estimate import estimate_seconds

    keys = varying([u.setting for u in units])
    return pd.DataFrame([{**{k: u.setting.as_dict().get(k) for k in keys},
                          "hash": u.setting.config_hash(),
                          "est_s": round(estimate_seconds(u.setting), 1),
                          "status": "done" if u.done() else "todo"} for u in units])
