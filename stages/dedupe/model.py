"""The fitted pair model: logistic regression over `features.FEATURES`.

Weights and thresholds live in ``model.json`` next to this file and are
produced by ``python -m stages.dedupe.train``; nothing here is hand-set.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from stages.dedupe.features import FEATURES

MODEL_PATH = Path(__file__).with_name("model.json")


@dataclass(frozen=True)
class Thresholds:
    """p ≥ match: same business; p < review: different; in between: gray zone (LLM, then a human)."""

    match: float = 0.9
    review: float = 0.4


@dataclass(frozen=True)
class PairModel:
    weights: tuple[float, ...]
    bias: float
    thresholds: Thresholds

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> PairModel:
        data = json.loads(Path(path).read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted on features {data['features']}, the code has {list(FEATURES)}")
        return cls(tuple(data["weights"]), data["bias"], Thresholds(**data["thresholds"]))

    def probability(self, features: list[float]) -> float:
        z = self.bias
        for w, x in zip(self.weights, features):
            z += w * x
        if z < -30:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))
