"""Every random stream of irrepro, keyed on ``(seed, role, *keys)``.

Streams are independent of one another and of the settings that do not concern them because
each is drawn from ``numpy.random.SeedSequence([seed, role, *keys])``, and the roles of both
domains are registered here, once: two uses can never share a role by accident. The numbers
are part of every stored result (changing one changes the draws), so they never change.
"""
import enum

import numpy as np


class Role(enum.IntEnum):
    """The role of a random stream; the values are fixed (see the module docstring)."""

    # simulator (Snapp & Shamir)
    DATA_MODEL = 0      # the true parameters theta / Theta
    EVAL = 1            # the evaluation set
    STREAM = 2          # each pair's example stream
    SHUFFLE = 3         # each model's order inside a window
    INIT = 4            # each model's initial weights
    WARM = 5            # the warm-start model's stream and initial weights
    # image experiments (Heljakka; Ganesh)
    OOD = 100           # the transformations of each OOD set
    IMAGE_INIT = 101    # a variant's initial weights
    IMAGE_ORDER = 102   # a variant's mini-batch order
    TRAIN_SUBSET = 103  # the random training subset
    TEST_SUBSET = 104   # the random test subset (and OOD sets cut to it)
    RM_POINTS = 105     # the test inputs whose activations are stored
    NOISE = 106         # the exponential output noise of the privacy intervention
    ATTACK = 107        # the test inputs attacked by PGD
    BOOTSTRAP = 108     # the bootstrap draws of models (image_experiments.bootstrap)
    # Ganesh's study (image_experiments.axes, skewed, standin, augment, interventions)
    INPUT_NOISE = 120   # the exponential pixel noise of the unforeseen privacy intervention
    GREY_TRAIN = 121    # which training images of each class are grey in CIFAR10-Skewed
    GREY_TEST = 122     # the same for its test set
    STUDY_TRAIN_SUBSET = 123
    STUDY_TEST_SUBSET = 124
    STANDIN = 125       # the synthetic CIFAR-format stand-in data
    TRIVIAL_AUGMENT = 126
    STUDY_INIT = 127    # a study model's initial weights
    STUDY_ORDER = 128   # its mini-batch order
    STUDY_AUGMENT = 129  # its augmentation seed


def rng_for(seed, role, *keys):
    """A numpy Generator for the random stream ``(seed, role, *keys)``; ``role`` a :class:`Role`."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int(role), *keys])))
