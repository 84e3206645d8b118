"""``imgctl report``: the analyses of a finished (or partial) image sweep, from its stored
units only (nothing retrains). Writes into OUT (default RESULTS_DIR/report, or
RESULTS_DIR/report-pseudo_max for that checkpoint kind) the CSVs behind every figure;
``image_experiments.render`` then draws the figures and report.md from those CSVs alone
(which is all ``imgctl plot`` does).

    fig2-<dataset>.csv          SVCCA per layer and PM per set, per strategy (Fig. 2)
    table1.csv                  Pearson r(SVCCA, PM) per regime, layer and set, Delta SVCCA
    hypothesis1-<dataset>.csv   per strategy: PM(S), PM(s), RM(s) on the lowest-PM subset s
                                (one per data set by default; image_experiments.hypothesis)
    hypothesis1.csv             E_RM, E_PM and whether Hypothesis 1 holds, per regime/layer
    confabulation-<dataset>.csv (+ .npz with the images) the most confabulated test inputs
    interventions.csv           accuracy under every intervention, one row per model
    sheet-<dataset>-<metric>.csv  the multiplicity sheet of each chosen metric
    sheets.csv                  Delta_max^all (and the largest row/column Delta_max) of
                                every intervention, per regime and over the whole sheet
    selection-<dataset>.csv     spread left on unforeseen metrics after top-k% selection
    pgd.csv                     cache of PGD accuracies (a re-run attacks only what is new)
    report.json                 options, notes and the names the renderer needs

Units come from RESULTS_DIR/units; when they stem from more than one sweep configuration,
those named in RESULTS_DIR/strategies.csv (the last sweep's tables) are used.
"""
import dataclasses
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import bootstrap
from image_experiments import multiplicity as mm
from image_experiments import relations, sheets
from image_experiments.analysis import short_note
from image_experiments.hypothesis import SUBSET_PER, Entry, hypothesis_rows, keep_all_rows
from image_experiments.attacks import PGD, attack_subset
from image_experiments.cnn import RM_LAYERS, build_cnn
from image_experiments.confabulation import most_confabulated
from image_experiments.figures import regimes_in, strategy_order
from image_experiments.storage import read_unit
from simulator.errors import UserError
from simulator.progress import progress_bar
from simulator.results import check_writable, write_atomic, write_csv

KEY_COLUMNS = ["dataset", "regime", "strategy", "lr", "batch", "checkpoint", "unit_hash"]
MODEL_COLUMNS = [*KEY_COLUMNS, "variant", "init_seed", "order_seed", "intervention", "value"]
CONFABULATORS = 16
METRIC_PATTERN = re.compile(r"^(accuracy|worst_class|class_\d+|ood_.+|noise(_[0-9.e+-]+)?"
                            r"|pgd(_[0-9.e+-]+)?)$")


@dataclasses.dataclass(frozen=True)
class ReportOptions:
    """What ``imgctl report`` computes (see its --help): the checkpoint kind, the metrics
    of the multiplicity sheets and of model selection (names of sheets' interventions;
    'noise' and 'pgd' stand for the first rate and budget), the noise rates, the PGD
    budgets, points and steps, the top-k% levels, Hypothesis 1's subset size, the strategy
    of the confabulation figure ('lr=1e-3', '64', or None: all) and the data folder."""

    checkpoint: str = "target"
    metrics: tuple = ("accuracy", "worst_class", "ood_xflip", "noise", "pgd")
    select: tuple = ("worst_class", "ood_xflip", "noise", "pgd")
    noise_rates: tuple = (5.0, 2.0)
    pgd_budgets: tuple = (0.01, 0.03)
    pgd_points: int = 256
    pgd_steps: int = 10
    top_percents: tuple = (75.0, 50.0)
    subset_size: int = 1000
    subset_per: str = "dataset"
    strategy: str | None = None
    data_dir: str | None = None

    def __post_init__(self):
        for name in (*self.metrics, *self.select):
            if not METRIC_PATTERN.match(name):
                raise UserError(f"unknown metric '{name}'; give accuracy, worst_class, "
                                "class_<c>, ood_<set>, noise[_<rate>] or pgd[_<budget>]")
        if not self.noise_rates or min(self.noise_rates) <= 0:
            raise UserError("--noise-rate takes positive rates, e.g. 5,2")
        if not self.pgd_budgets or min(self.pgd_budgets) < 0:
            raise UserError("--pgd-budget takes budgets >= 0, e.g. 0.01,0.03")
        if not self.top_percents or not all(0 < p <= 100 for p in self.top_percents):
            raise UserError("--top-percent takes percentages in (0, 100], e.g. 75,50")
        if self.subset_per not in SUBSET_PER:
            raise UserError(f"unknown --subset-per '{self.subset_per}'; choose "
                            f"{' or '.join(SUBSET_PER)}")
        parse_strategy(self.strategy)  # a UserError now rather than after the work

    def resolve(self, name):
        """The intervention a metric name stands for ('noise' -> 'noise_5', ...)."""
        if name == "noise":
            return sheets.intervention_name("noise", self.noise_rates[0])
        if name == "pgd":
            return sheets.intervention_name("pgd", self.pgd_budgets[0])
        return name


