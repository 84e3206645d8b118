"""``imgctl report`` of a Ganesh study (image_experiments.axes): his multiplicity sheets,
one table per axis with the seeds as columns, and his model selection, from the stored
units only. Writes into OUT (default RESULTS_DIR/report):

    interventions.csv                one row per model and intervention: accuracy (0..1)
    sheet-<dataset>-<metric>.csv     the sheet of each selection and unforeseen metric
                                     (percent; Delta_max per row and column, Delta_max^all)
    sheets.csv                       per metric and axis: Delta_max^all, the largest row
                                     and column Delta_max; per metric over the whole sheet,
                                     beside the paper's Delta_max^all where he reports one
    selection-<dataset>.csv          models in the top k% of every selection metric across
                                     all training configurations, and the spread left on
                                     the unforeseen metrics
    report.json                      what the renderer needs

then ``render`` draws sheet-*.png/.pdf, sheets-<dataset>, selection-<dataset> and report.md
from those CSVs alone (``imgctl plot OUT`` redraws them).

Interventions of a model (names as in the config's ``metrics`` / ``unforeseen``):
accuracy; group_<name> (accuracy on a stored group mask); ood_<set>; noise_<lambda> (output
noise lambda * Exp(1) on the class probabilities, image_experiments.interventions, drawn
from the experiment seed so every model sees the same); input_noise_<lambda> (the stored
predictions on the input-perturbed test set); pgd_<budget> (stored PGD accuracy).
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import interventions, sheets
from image_experiments import multiplicity as mm
from image_experiments.axes import AXES, read_study_unit
from irrepro.errors import UserError
from irrepro.tables import check_writable, write_atomic, write_csv

SHEET_LABELS = {"accuracy": "Accuracy", "group_gs_minority": "Group Accuracy (GS Minority)",
                "ood_cifar10_gs": "OOD Accuracy (CIFAR10-GS)",
                "noise_5": "Perturbation Accuracy (λ = 5)",
                "pgd_0.005": "PGD Accuracy (δ = 0.005)"}


def is_study_results(results_dir):
    """Whether RESULTS_DIR holds a Ganesh study (its study.json)."""
    return (Path(results_dir) / "study.json").is_file()


def read_study(results_dir):
    path = Path(results_dir) / "study.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        raise UserError(f"{path} is unreadable; run `imgctl sweep` with --out "
                        f"{results_dir} again") from None


def model_values(meta, arrays, study):
    """{intervention: accuracy} of one stored model."""
    labels = arrays["labels"].astype(np.int64)
    probs = {name.removeprefix("logp."): np.exp(arrays[name].astype(np.float64))[None]
             for name in arrays if name.startswith("logp.")}
    values = {"accuracy": float(mm.accuracy(probs["test"], labels)[0])}
    logp_test = arrays["logp.test"].astype(np.float64)[None]  # not log(exp()): no underflow
    for name in arrays:
        if name.startswith("group."):
            group = name.removeprefix("group.")
            values[f"group_{group}"] = float(interventions.group_accuracy(
                probs["test"], labels, arrays[name])[0])
    for name, p in probs.items():
        if name.startswith("input_noise_"):
            values[name] = float(mm.accuracy(p, labels)[0])
        elif name != "test":
            values[f"ood_{name}"] = float(mm.accuracy(p, labels)[0])
    for rate in study["noise_rates"]:
        values[sheets.intervention_name("noise", float(rate))] = float(
            interventions.output_noise_accuracy(probs["test"], labels, float(rate),
                                                meta["experiment_seed"])[0])
        # the same draws on the log-probabilities (= on the logits: a per-input constant
        # apart, which no argmax sees), the reading under which his lambda = 5 can spread
        values[f"noise_logit_{float(rate):g}"] = float(
            interventions.output_noise_accuracy(logp_test, labels, float(rate),
                                                meta["experiment_seed"])[0])
    for budget, accuracy in zip(meta["pgd_budgets"], arrays["pgd"]):
        values[sheets.intervention_name("pgd", float(budget))] = float(accuracy)
    return values


def read_models(results_dir, study, notes):
    """interventions.csv's frame: one row per (stored model of this study, intervention)."""
    paths = sorted((Path(results_dir) / "units").glob("*.npz"))
    rows, stale = [], 0
    for path in paths:
        meta, arrays = read_study_unit(path)
        if meta.get("training_hash") != study["training_hash"]:
            stale += 1
            continue
        ids = {"dataset": meta["dataset"], "label": meta["label"], "seed": meta["seed"],
               **{a: meta["config"][a] for a in AXES}, "epochs": meta["epochs"],
               "checkpoint": meta["checkpoint"], "unit_hash": meta["unit_hash"]}
        rows += [{**ids, "intervention": k, "value": v}
                 for k, v in model_values(meta, arrays, study).items()]
    if stale:
        notes.append(f"{stale} stored unit(s) of another study configuration ignored")
    if not rows:
        raise UserError(f"no stored model of this study in {Path(results_dir) / 'units'}; "
                        f"run `imgctl sweep` with --out {results_dir}")
    return pd.DataFrame(rows)


