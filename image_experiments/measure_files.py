"""``imgctl measure``: the measures of ``image_experiments.measure`` from files, written as
tidy CSVs and a short report (NumPy, pandas, matplotlib; no TensorFlow).

Input: one ``.npz`` archive, or a folder of ``.npy`` files with the same names:

  probs           float [K, N, C] class probabilities (or ``scores`` float [K, N], binary)
  labels          int [N] true classes
  act_<layer>     float [K, N', ...] activations of one layer (N' <= N inputs)
  group_<name>    bool [N] a group of inputs
  models          optional table of K rows, one per model: a structured array (one field per
                  hyper-parameter), or a JSON string of a list of K objects, e.g.
                  '[{"lr": 0.001, "seed": 0}, {"lr": 0.001, "seed": 1}, ...]'

Output in OUT (each file written atomically; an input error writes nothing):

  measures.csv        ``measure``'s table over all K models (columns metric, value, ci_low,
                      ci_high, layer, group, model, note; exactly one ``pm`` row with an
                      empty group)
  models.csv          per model: its hyper-parameters and accuracy (overall and per group)
  sets.csv            when ``models`` has hyper-parameter columns besides a seed: PM and RM
                      per model set (models sharing every hyper-parameter but the seed)
  confabulation.csv   the inputs whose predicted labels vary most across the K models
  sheet-accuracy.csv  a multiplicity sheet (Ganesh, 2023) of accuracy over model sets x seeds
  report.md (+ PNG/PDF figures of the sheet)
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import measure as api
from image_experiments import multiplicity as mm
from image_experiments import sheets
from irrepro.errors import UserError
from irrepro.tables import write_atomic

SEED_COLUMNS = ("seed", "init_seed", "order_seed", "variant", "model")


def read_arrays(path):
    """{name: array} of the .npz file or folder of .npy files at ``path``."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise UserError(f"{path}: no .npy files; put probs.npy (or scores.npy) and "
                            "labels.npy there, or give an .npz file")
        arrays = {}
        for file in files:
            try:
                arrays[file.stem] = np.load(file, allow_pickle=False)
            except (ValueError, OSError) as error:
                raise UserError(f"{file}: unreadable .npy file ({str(error).splitlines()[0]}); "
                                "save it with numpy.save") from None
        return arrays
    if not path.is_file():
        raise UserError(f"{path}: no such file or folder; give an .npz file or a folder of "
                        ".npy files")
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (ValueError, OSError, EOFError) as error:
        raise UserError(f"{path}: not a readable .npz archive ({str(error).splitlines()[0]}); "
                        "save it with numpy.savez(path, probs=..., labels=...)") from None


def models_table(stored, k):
    """The ``models`` array as a DataFrame of K rows (index = model), or an empty one."""
    if "models" not in stored:
        return pd.DataFrame(index=range(k))
    table = stored["models"]
    try:
        if table.dtype.names:
            frame = pd.DataFrame({name: table[name] for name in table.dtype.names})
        else:
            frame = pd.DataFrame(json.loads(str(table)))
    except (ValueError, TypeError) as error:
        raise UserError(f"models: not a structured array or a JSON list of objects ({error}); "
                        'e.g. models=json.dumps([{"lr": 1e-3, "seed": 0}, ...])') from None
    if len(frame) != k:
        raise UserError(f"models: {len(frame)} rows but the predictions have {k} models; give "
                        "one row per model, in order")
    return frame.reset_index(drop=True)


def load(path):
    """(probs [K, N, C], labels, groups, activations, models table) from ``path``, checked;
    K < 2 is an error here (a file is meant for multiplicity)."""
    stored = read_arrays(path)
    if "probs" in stored and "scores" in stored:
        raise UserError(f"{path}: holds both probs and scores; keep one of them")
    name = "probs" if "probs" in stored else "scores"
    if name not in stored or "labels" not in stored:
        missing = [n for n in (name, "labels") if n not in stored]
        raise UserError(f"{path}: no {' and no '.join(missing)} array (found "
                        f"{', '.join(sorted(stored)) or 'nothing'}); save probs [K, N, C] or "
                        "scores [K, N] and labels [N]")
    probs = api.as_probs(stored[name], name)
    k, n, c = probs.shape
    if k < 2:
        raise UserError(f"{name}: {k} model; multiplicity needs the predictions of at least 2 "
                        "models stacked as [K, N, ...]")
    labels = api.as_labels(stored["labels"], n, c)
    groups = api.as_groups({key[6:]: v for key, v in stored.items()
                            if key.startswith("group_")}, n)
    layers = api.as_layers({key[4:]: v for key, v in stored.items()
                            if key.startswith("act_")}, k, n)
    for layer, acts in layers.items():
        if not np.isfinite(np.asarray(acts, np.float64)).all():
            raise UserError(f"act_{layer}: NaN or infinite activations; activations must be "
                            "finite: check the layer for overflow or drop those inputs")
    return probs, labels, groups, layers, models_table(stored, k)


def hyper_columns(models):
    """The model table's hyper-parameter columns (all but seeds and indices)."""
    return [c for c in models.columns if c not in SEED_COLUMNS]


def model_rows(probs, labels, groups, models):
    """models.csv: per model its table row and accuracy, overall and per group."""
    rows = models.copy()
    rows.insert(0, "model", np.arange(len(probs)))
    rows["accuracy"] = mm.accuracy(probs, labels)
    for name, mask in groups.items():
        rows[f"accuracy_{name}"] = mm.accuracy(probs[:, mask], labels[mask])
    return rows


