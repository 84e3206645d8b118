"""interventions.csv: every stored model's accuracy under every intervention (Ganesh, 2023),
one row per (unit, checkpoint, variant, intervention). The formulas live in
``image_experiments.sheets`` and ``image_experiments.attacks``; this module applies them to
stored units, and caches the PGD accuracies, the one intervention that runs the models.
"""
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from image_experiments import interventions, sheets
from image_experiments import multiplicity as mm
from image_experiments.attacks import attack_subset
from irrepro.tables import write_csv

KEY_COLUMNS = ["dataset", "regime", "strategy", "lr", "batch", "checkpoint", "unit_hash"]
MODEL_COLUMNS = [*KEY_COLUMNS, "variant", "init_seed", "order_seed", "intervention", "value"]


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
        from image_experiments.architecture import Architecture

        architecture = Architecture.from_meta(unit.meta)
        key = (shape, classes, architecture)
        if key not in self.attackers:
            from image_experiments.attacks import PGD  # runs the models: TensorFlow

            self.attackers[key] = PGD(architecture.build(shape, classes))
        return self.attackers[key]

    def rows_for(self, key, unit, stored, test):
        """interventions.csv rows 'pgd_<budget>' of every checkpointed model of a unit,
        attacking the fixed subset of ``test`` (cached values reused), and
        'input_noise_<lambda>' on the same inputs (``interventions.input_noise``: one forward
        pass, not cached)."""
        from image_experiments.report_options import INPUT_NOISE_RATE

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
            attacker = self._attacker(unit, test.x.shape[1:], stored.logp["test"].shape[-1])
            attacker.model.set_weights(weights)
            noisy = interventions.input_noise(x, INPUT_NOISE_RATE, unit.meta["seed"])
            out.append({**key, **ids,
                        "intervention": sheets.intervention_name("input_noise",
                                                                 INPUT_NOISE_RATE),
                        "value": float((attacker.predict(noisy) == y).mean())})
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
