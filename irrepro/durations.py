"""Durations for people: how long work is estimated to take, said before it starts."""

#: Work estimated to take longer than this says so before it starts.
ANNOUNCE_SECONDS = 60.0


def format_seconds(seconds):
    """'45 s', '12 min', '3.5 h', '20 days' or '3e+07 years'."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 365 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / (365 * 86400):.3g} years"
