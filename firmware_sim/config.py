"""How a simulator run is set up: one dataclass, whose fields are also `sottovoce sim`'s options.

Kept apart from the simulator so the command line can be built without importing bumble.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sottovoce.proto.gatt import DEVICE_NAME_PREFIX
from sottovoce.tools.options import option

SIM_NAME = f"{DEVICE_NAME_PREFIX}-Sim"
DEFAULT_ADDRESS = "F0:F1:F2:F3:F4:F5"  # static random: top two bits set, as the spec requires


@dataclass
class SimConfig:
    scenario: str = option("demo", "scenario file (.toml) or packaged name")
    out: Path | None = option(
        None, "directory for mic.wav, ear.wav, sim_events.json, walk.json", type=Path, metavar="DIR"
    )
    address: str = option(DEFAULT_ADDRESS, "static random Bluetooth address")
    name: str = option(SIM_NAME, f"advertised name (starts with {DEVICE_NAME_PREFIX!r})")
    seed: int = option(0, "seed for link loss/jitter and noise")
    gpsd: str | None = option(None, "serve the scenario's walk as gpsd does, on HOST:PORT (port 0: any free one)",
                              metavar="HOST:PORT")  # fmt: skip