def set_rows(probs, labels, layers, models, options):
    """sets.csv: PM and RM (per layer) of each model set (rows of ``models`` equal in every
    hyper-parameter column), from ``api.measure`` on that set's models."""
    columns = hyper_columns(models)
    if not columns:
        return None
    rows = []
    for key, members in models.groupby(columns, sort=True).groups.items():
        index = np.asarray(members)
        key = key if isinstance(key, tuple) else (key,)
        table = api.measure(probs[index], labels,
                            activations={name: np.asarray(a)[index] for name, a in layers.items()},
                            **options)
        keep = table[(table.group == "") & (table.metric.isin(
            ["pm", "accuracy_mean", "label_disagreement", *(f"rm_{name}" for name in layers)]))]
        for row in keep.itertuples(index=False):
            rows.append({**dict(zip(columns, key)), "models": len(index), "metric": row.metric,
                         "value": row.value, "ci_low": row.ci_low, "ci_high": row.ci_high,
                         "note": row.note})
    return pd.DataFrame(rows)


def confabulation_rows(probs, labels):
    """confabulation.csv: the 16 inputs whose labels vary most over the K models
    (``report_tables.confabulators``, the table of ``imgctl report``; no images here)."""
    from image_experiments.report_tables import confabulators

    return confabulators([(probs, labels, None)])[0]


def accuracy_sheet(models_frame):
    """The accuracy multiplicity sheet: model sets (hyper-parameter values) x seeds; None
    without hyper-parameter columns."""
    columns = hyper_columns(models_frame.drop(columns=[c for c in models_frame.columns
                                                       if c.startswith("accuracy")] +
                                              ["model"]))
    if not columns:
        return None
    frame = models_frame.copy()
    frame["regime"] = "models"
    codes = frame.groupby(columns, sort=True).ngroup()
    frame["strategy"] = codes.astype(float)
    frame["variant"] = frame.groupby(codes).cumcount()
    frame["value"] = frame["accuracy"]
    wide = sheets.sheet(frame, {"models": sorted(frame["strategy"].unique())})
    keys = [key if isinstance(key, tuple) else (key,)
            for key in frame.groupby(columns, sort=True).groups]
    labels = {f"{code:g}": ", ".join(f"{c}={v}" for c, v in zip(columns, key))
              for code, key in enumerate(keys)}
    wide["row"] = [labels.get(r, r) for r in wide["row"]]
    return wide


def run(path, out, draws=api.bs.DRAWS, capacity_draws=api.rashomon.CAPACITY_DRAWS,
        rm_measures=("svcca", "cka"),
        baseline=None, epsilon=api.rashomon.EPSILON, seed=api.bs.SEED):
    """Read ``path``, measure, and write the files of the module docs into ``out``; returns
    the paths written. Everything is computed before the first file is written."""
    probs, labels, groups, layers, models = load(path)
    options = dict(draws=draws, capacity_draws=capacity_draws, rm_measures=rm_measures,
                   baseline=baseline, epsilon=epsilon, seed=seed)
    table = api.measure(probs, labels, groups, layers, **options)
    per_model = model_rows(probs, labels, groups, models)
    per_set = set_rows(probs, labels, layers, models, {**options, "capacity_draws": 0})
    confabulation = confabulation_rows(probs, labels)
    wide = accuracy_sheet(per_model)
    frames = {"measures.csv": table, "models.csv": per_model, "confabulation.csv": confabulation}
    if per_set is not None:
        frames["sets.csv"] = per_set
    if wide is not None:
        frames["sheet-accuracy.csv"] = wide.round(9)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot write into {out}: {error.strerror}; choose another --out") \
            from None
    written = []
    for name, frame in frames.items():
        write_atomic(out / name, lambda tmp, frame=frame: frame.to_csv(tmp, index=False))
        written.append(out / name)
    written += _figures(out, wide)
    report = out / "report.md"
    text = report_text(path, table, per_set, confabulation, wide, probs.shape)
    write_atomic(report, lambda tmp: Path(tmp).write_text(text))
    return [*written, report]


def _figures(out, wide):
    if wide is None:
        return []
    from image_experiments import figures
    from irrepro.tables import save_figure

    fig = figures.sheet_figure(wide, "accuracy (%) per model set x seed")
    return [Path(p) for p in save_figure(fig, str(out / "sheet-accuracy"))]


def report_text(path, table, per_set, confabulation, wide, shape):
    """report.md: the main measures, PM/RM per model set, confabulation and the sheet."""
    from image_experiments.readings import confabulation_reading, markdown_table, sheet_reading

    k, n, c = shape
    main = table[(table.group == "") & (table.metric != "accuracy")][
        ["metric", "layer", "value", "ci_low", "ci_high", "note"]]
    lines = [f"# Multiplicity of {k} models: {path}", "",
             f"{k} models, {n} inputs, {c} classes. Intervals: 95% bootstrap over models.", "",
             "## Measures over all models", "", markdown_table(main, 4), ""]
    groups = sorted(set(table.group) - {""})
    if groups:
        part = table[table.group.isin(groups) & table.metric.isin(
            ["pm", "accuracy_mean", "label_disagreement", "ambiguity"])][
            ["group", "metric", "value", "ci_low", "ci_high"]]
        lines += ["## Groups", "", markdown_table(part, 4), ""]
    if per_set is not None:
        lines += ["## PM and RM per model set", "", markdown_table(per_set.drop(
            columns=["note"]), 4), ""]
    lines += ["## Confabulation: inputs labelled most differently", "",
              *(f"- {line}" for line in confabulation_reading(confabulation)), "",
              markdown_table(confabulation, 3), ""]
    if wide is not None:
        lines += ["## Multiplicity sheet: accuracy (%)", "", "![sheet](sheet-accuracy.png)", "",
                  *(f"- {line}" for line in sheet_reading(wide.assign(
                      row=wide["row"].astype(str)), "accuracy")), ""]
    return "\n".join(lines) + "\n"
