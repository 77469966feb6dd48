"""Per-joint (and per-part) tables of metrics as Markdown."""

from __future__ import annotations

from typing import Mapping, Sequence

import torch


def markdown_table(rows: Sequence[str], columns: Mapping[str, Sequence[float]], row_header: str = "joint",
                   fmt: str = "{:.2f}", mean_row: bool = True) -> str:
    """A Markdown table with one row per name and one column per metric (NaN shown as '-').

    Args:
        rows: row names (e.g. joint names).
        columns: ``{column title: values per row}``.
        mean_row: append a row with the mean of each column over its finite values.
    """
    titles = list(columns)
    lines = ["| " + " | ".join([row_header] + titles) + " |", "|" + " --- |" * (len(titles) + 1)]

    def cell(v):
        v = float(v)
        return "-" if v != v else fmt.format(v)

    for i, name in enumerate(rows):
        lines.append("| " + " | ".join([name] + [cell(columns[c][i]) for c in titles]) + " |")
    if mean_row:
        means = []
        for c in titles:
            v = torch.as_tensor([float(x) for x in columns[c]], dtype=torch.float64)
            v = v[~v.isnan()]
            means.append(cell(v.mean()) if v.numel() else "-")
        lines.append("| " + " | ".join(["**mean**"] + means) + " |")
    return "\n".join(lines)
