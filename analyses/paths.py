"""The one place where the analysis scripts learn the repository layout.

The library (``irmodels``) never knows these paths; scripts pass them in.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_RAW = ROOT / "data" / "raw"
WAVE_2017 = DATA_RAW / "esr_cirse_2017"
FRAME_RAW = DATA_RAW / "frame"
SIMULATED_WAVE = DATA_RAW / "simulated_demo"
DERIVED = ROOT / "data" / "derived"
FIGURES = ROOT / "figures"
PAPER = ROOT / "paper"
PAPER_GENERATED = PAPER / "generated"
CACHE = ROOT / ".cache"
