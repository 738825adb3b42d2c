"""Voice profiles: which engine and voice read a document, how fast, with which pauses.

Profiles come in layers: a request (an administrator's re-render) over the profile of the
document's kind over the service default; a field left out falls back to the next layer. The
resolved `RenderSpec` is what a render is made with, and its `key` is what "the same voice"
means for deduplication: the same content hash is rendered once per key.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sotay_voice.segment import ChunkLimits, PauseProfile

EngineName = Literal["espeak-ng", "piper"]
VOICE_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}$"
# Part of every key: raise it when a change of normalisation or encoding should re-render all.
SPEC_REVISION = 1


class Pauses(BaseModel):
    """Silence after each kind of boundary, in seconds; unset ones keep the next layer's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clause_s: float | None = Field(default=None, ge=0, le=5)
    sentence_s: float | None = Field(default=None, ge=0, le=5)
    list_item_s: float | None = Field(default=None, ge=0, le=5)
    paragraph_s: float | None = Field(default=None, ge=0, le=5)
    heading_s: float | None = Field(default=None, ge=0, le=5)
    before_chapter_s: float | None = Field(default=None, ge=0, le=5)

    def over(self, base: PauseProfile) -> PauseProfile:
        changes = {name: value for name, value in self.model_dump().items() if value is not None}
        return PauseProfile(**{**asdict(base), **changes})


class VoiceProfile(BaseModel):
    """One layer of settings for reading documents aloud."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: EngineName | None = None
    voice: str | None = Field(default=None, pattern=VOICE_NAME_PATTERN)
    rate: float | None = Field(default=None, ge=0.5, le=2.0, description="1.0 = normal speed")
    pauses: Pauses = Pauses()

    def over(self, base: "VoiceProfile") -> "VoiceProfile":
        """This layer on top of `base`. A different engine drops the base's voice, whose name
        means nothing to another engine."""
        engine = self.engine or base.engine
        inherited_voice = base.voice if engine == base.engine else None
        pauses = {**base.pauses.model_dump(), **self.pauses.model_dump(exclude_none=True)}
        return VoiceProfile(
            engine=engine,
            voice=self.voice or inherited_voice,
            rate=self.rate if self.rate is not None else base.rate,
            pauses=Pauses(**pauses),
        )


DEFAULT_PROFILE = VoiceProfile(engine="espeak-ng", voice=None, rate=1.0)


def layered_profile(
    default: VoiceProfile,
    by_kind: dict[str, VoiceProfile],
    kind: str,
    request: VoiceProfile | None = None,
) -> VoiceProfile:
    """The profile for a document of `kind`: request over kind over default (over the
    built-in defaults for anything the default leaves out)."""
    profile = default.over(DEFAULT_PROFILE)
    if kind in by_kind:
        profile = by_kind[kind].over(profile)
    if request is not None:
        profile = request.over(profile)
    return profile


@dataclass(frozen=True)
class RenderSpec:
    """Everything that shapes the audio of a text, with the voice resolved to a real name."""

    engine: str
    voice: str
    rate: float
    pauses: PauseProfile
    limits: ChunkLimits

    @classmethod
    def build(cls, profile: VoiceProfile, voice: str, limits: ChunkLimits) -> "RenderSpec":
        assert profile.engine is not None
        assert profile.rate is not None
        return cls(profile.engine, voice, profile.rate, profile.pauses.over(PauseProfile()), limits)

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "voice": self.voice,
            "rate": self.rate,
            "pauses": asdict(self.pauses),
            "limits": asdict(self.limits),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "RenderSpec":
        return cls(
            engine=str(data["engine"]),
            voice=str(data["voice"]),
            rate=float(data["rate"]),
            pauses=PauseProfile(**data["pauses"]),
            limits=ChunkLimits(**data["limits"]),
        )

    @property
    def key(self) -> str:
        """Stable fingerprint: equal keys render identical audio from identical text."""
        canonical = json.dumps(
            {"revision": SPEC_REVISION, **self.to_json()}, sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]
