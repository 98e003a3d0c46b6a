"""Errors a user can cause. The CLI prints their message on one line and exits with code 2."""


class UserError(Exception):
    """Base of every error caused by input: the message names the thing and the fix."""


class ConfigError(UserError):
    """An unknown key, a wrong type or an out-of-range value in a config, preset or flag."""


class CorpusError(UserError):
    """A missing path, an empty corpus, a binary or wrongly encoded file."""


class CheckpointError(UserError):
    """A missing, truncated, tampered or foreign run directory."""


class TrainingDiverged(UserError):
    """The loss (or the weights) became NaN or infinite; the last good checkpoint is kept."""


class WriteError(UserError):
    """A file that could not be written (disk full, no permission); what was there is kept."""


class SamplingError(UserError):
    """Bad sampling options or a prime the vocabulary cannot encode."""


class CapabilityError(SamplingError):
    """A codec asked for something it does not declare (a format, a book, a constraint): the
    message says "the X codec cannot ..." and what it can do instead."""


class PluginError(UserError):
    """A codec from another package (an entry-point plugin) that failed to load, raised, or
    gave ids or a vocabulary that do not add up; the message names the plugin and its package."""
