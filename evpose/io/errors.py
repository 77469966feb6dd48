"""The one error type of evpose's file readers and writers."""

from __future__ import annotations

from ..errors import EvposeInputError


class EventFormatError(EvposeInputError, ValueError):
    """A file, or data meant for one, breaks the evpose event format.

    Args:
        path: the file concerned.
        field: the group, dataset or attribute at fault (e.g. ``cameras/cam2/events/t``).
        detail: what is wrong, with the offending value and index.

    A single argument is taken as the whole message (how DataLoader workers re-raise an
    error in the main process).
    """

    def __init__(self, path, field: str | None = None, detail: str | None = None):
        self.path = str(path)
        self.field = field
        self.detail = detail
        super().__init__(self.path if field is None and detail is None else f"{self.path}: {field}: {detail}")
