"""Ganesh's (2023) interventions that turn trustworthiness metrics into accuracies, as he
defines them (sections 3.2-3.5 and 4):

  output noise   (privacy)  accuracy when every class probability gets exponential noise
                 of "rate parameter" lambda before the argmax. His Fig. 6: "the higher the
                 rate parameter, the larger the output perturbations", so lambda scales the
                 noise: noise = lambda * E with E ~ Exp(1), i.e. an exponential of mean
                 lambda (numpy's ``exponential(scale=lambda)``). Under the textbook reading
                 (mean 1/lambda) a larger lambda would perturb less, against his words.
  input noise    (unforeseen privacy) accuracy on the test images with lambda * Exp(1)
                 noise added to every pixel (pixels in [0, 1]), clipped to [0, 1]; his
                 lambda = 1 is mean-1 noise under either reading.
  group          (fairness) accuracy on any named boolean mask over the test set.
  ood            (robustness) accuracy on a named shifted set: no further intervention.
  pgd            (security) L-infinity PGD, image_experiments.attacks.

Draws come from fixed streams of the experiment seed, shared by every model, so that the
models' differences are not noise: output noise from ``Role.NOISE``,
input noise from role 120.
"""
import numpy as np

from image_experiments import multiplicity as mm
from image_experiments.sheets import standard_noise
from irrepro.errors import UserError
from irrepro.streams import Role, rng_for


def output_noise(shape, scale, seed):
    """The output perturbation of rate parameter ``scale`` (lambda) for predictions of
    ``shape`` (N, C): lambda * Exp(1) draws of experiment ``seed``, float64 [N, C]."""
    if not scale > 0:
        raise UserError(f"the noise rate lambda must be > 0 (got {scale})")
    return scale * standard_noise(shape, seed)


def output_noise_accuracy(probs, labels, scale, seed):
    """Accuracy of each model, float [K], when probs [K, N, C] all get the same
    :func:`output_noise` before the argmax."""
    probs = np.asarray(probs, np.float64)
    return mm.accuracy(probs + output_noise(probs.shape[1:], scale, seed)[None], labels)


def input_noise(x, scale, seed):
    """Images x float [N, H, W, C] in [0, 1] with lambda * Exp(1) noise added to every pixel
    (lambda = ``scale``), clipped to [0, 1]: float32, the same draw for every model."""
    if not scale > 0:
        raise UserError(f"the input-noise rate lambda must be > 0 (got {scale})")
    x = np.asarray(x, np.float32)
    noise = scale * rng_for(seed, Role.INPUT_NOISE).standard_exponential(x.shape)
    return np.clip(x + noise.astype(np.float32), 0.0, 1.0)


def group_accuracy(probs, labels, mask):
    """Accuracy of each model, float [K], on the test inputs where the boolean ``mask``
    [N] holds (NaN for an empty group)."""
    mask = np.asarray(mask, bool)
    labels = np.asarray(labels)
    if mask.shape != labels.shape:
        raise UserError(f"a group mask of shape {mask.shape} does not fit {labels.shape} "
                        "test labels")
    if not mask.any():
        return np.full(len(probs), np.nan)
    correct = np.argmax(np.asarray(probs)[:, mask], axis=-1) == labels[mask][None]
    return correct.mean(axis=1)
