"""Tiny files in each image data set's real format, for the loader and check tests."""
import gzip
import io
import pickle
import struct
import tarfile

import numpy as np
import scipy.io

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]



STL10_NAMES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship",
               "truck"]



def pixels(n, height, width, channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, height, width, channels), np.uint8)



def write_mnist(folder, n_train=6, n_test=4):
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "mnist.npz", x_train=pixels(n_train, 28, 28, 1)[..., 0],
             y_train=np.arange(n_train, dtype=np.uint8) % 10,
             x_test=pixels(n_test, 28, 28, 1, 1)[..., 0],
             y_test=np.arange(n_test, dtype=np.uint8) % 10)
    return folder



def idx_gz(array):
    """An IDX file (ubyte) written by hand: zero, zero, type 0x08, ndim, sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())



def write_fashion(folder, n_train=5, n_test=3):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"train-images-idx3-ubyte.gz": pixels(n_train, 28, 28, 1)[..., 0],
              "train-labels-idx1-ubyte.gz": np.arange(n_train) % 10,
              "t10k-images-idx3-ubyte.gz": pixels(n_test, 28, 28, 1, 1)[..., 0],
              "t10k-labels-idx1-ubyte.gz": np.arange(n_test) % 10}
    for name, array in arrays.items():
        (folder / name).write_bytes(idx_gz(array))
    return arrays



def cifar_images(labels):
    """[n, 32, 32, 3] images whose red plane holds the label and whose rows count up."""
    images = np.zeros((len(labels), 32, 32, 3), np.uint8)
    images[..., 0] = np.asarray(labels)[:, None, None]
    images[..., 1] = np.arange(32)[None, :, None]  # row index: orientation check
    images[..., 2] = 7
    return images



def cifar_batch(labels):
    """A CIFAR-10 python batch: rows of the R, G and B planes, each row-major."""
    images = cifar_images(labels)
    rows = np.stack([images[..., c].reshape(len(labels), -1) for c in range(3)], 1)
    return pickle.dumps({b"batch_label": b"testing batch", b"labels": list(labels),
                         b"data": rows.reshape(len(labels), 3072),
                         b"filenames": [b"x.png"] * len(labels)}, protocol=2)



def cifar_files():
    files = {f"data_batch_{i}": cifar_batch([(i + k) % 10 for k in range(10)])
             for i in range(1, 6)}
    files["test_batch"] = cifar_batch(list(range(10)))
    files["batches.meta"] = pickle.dumps(
        {b"label_names": [name.encode() for name in CIFAR10_NAMES], b"num_vis": 3072,
         b"num_cases_per_batch": 10}, protocol=2)
    return files



def write_cifar(root, archive=False):
    files = cifar_files()
    if archive:
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    else:
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)



def write_svhn(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name, labels in (("train_32x32.mat", [10, 1, 2, 3, 10]), ("test_32x32.mat", [5, 10])):
        images = pixels(len(labels), 32, 32, 3, len(labels))
        scipy.io.savemat(folder / name, {"X": images.transpose(1, 2, 3, 0),
                                         "y": np.array(labels, np.uint8)[:, None]})



def stl_image(label):
    """A 96x96x3 image, asymmetric: a bright top-left block, columns counting up in green,
    the 1-based label in blue."""
    image = np.zeros((96, 96, 3), np.uint8)
    image[:10, :30, 0] = 255
    image[..., 1] = np.arange(96)[None, :]
    image[..., 2] = label
    return image



def stl_bytes(images):
    """STL-10's binary layout: per image, per channel, column-major (MATLAB order)."""
    return b"".join(image[:, :, c].flatten(order="F").tobytes()
                    for image in images for c in range(3))



def write_stl(root, train_labels=tuple(range(1, 11)), test_labels=(8, 4, 1)):
    folder = root / "stl10_binary"
    folder.mkdir(parents=True, exist_ok=True)
    for split, labels in (("train", train_labels), ("test", test_labels)):
        (folder / f"{split}_X.bin").write_bytes(stl_bytes([stl_image(lab) for lab in labels]))
        (folder / f"{split}_y.bin").write_bytes(bytes(labels))
    (folder / "class_names.txt").write_text("\n".join(STL10_NAMES) + "\n")
    return folder



def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2 + 1])



def damage_idx_header(path):
    path.write_bytes(gzip.compress(b"\x08\x03\0\0" + gzip.decompress(path.read_bytes())[4:]))



def damage_idx_size(path):
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-1]))



def evil_pickle(path):
    path.write_bytes(pickle.dumps({b"data": print}, protocol=2))

