"""Golden outputs (Kipoi-style): each architecture, built with a fixed seed, must give the stored
output for a fixed input. Catches any silent change of layers, their order, initialisation or
forward pass that parameter counts and shapes alone would miss.

Regenerate after an intended change with ``python tests/test_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from regzoo.data.encode import codes_to_one_hot
from regzoo.models import ARCHITECTURES, card, create

GOLDEN = Path(__file__).parent / "golden" / "outputs.json"
SEQ_LEN, N_TASKS = 256, 2


def golden_output(name: str) -> list[float]:
    """Compact ``name`` for a 256-bp, 2-task problem, seed 0, eval mode, on a fixed input batch."""
    torch.manual_seed(0)
    extra = {"output": "scalar"} if card(name).output == "profile" else {}
    model = create(name, seq_len=SEQ_LEN, n_tasks=N_TASKS, compact=True, **extra).eval()
    codes = np.random.default_rng(0).integers(0, 4, size=(3, SEQ_LEN)).astype(np.uint8)
    codes[1, 100:110] = 4  # a stretch of N
    with torch.no_grad():
        out = model(torch.from_numpy(codes_to_one_hot(codes)))
    return [round(float(v), 6) for v in out.flatten()]


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(GOLDEN.read_text())


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_golden_output(name, stored):
    assert name in stored, f"no golden output for {name}; run python tests/test_golden.py"
    got = golden_output(name)
    np.testing.assert_allclose(got, stored[name], rtol=1e-4, atol=1e-5)


if __name__ == "__main__":
    GOLDEN.write_text(json.dumps({n: golden_output(n) for n in ARCHITECTURES}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
