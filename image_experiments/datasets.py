"""Load an image data set by name, offline: ``load_dataset("cifar9")`` (the data sets, their
files and layouts: ``image_experiments.registry``; where they are looked for:
``image_experiments.locations``)."""
import dataclasses

from image_experiments.formats import CORRUPT
from image_experiments.locations import corrupt_error, locate, search_roots
from image_experiments.readers import downsample
from image_experiments.registry import spec_of
from image_experiments.user_data import is_user_dataset, load_user_dataset


def load_dataset(name, data_dir=None, image_size=None):
    """Load the data set ``name`` (see :data:`DATASETS`) from the first search root that
    holds it; ``image_size`` area-averages the images to [image_size, image_size] (a
    divisor of their size, e.g. 32 for STL's 96). Never downloads."""
    if is_user_dataset(name):
        data = load_user_dataset(name)
        if image_size is not None and image_size != data.x_train.shape[1]:
            data = dataclasses.replace(data, x_train=downsample(data.x_train, image_size),
                                       x_test=downsample(data.x_test, image_size))
        return data
    spec = spec_of(name)
    files = locate(spec, search_roots(data_dir))
    try:
        data = spec.read(files)
    except CORRUPT as error:
        raise corrupt_error(spec, files.where, error) from error
    if image_size is not None and image_size != data.x_train.shape[1]:
        data = dataclasses.replace(data, x_train=downsample(data.x_train, image_size),
                                   x_test=downsample(data.x_test, image_size))
    return data


