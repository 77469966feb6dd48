"""Command-line entry points (thin Hydra wrappers)."""
