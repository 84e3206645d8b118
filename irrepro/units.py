"""Units of work: idempotent pieces of a sweep, run here in order or by an executor.

A unit is any object with ``path`` (the file it writes, atomically), ``done()`` (whether
that file exists) and ``run(progress)``: a simulator setting, an image strategy's K
variants, a probe. Because a unit whose file exists is skipped, an interrupted sweep
resumes where it stopped, and a unit retried on another Dask worker does no harm.
"""
from irrepro.progress import progress_bar


def run_unit(unit):
    """Run ``unit`` unless it is done; returns its path. Module-level so that Dask can send
    it to a worker."""
    if not unit.done():
        unit.run(progress=False)
    return unit.path


def run_units(units, executor=None, progress=None, noun="settings", desc="sweep"):
    """Run the units not yet done, here in order (one progress bar counting ``noun``, and
    each unit's own) or through ``executor`` (an object with ``map(fn, items, progress)``,
    see :mod:`irrepro.executors`); returns the number run."""
    todo = [u for u in units if not u.done()]
    if executor is not None:
        executor.map(run_unit, todo, progress=progress)
        return len(todo)
    with progress_bar(len(todo), noun, enabled=progress, desc=desc) as bar:
        for unit in todo:
            unit.run(progress=progress)
            bar.update(1)
    return len(todo)
