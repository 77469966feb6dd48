"""Dataset folders (``manifest.json``): defined in :mod:`evpose.io.manifest`, where the
DHP19 converter also writes them; re-exported here, where the datasets read them."""

from ..io.manifest import (  # noqa: F401
    DATASET_FORMAT,
    HOW_TO_MAKE,
    MANIFEST_NAME,
    SPLITS,
    DatasetError,
    NoDatasetError,
    load_manifest,
    resolve_entry,
    split_recordings,
    write_manifest,
)
