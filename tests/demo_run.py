"""Running ``sottovoce demo`` as a user does, for the end-to-end tests that read what it wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-m", "sottovoce.tools.cli"]
SCENARIOS = Path(__file__).parent / "scenarios"


def run_demo(out: Path, *options: str) -> tuple[Path, dict, subprocess.CompletedProcess]:
    """The demo with ``options``, its output in ``out``: (out, the summary it wrote, the process).
    Fails the test at once if no summary was written (the demo broke before its verdict)."""
    proc = subprocess.run([*CLI, "demo", "--out", str(out), *options], capture_output=True, text=True, timeout=400)
    summary_path = out / "summary.json"
    assert summary_path.exists(), f"demo wrote no summary (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return out, json.loads(summary_path.read_text()), proc
