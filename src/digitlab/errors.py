"""The project's error types: one base class, one subclass per kind of bad input."""


class DigitlabError(Exception):
    """Base class of every error digitlab raises on purpose."""


class DatasetError(DigitlabError):
    """A dataset file is missing, unreadable, corrupt or not what it claims to be."""


class ImageError(DigitlabError):
    """An image cannot be read or holds nothing usable."""


class ModelError(DigitlabError):
    """A model file is missing, corrupt or not a digitlab model."""


class LabelError(DigitlabError):
    """Labelled images cannot be used: none found, or a label that is not a digit 0-9."""


class NotebookError(DigitlabError):
    """A notebook did not run to the end: a cell raised or timed out, or the kernel died."""
