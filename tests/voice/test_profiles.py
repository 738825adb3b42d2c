import pytest
from pydantic import ValidationError

from sotay_voice.profiles import Pauses, RenderSpec, VoiceProfile, layered_profile
from sotay_voice.segment import ChunkLimits, PauseProfile


def test_layers_fall_back_field_by_field() -> None:
    default = VoiceProfile(rate=1.1, pauses=Pauses(heading_s=1.0))
    by_kind = {"regulation": VoiceProfile(pauses=Pauses(paragraph_s=0.9))}
    profile = layered_profile(default, by_kind, "regulation", VoiceProfile(rate=0.8))
    assert (profile.engine, profile.voice, profile.rate) == ("espeak-ng", None, 0.8)
    assert (profile.pauses.heading_s, profile.pauses.paragraph_s) == (1.0, 0.9)
    assert layered_profile(default, by_kind, "news").rate == 1.1


def test_another_engine_does_not_inherit_the_voice_name() -> None:
    default = VoiceProfile(engine="piper", voice="vi_VN-a-medium")
    assert layered_profile(default, {}, "news", VoiceProfile(engine="espeak-ng")).voice is None
    same_engine = layered_profile(default, {}, "news", VoiceProfile(rate=1.2))
    assert same_engine.voice == "vi_VN-a-medium"


def test_pauses_override_only_what_they_set() -> None:
    pauses = Pauses(heading_s=1.5).over(PauseProfile())
    assert pauses == PauseProfile(heading_s=1.5)


@pytest.mark.parametrize(
    "data",
    [{"rate": 3.0}, {"engine": "festival"}, {"voice": "../etc/passwd"}, {"pauses": {"x": 1}}],
)
def test_invalid_profiles_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        VoiceProfile.model_validate(data)


def test_the_key_changes_with_anything_that_changes_the_audio() -> None:
    profile = layered_profile(VoiceProfile(), {}, "news")
    spec = RenderSpec.build(profile, "vi", ChunkLimits())
    assert RenderSpec.from_json(spec.to_json()) == spec
    assert RenderSpec.build(profile, "vi", ChunkLimits()).key == spec.key
    variants = [
        RenderSpec.build(profile, "vi-x", ChunkLimits()),
        RenderSpec.build(profile.model_copy(update={"rate": 1.2}), "vi", ChunkLimits()),
        RenderSpec.build(
            VoiceProfile(pauses=Pauses(clause_s=0.3)).over(profile), "vi", ChunkLimits()
        ),
        RenderSpec.build(profile, "vi", ChunkLimits(first_chunk_chars=60)),
    ]
    assert len({spec.key, *(v.key for v in variants)}) == 5
