"""Where an image data set's files lie: the search roots, the layouts the files come in (a
folder, or the tar archive as downloaded, read without extracting), and the one-line
messages for a data set that is missing or damaged."""
import os
from dataclasses import dataclass
from pathlib import Path

from image_experiments.formats import CORRUPT, read_tar_members
from irrepro.errors import UserError

ENV_VAR = "IRREPRO_DATA"


class DatasetMissing(UserError):
    """None of the layouts of a data set's files is present under any search root."""


class DatasetCorrupt(UserError):
    """A data set's file is present but unreadable; ``where`` names the file or place."""

    def __init__(self, message, where):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Folder:
    """Files lying in the folder ``path`` of a search root ('' = the root itself)."""

    path: str

    def location(self, root):
        return Path(root, self.path)

    def missing(self, root, names):
        return [name for name in names if not (self.location(root) / name).is_file()]

    def read(self, root, names):
        return {name: (self.location(root) / name).read_bytes() for name in names}

    def member(self, root, name):
        return str(self.location(root) / name)

    def hint(self):
        return f"{self.path}/" if self.path else "a searched folder itself"


@dataclass(frozen=True)
class Archive:
    """Files inside the tar archive ``path`` of a search root, in its folder ``inner``."""

    path: str
    inner: str

    def location(self, root):
        return Path(root, self.path)

    def missing(self, root, names):
        return [] if self.location(root).is_file() else list(names)

    def read(self, root, names):
        members = read_tar_members(self.location(root), [f"{self.inner}/{n}" for n in names])
        return {name: members[f"{self.inner}/{name}"] for name in names}

    def member(self, root, name):
        return f"{self.location(root)}:{self.inner}/{name}"

    def hint(self):
        return f"the tar archive {self.path}"


class FileSet:
    """The files of one data set at one place (or none, when bundled). Parses them,
    turning a damaged file into a one-line error that names it."""

    def __init__(self, spec, place=None, root=None):
        self.spec, self.place, self.root = spec, place, root
        self.where = str(place.location(root)) if place else "bundled (no file)"
        self._contents = None

    def parse(self, name, reader):
        """``reader(data)`` on the bytes of the file ``name``; a damaged file raises
        :class:`DatasetCorrupt` naming it."""
        contents = self._read_all()
        try:
            return reader(contents[name])
        except CORRUPT as error:
            raise corrupt_error(self.spec, self.place.member(self.root, name), error) from error

    def _read_all(self):
        # One read for all files: an archive is then decompressed once.
        if self._contents is None:
            try:
                self._contents = self.place.read(self.root, self.spec.files)
            except CORRUPT as error:
                raise corrupt_error(self.spec, self.where, error) from error
        return self._contents


def keras_cache():
    """Keras' download folder: ``$KERAS_HOME/datasets``, else ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME")
    return (Path(home).expanduser() if home else Path.home() / ".keras") / "datasets"


def search_roots(data_dir=None):
    """The folders searched, in order: ``data_dir``, those of ``$IRREPRO_DATA``
    (``os.pathsep``-separated), the Keras cache; duplicates dropped."""
    env = [part for part in os.environ.get(ENV_VAR, "").split(os.pathsep) if part]
    roots = ([data_dir] if data_dir else []) + env + [keras_cache()]
    return list(dict.fromkeys(Path(root).expanduser() for root in roots))


def locate(spec, roots):
    """The :class:`FileSet` of the first place, root by root, that holds all of the data
    set's files; :class:`DatasetMissing` when none does."""
    if not spec.files:
        return FileSet(spec)
    tried = []
    for root in roots:
        for place in spec.places:
            missing = place.missing(root, spec.files)
            if not missing:
                return FileSet(spec, place, root)
            partial_note = (f" (lacks {', '.join(missing)})"
                            if len(missing) < len(spec.files) else "")
            tried.append(f"{place.location(root)}{partial_note}")
    raise missing_error(spec, tried)


def missing_error(spec, tried):
    layouts = ", ".join(place.hint() for place in spec.places)
    urls = ", ".join(download.url for download in spec.downloads)
    return DatasetMissing(
        f"{spec.name}: {spec.title} not found; tried {', '.join(tried)}; expected "
        f"{', '.join(spec.files)} in one of: {layouts}; run `imgctl data fetch {spec.name}` "
        f"(downloads {urls} into {keras_cache()} or --data-dir DIR), or put the files in "
        f"--data-dir DIR, ${ENV_VAR} or {keras_cache()}")


def corrupt_error(spec, where, error):
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    return DatasetCorrupt(
        f"{spec.name}: {where} is damaged or not {spec.title} ({reason}); delete it and run "
        f"`imgctl data fetch {spec.name}`, or replace it with a good copy", where)


