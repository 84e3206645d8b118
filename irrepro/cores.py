"""The CPU cores this process may use, for sizing its threads and naming its device."""
import os


def usable_cores():
    """The CPU cores this process may use, where the OS says (its affinity: ``taskset`` or a
    cluster's CPU set), else all of the machine's."""
    return (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count() or 1)
