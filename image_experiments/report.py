"""``imgctl report``: the analyses of a finished (or partial) image sweep, from its stored
units only (nothing retrains). Writes into OUT (default RESULTS_DIR/report, or
RESULTS_DIR/report-pseudo_max for that checkpoint kind) the CSVs behind every figure (their
names: ``image_experiments.report_files``); ``image_experiments.render`` then draws the
figures and report.md from those CSVs alone (which is all ``imgctl plot`` does).

Units come from RESULTS_DIR/units; when they stem from more than one sweep configuration,
those named in RESULTS_DIR/strategies.csv (the last sweep's tables) are used. PM and RM are
the sweep's own (``image_experiments.analysis``), so the report and the sweep's tables can
never disagree.
"""
import dataclasses
import json
from pathlib import Path

import pandas as pd

from image_experiments import analysis, report_files
from image_experiments import multiplicity as mm
from image_experiments.analysis import short_note
from image_experiments.hypothesis import Entry, hypothesis_rows, keep_all_rows
from image_experiments.images import Images
from image_experiments.intervention_table import MODEL_COLUMNS, Attacks, model_rows
from image_experiments.report_options import matches, parse_strategy
from image_experiments.report_tables import write_tables
from image_experiments.storage import read_unit, stored_rm_index, unit_key, unit_paths
from irrepro.errors import UserError
from irrepro.progress import progress_bar
from irrepro.tables import check_writable, write_text


def fig2_rows(key, unit, stored, kind):
    """Fig. 2's rows of one strategy, taken from the sweep's own strategy rows
    (``analysis.checkpoint_rows``): 'pm' per set and 'svcca_<layer>' (= -RM) per layer, each
    with its bootstrap interval and SVCCA's caution, 'variants_checkpointed' and
    'accuracy_spread'. A strategy short of K has its note on every PM row: such a PM is over
    fewer variants."""
    found = analysis.checkpoint_rows(unit, stored, kind)["strategies"]
    short = next((r["note"] for r in found if r["metric"] == "variants_checkpointed"), "")
    rows = []
    for row in found:
        picked = {k: row[k] for k in ("ood_set", "metric", "value", "ci_low", "ci_high", "note")}
        if row["metric"] in ("variants_checkpointed", "accuracy_spread"):
            rows.append({**key, **picked})
        elif row["metric"] == "pm":
            rows.append({**key, **picked, "note": short or row["note"]})
        elif row["metric"].startswith("rm_"):
            rows.append({**key, **picked, "metric": "svcca_" + row["metric"].removeprefix("rm_"),
                         "value": -row["value"], "ci_low": -row["ci_high"],
                         "ci_high": -row["ci_low"]})
    return rows


def compute(results_dir, out, options, progress=None):
    """Read every unit once and write the CSVs and report.json of the module docs into
    ``out``. Returns the paths written."""
    paths = unit_paths(results_dir)
    out = Path(out)
    check_writable(out / report_files.MANIFEST)
    chosen = parse_strategy(options.strategy)
    images = Images(options.data_dir)
    attacks = Attacks(out / report_files.PGD_CACHE, options.pgd_budgets, options.pgd_steps,
                      options.pgd_points)
    fig2, hypothesis, models, pooled, notes, entries = [], [], [], {}, [], []
    with progress_bar(len(paths), "units", enabled=progress, desc="units") as bar:
        for path in paths:
            unit = read_unit(path)
            notes += [note for note in unit.meta.get("notes", []) if note not in notes]
            stored = unit.checkpoints.get(options.checkpoint)
            bar.update(1)
            if stored is None or not len(stored.variants):
                notes.append(f"{path.name}: no {options.checkpoint} checkpoint (a sweep "
                             "without --pseudo-max, or no variant reached it)")
                continue
            key = unit_key(unit.meta, options.checkpoint)
            probs = {name: stored.probs(name) for name in unit.labels}
            models += model_rows(key, unit, stored, probs, options.noise_rates)
            test = images.test_set(unit)
            if test is not None:
                models += attacks.rows_for(key, unit, stored, test)
                attacks.save()
            if matches(chosen, key):
                pooled.setdefault(key["dataset"], []).append((probs["test"], unit.labels["test"],
                                                              test))
            fig2 += fig2_rows(key, unit, stored, options.checkpoint)
            short = (short_note(len(stored.variants), len(unit.seeds), "target", unit.meta)
                     if options.checkpoint == "target" else "")
            if short:
                notes.append(f"{key['regime']}={key['strategy']:g}: {short}")
            if len(stored.variants) < 2:
                continue
            if test is not None:
                fig2 += keep_all_rows(key, unit.meta, stored, test.x[stored_rm_index(path)])
            entries.append(Entry(key, path, mm.per_input_pm(probs["test"])))
    if entries:
        size = min(options.subset_size, min(len(e.per_input) for e in entries) // 2)
        hypothesis = hypothesis_rows(entries, size, options.subset_per, images,
                                     options.checkpoint)
    notes += images.notes
    if not models:
        raise UserError(f"no unit in {results_dir} has a {options.checkpoint} checkpoint"
                        + (" (run the sweep with --pseudo-max)"
                           if options.checkpoint == "pseudo_max" else ""))
    written = write_tables(out, options, pd.DataFrame(fig2), pd.DataFrame(hypothesis),
                           pd.DataFrame(models, columns=MODEL_COLUMNS), pooled, notes)
    if chosen is not None and not pooled:
        notes.append(f"no unit is the strategy {options.strategy}: no confabulation figure")
    datasets = sorted(set(pd.DataFrame(models, columns=MODEL_COLUMNS)["dataset"]))
    manifest = {"results_dir": str(results_dir), "units": len(paths),
                "options": dataclasses.asdict(options), "datasets": datasets,
                "metrics": [options.resolve(m) for m in options.metrics],
                "select": [options.resolve(m) for m in options.select],
                "pgd_computed": attacks.computed, "notes": notes}
    manifest_path = out / report_files.MANIFEST
    write_text(manifest_path, json.dumps(manifest, indent=1))
    return [*written, manifest_path]


def report_command(results_dir, out=None, options=None, progress=None, echo=print):
    """``imgctl report``: compute the report of ``results_dir`` (``options``: the fields of
    :class:`ReportOptions`) into ``out``, draw it, and list what was written."""
    import dataclasses

    from image_experiments.render import print_written, render
    from image_experiments.report_options import ReportOptions, default_out
    from image_experiments.storage import stored_checkpoint
    from image_experiments.study_report import is_study_results, study_report_command

    options = dict(options or {})
    if is_study_results(results_dir):
        return study_report_command(results_dir, out, options, progress, echo)
    checkpoint = options.pop("checkpoint", None)
    settings = ReportOptions(**options, checkpoint=checkpoint or "target")
    if checkpoint is None:  # what the units store (after the options' own checks)
        settings = dataclasses.replace(settings, checkpoint=stored_checkpoint(results_dir))
    out = Path(out) if out else default_out(results_dir, settings.checkpoint)
    written = compute(results_dir, out, settings, progress)
    written += render(out)
    print_written(out, written, echo)
    return written
