"""The evaluation images behind stored units, rebuilt from the data files for the analyses
that need pixels (the confabulation figure, the PGD attacks)."""
import numpy as np

from irrepro.errors import UserError


class Images:
    """The evaluation images of each data set, rebuilt by ``prepare.prepare`` from a unit's
    meta (None, with a note, when the data files are missing or do not match the stored
    labels)."""

    def __init__(self, data_dir):
        self.data_dir, self.found, self.notes = data_dir, {}, []

    def test_set(self, unit):
        """The unit's test set (an OODSet with x float32 [N, H, W, C], y), or None."""
        from image_experiments.prepare import prepare

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
