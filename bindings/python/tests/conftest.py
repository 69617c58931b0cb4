"""Run against the installed wheel (not the source tree): the CI step installs it into a fresh venv
and runs pytest from this folder. The encoder model comes from $LEANN_EDGE_MODEL (models/fetch.sh)."""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


def pytest_configure(config):
    model = REPO / "models" / "all-minilm-l6-v2-int8"
    if "LEANN_EDGE_MODEL" not in os.environ and model.is_dir():
        os.environ["LEANN_EDGE_MODEL"] = str(model)


@pytest.fixture(scope="session")
def corpus() -> pathlib.Path:
    return REPO / "examples" / "corpus"


@pytest.fixture()
def records():
    topics = [
        ("pi-ram", "Raspberry Pi Zero 2 W", "The Raspberry Pi Zero 2 W has 512 MB of RAM and a quad-core Cortex-A53."),
        ("sourdough", "Sourdough starter", "Feed a sourdough starter flour and water every day and keep it warm."),
        ("moons", "Saturn", "Saturn has the most known moons of any planet in the solar system."),
        ("pq", "Product quantization", "Product quantization splits a vector into sub-vectors and codes each with a codebook."),
        ("espresso", "Espresso", "Espresso is brewed by forcing hot water through finely ground coffee at high pressure."),
        ("bike", "Bicycle chain", "Clean and oil a bicycle chain every few hundred kilometres to stop rust."),
    ]
    filler = [
        (f"note-{i}", f"Note {i}", f"Meeting note number {i} about the quarterly garden plan and its {i} tomato plants.")
        for i in range(30)
    ]
    return [
        {"id": i, "title": t, "text": x, "metadata": {"lang": "en", "n": n}}
        for n, (i, t, x) in enumerate(topics + filler)
    ]