def default_out(results_dir, checkpoint):
    """RESULTS_DIR/report for the target checkpoint, RESULTS_DIR/report-<kind> otherwise."""
    return Path(results_dir) / ("report" if checkpoint == "target" else f"report-{checkpoint}")


def unit_paths(results_dir):
    """The stored units of the sweep in ``results_dir`` (see the module docs); a UserError
    when the folder or its units are missing."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        raise UserError(f"{results_dir} is not a folder; give the --out folder of an "
                        "`imgctl sweep`")
    paths = sorted((results_dir / "units").glob("*.npz"))
    if not paths:
        raise UserError(f"no stored units in {results_dir / 'units'}; run `imgctl sweep` "
                        f"with --out {results_dir} first")
    hashes = {path: path.stem.rsplit("-", 1)[-1] for path in paths}
    configs = {read_unit_meta(path)["config_hash"] for path in paths}
    if len(configs) > 1:
        tables = results_dir / "strategies.csv"
        if not tables.exists():
            raise UserError(f"the units in {results_dir / 'units'} come from "
                            f"{len(configs)} sweep configurations and no strategies.csv "
                            "says which is current; move the stale units away")
        current = set(pd.read_csv(tables, usecols=["unit_hash"], dtype=str)["unit_hash"])
        paths = [path for path in paths if hashes[path] in current]
    return paths


def read_unit_meta(path):
    """The meta dict of the unit at ``path`` (reads only that member)."""
    with np.load(path, allow_pickle=False) as stored:
        return json.loads(str(stored["meta"]))


def stored_rm_index(path):
    """The test inputs whose activations the unit at ``path`` stores, int [n] (its
    'rm_index' member, see image_experiments.storage)."""
    with np.load(path, allow_pickle=False) as stored:
        return stored["rm_index"]


def unit_key(meta, checkpoint):
    return {"dataset": meta["dataset"], "regime": meta["regime"], "strategy": meta["strategy"],
            "lr": meta["lr"], "batch": meta["batch"], "checkpoint": checkpoint,
            "unit_hash": meta["unit_hash"]}


def multiplicity_rows(key, probs, acts, seed=0, short=""):
    """Fig. 2's rows of one strategy: 'pm' per set of probs {set: [k, N, C]} and
    'svcca_<layer>' (= -RM) per layer of acts {layer: [k, n, p]}, with SVCCA's caution and a
    95% bootstrap interval over the variants (ci_low, ci_high; image_experiments.bootstrap);
    'variants_checkpointed' (how many variants probs holds), whose ``short`` note (a
    strategy short of K) every PM row repeats: such a PM is over fewer variants."""
    rows = [{**key, "ood_set": name, "metric": "pm", "value": mm.predictive_multiplicity(p),
             **_interval(bootstrap.pm_ci(p, seed=seed)), "note": short}
            for name, p in probs.items()]
    found = len(next(iter(probs.values())))
    rows.append({**key, "ood_set": "", "metric": "variants_checkpointed", "value": found,
                 "note": short})
    for layer in RM_LAYERS:
        value, note, interval = np.nan, "", {}
        try:
            rm = mm.layer_rm(acts[layer], layer)
            value, note = -rm.rm, rm.note
            interval = _interval(bootstrap.pairwise_ci(rm.svcca, found, seed=seed))
        except UserError as error:
            note = str(error)
        rows.append({**key, "ood_set": "test", "metric": f"svcca_{layer}", "value": value,
                     **interval, "note": note})
    return rows


def _interval(interval):
    return {"ci_low": interval.low, "ci_high": interval.high}


def spread_row(key, stored):
    """Fig. 2's row 'accuracy_spread': max - min of the checkpoints' test accuracies (the
    accuracies that chose them)."""
    return {**key, "ood_set": "test", "metric": "accuracy_spread",
            "value": float(np.ptp(stored.accuracy)), "note": ""}


def model_rows(key, unit, stored, probs, noise_rates):
    """Accuracy under every intervention but PGD of each checkpointed model of a unit: the
    rows of interventions.csv."""
    test, labels = probs["test"], unit.labels["test"]
    classes = test.shape[-1]
    # the accuracy that chose the checkpoint (float32 logits), as in variants.csv: float16
    # log-probabilities can tie or flip the argmax of barely trained models
    values = {"accuracy": np.asarray(stored.accuracy, float),
              "worst_class": sheets.worst_class_accuracy(test, labels, classes)}
    per_class = sheets.class_accuracy(test, labels, classes)
    values.update({sheets.intervention_name("class", c): per_class[:, c]
                   for c in range(classes)})
    values.update({sheets.intervention_name("ood", name): mm.accuracy(p, unit.labels[name])
                   for name, p in probs.items() if name != "test"})
    values.update({sheets.intervention_name("noise", rate):
                   sheets.noise_accuracy(test, labels, rate, unit.meta["seed"])
                   for rate in noise_rates})
    return [{**key, **variant_ids(unit, stored, i), "intervention": name,
             "value": float(value[i])}
            for name, value in values.items() for i in range(len(stored.variants))]


def variant_ids(unit, stored, i):
    k = int(stored.variants[i])
    return {"variant": k, "init_seed": int(unit.seeds[k, 0]),
            "order_seed": int(unit.seeds[k, 1])}


class Images:
    """The evaluation images of each data set, rebuilt by ``sweep.prepare`` from a unit's
    meta (None, with a note, when the data files are missing or do not match the stored
    labels)."""

    def __init__(self, data_dir):
        self.data_dir, self.found, self.notes = data_dir, {}, []

    def test_set(self, unit):
        """The unit's test set (an OODSet with x float32 [N, H, W, C], y), or None."""
        from image_experiments.sweep import prepare

        meta = unit.meta
        key = (meta["dataset"], meta["train_subset"], meta["test_subset"], meta["seed"])
        if key not in self.found:
            try:
                test = prepare(*key[:1], self.data_dir, *key[1:]).sets[0]
            except UserError as error:
                test = None
                self.notes.append(f"{meta['dataset']} images unavailable, so its "
                                  f"confabulation figure and PGD attacks are skipped "
                                  f"(give --data-dir): {str(error).split(';')[0]}")
            if test is not None and not np.array_equal(test.y, unit.labels["test"]):
                test = None
                self.notes.append(f"the {meta['dataset']} test set rebuilt from the data "
                                  "files does not match the stored labels; images skipped")
            self.found[key] = test
        return self.found[key]


