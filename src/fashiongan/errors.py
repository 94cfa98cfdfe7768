"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class FashionGANError(Exception):
    """Something the user can fix (a path, a value, a file); not a bug."""


class DataError(FashionGANError):
    """The dataset is missing, truncated, corrupt or not what it claims to be."""


class CheckpointError(FashionGANError):
    """A checkpoint directory cannot be read or does not fit the model asked for."""