def _same(a, b):
    try:
        return bool(np.isclose(float(a), float(b)))
    except (TypeError, ValueError):
        return str(a) == str(b)


def sheet_frame(models, study, metric):
    """The (regime = axis, strategy = value, variant = seed, value) rows of one metric's
    sheet: each axis value's models are those of the configuration that sets the axis to
    it and keeps every other axis at its default."""
    mine = models[models["intervention"] == metric]
    rows = []
    for axis, value in study["rows"]:
        config = {**study["defaults"], axis: value}
        match = np.ones(len(mine), bool)
        for a in AXES:
            match &= np.array([_same(v, config[a]) for v in mine[a]], bool)
        for seed, v in zip(mine.loc[match, "seed"], mine.loc[match, "value"]):
            rows.append({"regime": axis, "strategy": value, "variant": int(seed), "value": v})
    return pd.DataFrame(rows, columns=["regime", "strategy", "variant", "value"])


def study_sheet(models, study, metric):
    """The wide sheet (sheets.sheet) of ``metric``, tables in the config's axis order."""
    frame = sheet_frame(models, study, metric)
    if frame.empty:
        return None
    order = {}
    for axis, value in study["rows"]:
        order.setdefault(axis, []).append(value)
    return sheets.sheet(frame, order)


def selection(models, study, percents, notes):
    """Model selection across all training configurations (sheets.selection): one row per
    distinct model, selected on the config's ``metrics``, spread on ``unforeseen``."""
    wanted = [*study["metrics"], *study["unforeseen"]]
    values = models.pivot_table(index=["label", "seed"], columns="intervention",
                                values="value", aggfunc="first")
    missing = [m for m in wanted if m not in values.columns]
    if missing:
        notes.append(f"model selection lacks {', '.join(missing)}: not in these units")
    present = [m for m in wanted if m in values.columns]
    selected = [m for m in study["metrics"] if m in present]
    if not selected or len(present) == len(selected):
        return None
    return sheets.selection(values[present], selected, percents).assign(
        dataset=models["dataset"].iloc[0], regime="all", selected_on=" ".join(selected))


def compute(results_dir, out, top_percents=None, progress=None):
    """Write the CSVs and report.json of the module docs into ``out``; returns the paths."""
    out = Path(out)
    check_writable(out / "report.json")
    study = read_study(results_dir)
    notes = []
    models = read_models(results_dir, study, notes)
    dataset = models["dataset"].iloc[0]
    written = []

    def write(frame, name):
        write_csv(frame, out / name)
        written.append(out / name)

    write(models, "interventions.csv")
    summaries, drawn = [], []
    known = set(models["intervention"])
    for metric in dict.fromkeys([*study["metrics"], *study["unforeseen"],
                                 *study.get("extra_sheets", ())]):
        if metric not in known:
            notes.append(f"no intervention '{metric}' in these units (known: "
                         f"{', '.join(sorted(known))})")
            continue
        wide = study_sheet(models, study, metric)
        if wide is None:
            continue
        write(wide.round(9), f"sheet-{dataset}-{metric}.csv")
        drawn.append(metric)
        summary = sheets.sheet_summary(wide).assign(dataset=dataset, intervention=metric)
        paper = (study.get("paper") or {}).get(metric)
        summary["paper_delta_max_all"] = np.where(summary["regime"] == "all",
                                                  np.nan if paper is None else paper, np.nan)
        summaries.append(summary)
    write(pd.concat(summaries, ignore_index=True)[
        ["dataset", "intervention", "regime", "delta_max_all", "max_delta_seeds",
         "max_delta_strategies", "paper_delta_max_all"]], "sheets.csv")
    percents = tuple(top_percents or study["top_percents"])
    chosen = selection(models, study, percents, notes)
    if chosen is not None:
        write(chosen, f"selection-{dataset}.csv")
    seeds = models.groupby("label")["seed"].nunique()
    manifest = {"study": True, "results_dir": str(results_dir), "dataset": dataset,
                "metrics": drawn, "selected_on": list(study["metrics"]),
                "unforeseen": list(study["unforeseen"]), "top_percents": list(percents),
                "configurations": len(seeds), "models": int(seeds.sum()),
                "seeds": int(study["seeds"]), "epochs": int(study["epochs"]),
                "width": int(study["width"]), "checkpoint": study["checkpoint"],
                "train_subset": study["train_subset"], "test_subset": study["test_subset"],
                "notes": notes}
    write_atomic(out / "report.json",
                 lambda tmp: Path(tmp).write_text(json.dumps(manifest, indent=1)))
    return [*written, out / "report.json"]


