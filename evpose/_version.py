"""evpose's version (read by the file writers and the manifests; imports nothing)."""

__version__ = "0.1.0"
