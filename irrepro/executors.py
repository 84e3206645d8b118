"""Where a sweep's units of work run: here, one after another (the default), or on a Dask
distributed cluster, an existing one (``scheduler='tcp://HOST:PORT'``) or a local one
started for the sweep (``workers=N``).

Units are idempotent (a unit whose shard exists is skipped) and write their shard
atomically, so a worker that dies mid-unit leaves nothing behind: Dask retries the unit on
another worker, and if the whole sweep fails, running it again completes it.
"""
import contextlib

from irrepro.errors import UserError
from irrepro.progress import progress_bar

CONNECT_TIMEOUT_S = 3


class DaskExecutor:
    """Runs ``fn`` over items on a Dask cluster; use as a context manager."""

    def __init__(self, scheduler=None, workers=None):
        self.scheduler, self.workers = scheduler, workers
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise UserError("Dask distributed is not installed; pip install "
                            "'dask[distributed]' or drop --scheduler/--workers") from None
        if self.scheduler:
            try:
                self.client = self._stack.enter_context(
                    Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S}s"))
            except (OSError, TimeoutError, ValueError) as error:
                raise UserError(f"cannot reach the Dask scheduler at {self.scheduler} "
                                f"({type(error).__name__}); start one with `dask scheduler` "
                                "or drop --scheduler to run locally") from None
        else:
            cluster = self._stack.enter_context(LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True,
                # Dask's HTTP server starts even without a dashboard; a free port keeps it
                # off a running cluster's 8787.
                dashboard_address=":0"))
            self.client = self._stack.enter_context(Client(cluster))
        return self

    def __exit__(self, *exc):
        self._stack.close()

    def map(self, fn, items, progress=None):
        """``fn`` of every item, in the items' order, as units finish in any order."""
        from distributed import as_completed

        futures = self.client.map(fn, items, pure=False)
        with progress_bar(len(futures), "units", enabled=progress, desc="sweep") as bar:
            for future in as_completed(futures):
                future.result()  # re-raises a unit's error here
                bar.update(1)
        return [f.result() for f in futures]


def make_executor(scheduler=None, workers=None):
    """A DaskExecutor when a scheduler or a worker count is given, else None (run here)."""
    if scheduler or workers:
        return DaskExecutor(scheduler, workers)
    return None
