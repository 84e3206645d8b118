"""How much memory this machine has free, for refusing work that cannot fit."""
import psutil


def available_memory():
    """Bytes of memory available to a new allocation without swapping."""
    return psutil.virtual_memory().available