def comparison(out):
    """Delta_max^all of every metric, ours and the paper's (NaN where he gives none):
    a DataFrame with columns intervention, ours, paper."""
    frame = pd.read_csv(Path(out) / "sheets.csv")
    total = frame[frame["regime"] == "all"]
    return pd.DataFrame({"intervention": total["intervention"],
                         "ours": total["delta_max_all"],
                         "paper": total["paper_delta_max_all"]}).reset_index(drop=True)


def render(out):
    """Draw the study report's figures and report.md from its CSVs; returns the paths."""
    from image_experiments import figures, readings
    from image_experiments.render import read_frame, read_manifest, section
    from irrepro.tables import save_figure

    out = Path(out)
    manifest = read_manifest(out)
    dataset = manifest["dataset"]
    written = []

    def draw(fig, stem):
        written.extend(Path(p) for p in save_figure(fig, str(out / stem)))
        return f"![{stem}]({stem}.png)"

    lines = [f"# Multiplicity sheets (Ganesh, 2023): {manifest['results_dir']}", "",
             f"{manifest['models']} models: {manifest['configurations']} training "
             f"configurations x {manifest['seeds']} seeds, {manifest['epochs']} epochs, "
             f"`{manifest['checkpoint']}` checkpoint (the last epoch), ResNet width "
             f"{manifest['width']}"
             + (f", {manifest['train_subset']} training images" if manifest['train_subset']
                else "")
             + (f", {manifest['test_subset']} test images" if manifest['test_subset'] else "")
             + ". One table per axis, seeds as columns.", ""]
    if manifest["notes"]:
        lines += ["Notes:", "", *(f"- {note}" for note in manifest["notes"]), ""]
    table = comparison(out)
    lines += ["## Δmax^all: ours beside Ganesh's (appendix A)", "",
              readings.markdown_table(table.fillna("")), ""]
    for metric in manifest["metrics"]:
        wide = read_frame(out / f"sheet-{dataset}-{metric}.csv")
        wide["row"] = wide["row"].astype(str)
        title = SHEET_LABELS.get(metric, metric)
        role = "unforeseen" if metric in manifest["unforeseen"] else "selection"
        lines += section(f"Multiplicity sheet: {title} ({role} metric, %)",
                         draw(figures.sheet_figure(wide, f"{dataset}: {title} (%)"),
                              f"sheet-{dataset}-{metric}"), readings.sheet_reading(wide, metric))
    deltas = read_frame(out / "sheets.csv")
    per_axis = deltas[deltas["regime"] != "all"]
    lines += section("Δmax^all of every metric, per axis",
                     draw(figures.deltas_figure(per_axis, f"{dataset}: Δmax^all per axis"),
                          f"sheets-{dataset}"), readings.deltas_reading(per_axis))
    chosen = read_frame(out / f"selection-{dataset}.csv")
    if chosen is not None:
        lines += section("Model selection: spread left on unforeseen metrics",
                         draw(figures.selection_figure(
                             chosen, f"{dataset}: top-k% on {chosen['selected_on'].iloc[0]}"),
                              f"selection-{dataset}"), readings.selection_reading(chosen))
    path = out / "report.md"
    write_atomic(path, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    return [*written, path]


def study_report_command(results_dir, out=None, options=None, progress=None, echo=print):
    """``imgctl report`` of a Ganesh study's results: his sheets and model selection, and
    his Delta_max^all beside ours. Of ``options`` (``imgctl report``'s) only --top-percent,
    --data-dir and --checkpoint final apply; any other changed option is an error."""
    from image_experiments.render import print_written
    from image_experiments.report_options import DEFAULTS

    options = options or {}
    changed = [f"--{key.replace('_', '-')}" for key, value in options.items()
               if key not in ("top_percents", "data_dir", "checkpoint")
               and value != DEFAULTS.get(key)]
    if options.get("checkpoint") not in (None, "final"):
        changed.append(f"--checkpoint {options['checkpoint']}")
    if changed:
        raise UserError(f"{', '.join(changed)} do(es) not apply to a study's results (final "
                        "checkpoints; its metrics, rates and budgets are its config's)")
    percents = options.get("top_percents")
    percents = None if percents in (None, tuple(DEFAULTS["top_percents"])) else percents
    out = Path(out) if out else Path(results_dir) / "report"
    written = compute(results_dir, out, percents, progress)
    written += render(out)
    print_written(out, written, echo)
    for row in comparison(out).itertuples():
        paper = "" if row.paper != row.paper else f"   (Ganesh: {row.paper:.2f})"
        echo(f"Δmax^all {row.intervention}: {row.ours:.2f}{paper}")
    return written