class Attacks:
    """PGD accuracies of stored models, cached in OUT/pgd.csv: one row per (unit_hash,
    checkpoint, variant, weights, budget, steps, points). ``weights`` fingerprints the model's
    weights, so a unit retrained under the same hash (other code, same parameters) is
    attacked again rather than given its predecessor's accuracy."""

    def __init__(self, path, budgets, steps, points):
        self.path, self.budgets, self.steps, self.points = Path(path), budgets, steps, points
        rows = pd.read_csv(self.path).to_dict("records") if self.path.exists() else []
        self.rows = [row for row in rows if isinstance(row.get("weights"), str)]
        self.known = {self._key(row): row["accuracy"] for row in self.rows}
        self.attackers = {}
        self.computed = 0

    def _key(self, row):
        return (str(row["unit_hash"]), str(row["checkpoint"]), int(row["variant"]),
                row["weights"], float(row["budget"]), int(row["steps"]), int(row["points"]))

    def _attacker(self, unit, shape, classes):
        meta = unit.meta
        key = (shape, classes, meta["activation"], meta["beta"],
               meta.get("fc1_activation", "none"))
        if key not in self.attackers:
            self.attackers[key] = PGD(build_cnn(shape, classes, meta["activation"],
                                                meta["beta"], fc1_activation=key[-1]))
        return self.attackers[key]

    def rows_for(self, key, unit, stored, test):
        """interventions.csv rows 'pgd_<budget>' of every checkpointed model of a unit,
        attacking the fixed subset of ``test`` (cached values reused)."""
        subset = attack_subset(len(test.y), self.points, unit.meta["seed"])
        x, y = test.x[subset], test.y[subset]
        out = []
        for i in range(len(stored.variants)):
            ids = variant_ids(unit, stored, i)
            weights = stored.variant_weights(i)
            records = [{"unit_hash": key["unit_hash"], "checkpoint": key["checkpoint"],
                        "variant": ids["variant"], "weights": fingerprint(weights),
                        "budget": budget, "steps": self.steps, "points": len(subset)}
                       for budget in self.budgets]
            missing = [record for record in records if self._key(record) not in self.known]
            if missing:
                attacker = self._attacker(unit, test.x.shape[1:], stored.logp["test"].shape[-1])
                attacker.model.set_weights(weights)
            for record in missing:
                accuracy = attacker.accuracy(x, y, record["budget"], self.steps)
                self.rows.append({**record, "dataset": key["dataset"], "regime": key["regime"],
                                  "strategy": key["strategy"], "accuracy": accuracy})
                self.known[self._key(record)] = accuracy
                self.computed += 1
            out += [{**key, **ids, "intervention": sheets.intervention_name("pgd", r["budget"]),
                     "value": self.known[self._key(r)]} for r in records]
        return out

    def save(self):
        if self.rows:
            write_csv(pd.DataFrame(self.rows), self.path)


