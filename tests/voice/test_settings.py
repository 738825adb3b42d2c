import json

import pytest
from pydantic import ValidationError

from sotay_voice.lexicon import LocalityKind
from sotay_voice.settings import VoiceSettings


def test_profiles_and_locality_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    regulation = {"engine": "piper", "voice": "vi_VN-x-medium", "pauses": {"heading_s": 1.2}}
    monkeypatch.setenv("VOICE_KIND_PROFILES", json.dumps({"regulation": regulation}))
    monkeypatch.setenv("VOICE_DEFAULT_PROFILE", '{"rate": 1.1}')
    monkeypatch.setenv("VOICE_LOCALITY_KIND", "city")
    settings = VoiceSettings()
    profile = settings.kind_profiles["regulation"]
    assert (profile.engine, profile.voice, profile.pauses.heading_s) == (
        "piper",
        "vi_VN-x-medium",
        1.2,
    )
    assert settings.default_profile.rate == 1.1
    assert settings.locality_kind is LocalityKind.CITY


def test_a_profile_for_a_kind_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown document kinds"):
        VoiceSettings(kind_profiles={"newz": {"rate": 1.2}})
