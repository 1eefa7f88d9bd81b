"""Errors that the command line prints as one line (tracebacks are for bugs)."""


class TfganError(Exception):
    """A problem the user can fix: the message names it and says how."""


class DataError(TfganError):
    """A dataset that is missing, empty or not usable as images."""
