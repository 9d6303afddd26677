"""The failures a stage reports in one line (``latentrepro.cli``), beside ``ParamsError``
(``latentrepro.config``) and ``StorageError`` (``latentrepro.io``).

They live on the bottom floor so that the CLI catches them without importing the modules that
raise them: each command then depends on (and its rule reruns with) only the code it runs
(:mod:`latentrepro.codegraph`).
"""


class DataError(Exception):
    """A dataset could not be fetched or verified (raised by :mod:`latentrepro.data.download`)."""


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; raised instead of training on it
    (:func:`latentrepro.train.fit`)."""