def fingerprint(arrays):
    """A short hex digest of a list of arrays (their shapes, dtypes and bytes)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()[:16]


def parse_strategy(text):
    """--strategy 'lr=1e-3', 'batch=64' or a bare value: (regime or None, value); None for
    None."""
    if text is None:
        return None
    regime, _, value = text.rpartition("=")
    try:
        return (regime or None, float(value))
    except ValueError:
        raise UserError(f"--strategy '{text}' is not a strategy; e.g. lr=1e-3, batch=64 or "
                        "1e-3") from None


def matches(chosen, key):
    """Whether the unit ``key`` is the strategy ``chosen`` (a :func:`parse_strategy`
    result; None matches every unit)."""
    if chosen is None:
        return True
    regime, value = chosen
    return (regime in (None, key["regime"])) and bool(np.isclose(value, key["strategy"]))


def compute(results_dir, out, options, progress=None):
    """Read every unit once and write the CSVs and report.json of the module docs into
    ``out``. Returns the paths written."""
    paths = unit_paths(results_dir)
    out = Path(out)
    check_writable(out / "report.json")
    chosen = parse_strategy(options.strategy)
    images = Images(options.data_dir)
    attacks = Attacks(out / "pgd.csv", options.pgd_budgets, options.pgd_steps,
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
            fig2.append(spread_row(key, stored))
            short = (short_note(len(stored.variants), len(unit.seeds), "target", unit.meta)
                     if options.checkpoint == "target" else "")
            if short:
                notes.append(f"{key['regime']}={key['strategy']:g}: {short}")
            if len(stored.variants) < 2:
                continue
            fig2 += multiplicity_rows(key, probs, stored.acts, unit.meta["seed"], short)
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
    manifest_path = out / "report.json"
    write_atomic(manifest_path, lambda tmp: Path(tmp).write_text(json.dumps(manifest,
                                                                             indent=1)))
    return [*written, manifest_path]


def write_tables(out, options, fig2, hypothesis, models, pooled, notes):
    """Write every CSV of the module docs (``notes`` gets what could not be computed);
    returns their paths."""
    written = []

    def write(frame, name):
        written.append(out / name)
        write_csv(frame, out / name)

    write(models, "interventions.csv")
    if not fig2.empty:
        for dataset, frame in fig2.groupby("dataset"):
            write(frame, f"fig2-{dataset}.csv")
        write(relations.table1(fig2), "table1.csv")
    if not hypothesis.empty:
        for dataset, frame in hypothesis.groupby("dataset"):
            write(frame, f"hypothesis1-{dataset}.csv")
            asked = options.subset_size
            if frame["subset"].min() < asked:
                notes.append(f"Hypothesis 1: {dataset} has {frame['test_inputs'].min()} test "
                             f"inputs, so s is the {frame['subset'].min()} lowest-PM ones "
                             f"(half of them) instead of {asked}")
        write(hypothesis_summary(hypothesis), "hypothesis1.csv")
    for dataset, found in pooled.items():
        frame, images = confabulators(found)
        write(frame, f"confabulation-{dataset}.csv")
        if images is not None:
            npz = out / f"confabulation-{dataset}.npz"
            write_atomic(npz, lambda tmp, images=images: save_images(tmp, images))
            written.append(npz)
    summaries, selections = [], {}
    for dataset, frame in models.groupby("dataset"):
        for name, rows in frame.groupby("intervention", sort=False):
            wide = sheets.sheet(rows, {regime: strategy_order(
                regime, rows.loc[rows["regime"] == regime, "strategy"])
                for regime in regimes_in(rows)})
            if name in (options.resolve(m) for m in options.metrics):
                write(wide.round(9), f"sheet-{dataset}-{name}.csv")
            summaries.append(sheets.sheet_summary(wide).assign(dataset=dataset,
                                                               intervention=name))
        selections[dataset] = selection_frame(frame, [options.resolve(m)
                                                      for m in options.select],
                                              options.top_percents, notes)
    for name in dict.fromkeys(options.resolve(m) for m in (*options.metrics, *options.select)):
        if name not in set(models["intervention"]):
            notes.append(f"no intervention '{name}' in these results (known: "
                         f"{', '.join(dict.fromkeys(models['intervention']))})")
    if summaries:
        write(pd.concat(summaries, ignore_index=True)[
            ["dataset", "intervention", "regime", "delta_max_all", "max_delta_seeds",
             "max_delta_strategies"]], "sheets.csv")
    for dataset, frame in selections.items():
        if frame is not None:
            write(frame, f"selection-{dataset}.csv")
    return written


def hypothesis_summary(frame):
    """hypothesis1.csv: per (dataset, regime, layer) E_RM, E_PM, whether E_RM < E_PM, the
    Pearson r of RM(s) and of PM(s) with PM(S), and the subset sizes."""
    rows = []
    for dataset, part in frame.groupby("dataset"):
        for regime in regimes_in(part):
            group = part[part["regime"] == regime]
            for layer in RM_LAYERS:
                rm = group[f"rm_subset_{layer}"]
                e_rm, e_pm = relations.estimation_errors(rm, group["pm_subset"],
                                                         group["pm_full"])
                rows.append({"dataset": dataset, "regime": regime, "layer": layer,
                             "strategies": len(group), "e_rm": e_rm, "e_pm": e_pm,
                             "holds": bool(e_rm < e_pm) if np.isfinite(e_rm + e_pm) else None,
                             "r_rm_subset_pm_full": relations.pearson(rm, group["pm_full"]),
                             "r_pm_subset_pm_full": relations.pearson(group["pm_subset"],
                                                                      group["pm_full"]),
                             "subset": int(group["subset"].min()),
                             "subset_per": group["subset_per"].iloc[0],
                             "rm_inputs_min": int(group["rm_inputs"].min()),
                             "rm_inputs_max": int(group["rm_inputs"].max())})
    return pd.DataFrame(rows)


def save_images(path, images):
    with open(path, "wb") as stream:
        np.savez_compressed(stream, images=images)


def confabulators(found):
    """The confabulation table of one data set from [(probs [k, N, C], labels [N], test set
    or None)] of its units: the CONFABULATORS inputs of highest label entropy over all
    their models, and their images float32 [16, H, W, C] (None when unavailable)."""
    probs = np.concatenate([p for p, _, _ in found])
    index, counts, entropy, pm = most_confabulated(probs, CONFABULATORS)
    labels, test = found[0][1], found[0][2]
    frame = pd.DataFrame({
        "rank": np.arange(1, len(index) + 1), "input": index,
        "label": labels[index], "entropy": entropy, "pm": pm,
        "majority": np.argmax(counts, axis=1), "models": len(probs),
        "counts": [" ".join(f"{c}:{n}" for c, n in sorted(enumerate(row), key=lambda t: -t[1])
                            if n) for row in counts]})
    return frame, None if test is None else test.x[index]


def selection_frame(models, selected, percents, notes):
    """selection-<dataset>.csv of one data set's interventions.csv rows (see
    ``sheets.selection``), per regime; None (with a note) without a selection metric."""
    frames = []
    for regime in regimes_in(models):
        rows = models[models["regime"] == regime]
        values = rows.pivot_table(index=["strategy", "variant"], columns="intervention",
                                  values="value", aggfunc="first")
        values = values[[c for c in dict.fromkeys(rows["intervention"]) if c in values]]
        present = [m for m in selected if m in values.columns]
        if not present:
            notes.append(f"model selection skipped for {regime}: none of "
                         f"{', '.join(selected)} was computed")
            continue
        frames.append(sheets.selection(values, present, percents).assign(
            dataset=rows["dataset"].iloc[0], regime=regime, selected_on=" ".join(present)))
    return pd.concat(frames, ignore_index=True) if frames else None
