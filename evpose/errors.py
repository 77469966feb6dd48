"""The base of evpose's errors about input: a file, a folder or a setting that is wrong.

Errors derived from :class:`EvposeInputError` say what is wrong with what the user gave
(and name the file, field and value), not that evpose has a bug: the command-line entry
points print them as one line, without a traceback. Each layer defines its own errors
(:class:`evpose.io.EventFormatError`, :class:`evpose.io.DatasetError`,
:class:`evpose.modules.CheckpointError`, ...) on this base; this module imports nothing.
"""

from __future__ import annotations


class EvposeInputError(Exception):
    """Bad input, described by the message (file, field, value); not a bug."""


class ConfigError(EvposeInputError, ValueError):
    """A setting whose value evpose cannot use (the message names the setting and the valid values)."""
