"""evpose.viz never touches pyplot: figures render without any GUI backend."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import io, sys
import numpy as np
from evpose import viz
from evpose.types import make_events
ev = make_events(np.arange(5), [1, 2, 3, 4, 5], [1, 1, 2, 2, 3], [1, 0, 1, 0, 1], part=[0, 1, -1, 2, 3])
for fig in (viz.plot_event_frame(ev, (8, 8), color_by="part"), viz.plot_events_xyt(ev)):
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\\x89PNG"
assert "matplotlib.pyplot" not in sys.modules, "pyplot was imported"
print("ok")
"""


def test_figures_render_without_pyplot_or_a_display():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["MPLBACKEND"] = "module://no_such_backend"  # pyplot would fail to load it
    root = Path(__file__).resolve().parents[2]
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "ok"
