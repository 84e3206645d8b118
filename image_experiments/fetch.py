"""``imgctl data fetch``: the one way files are downloaded, through pooch.

Each file is streamed by pooch to a temporary file beside its target, its sha256 checked
against the published one where there is one, then renamed into place; a file already there
with the right checksum is kept. Loading (``image_experiments.datasets``) never checks the
published checksums, so a good local copy from anywhere else loads as it is.
"""
import hashlib
import logging
import shutil
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pooch

from image_experiments.locations import keras_cache
from image_experiments.registry import spec_of
from irrepro.errors import UserError

CHUNK = 1 << 20  # hashing block, bytes


@dataclass(frozen=True)
class Fetched:
    """One file handled by :func:`fetch`: its path, computed sha256, the expected one
    (None where unknown) and whether it was downloaded now (False: already there)."""

    path: Path
    sha256: str
    expected: str | None
    downloaded: bool


def fetch(name, data_dir=None, progress=None):
    """Download the files of data set ``name`` into ``data_dir`` (default: the Keras cache).
    ``progress``: show progress bars (None: when stderr is a terminal). Returns a
    :class:`Fetched` per file."""
    root = Path(data_dir).expanduser() if data_dir else keras_cache()
    fetched = []
    for download in spec_of(name).downloads:
        target = root / download.target
        present = sha256_of(target) if target.is_file() else None
        if present and download.sha256 in (None, present):
            fetched.append(Fetched(target, present, download.sha256, False))
            continue
        _retrieve(download, target, sys.stderr.isatty() if progress is None else progress)
        fetched.append(Fetched(target, sha256_of(target), download.sha256, True))
    return fetched


def sha256_of(path):
    """The sha256 hex digest of the file ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _copy_local(url, output_file, _pooch):
    """A pooch downloader for file:// URLs (a mirror on a shared file system)."""
    source = urllib.request.url2pathname(urllib.parse.urlparse(url).path)
    with open(source, "rb") as src, open(output_file, "wb") as out:
        shutil.copyfileobj(src, out, CHUNK)


def _retrieve(download, target, progress):
    """Download ``download`` to ``target`` through pooch (checksum, temporary file, rename)."""
    import requests

    logging.getLogger("pooch").setLevel(logging.WARNING)  # it logs every download's hash
    downloader = (_copy_local if download.url.startswith("file:")
                  else pooch.choose_downloader(download.url, progressbar=progress))
    target.unlink(missing_ok=True)  # a stale copy with the wrong checksum
    try:
        pooch.retrieve(download.url, download.sha256, fname=target.name, path=target.parent,
                       downloader=downloader)
    except ValueError as error:
        if "hash" not in str(error).lower():
            raise
        raise UserError(f"{download.url}: its sha256 differs from the published "
                        f"{download.sha256}; the download was damaged or the file has "
                        "changed; nothing was written, try again") from None
    except (OSError, requests.exceptions.RequestException) as error:
        raise UserError(f"could not download {download.url} to {target} "
                        f"({' '.join(str(error).split())}); check the network, or download "
                        f"it by other means and put it at {target}") from None
