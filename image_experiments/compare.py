"""``imgctl compare``: two layers' activations from files, compared by SVCCA or linear CKA."""
import warnings

from image_experiments.similarity import SimilarityWarning, linear_cka, load_activations, svcca


def compare_files(first, second, metric="svcca", variance=0.99, top=20, transpose=False):
    """(record, text) comparing the activations in the .npy files ``first`` and ``second``
    ([data points, neurons] each, or transposed): a JSON-able dict and a summary."""
    a, b = (load_activations(path, transpose) for path in (first, second))
    if metric == "cka":
        value = linear_cka(a, b, names=(first, second))
        record = {"metric": "cka", "value": value, "data_points": a.shape[0],
                  "neurons": [a.shape[1], b.shape[1]], "names": [first, second]}
        text = (f"linear CKA {value:.4f}\n  {a.shape[0]} data points; {first}: "
                f"{a.shape[1]} neurons, {second}: {b.shape[1]} neurons")
        return record, text
    with warnings.catch_warnings():  # the summary lists them; no second copy on stderr
        warnings.simplefilter("ignore", SimilarityWarning)
        result = svcca(a, b, variance, top, names=(first, second))
    return result.to_dict(), result.summary()
