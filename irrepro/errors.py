"""The one exception type for mistakes a user can fix (bad flags, missing files)."""


class UserError(Exception):
    """A problem with the user's input; the CLI prints its message on one line and exits 2.

    The message names the problem and the fix, e.g.
    ``UserError("--window must be a positive integer or 2^k (got '2^x'); try --window 2^10")``.
    """
