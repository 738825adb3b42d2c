"""What the service renders with, built once from its settings: the engines, the normaliser
(with the organisation's locality and the operator's lexicon), and the two stores (rendered
audio, and the content service's store for texts sent by reference)."""

from __future__ import annotations

from sotay_common.events.content import DocumentPublishedV1
from sotay_common.storage import BlobStore, open_blob_store
from sotay_voice.engines import EspeakEngine, PiperEngine, SpeechEngine
from sotay_voice.lexicon import Lexicon
from sotay_voice.normalize import Normalizer
from sotay_voice.profiles import RenderSpec, VoiceProfile, layered_profile
from sotay_voice.segment import ChunkLimits
from sotay_voice.settings import VoiceSettings

ESPEAK_DEFAULT_VOICE = "vi"


class VoiceUnavailable(Exception):
    """A profile names an engine or voice this service does not have."""

    code = "voice_not_found"

    def __init__(self, message_vi: str) -> None:
        super().__init__(message_vi)
        self.message_vi = message_vi


class Studio:
    def __init__(self, settings: VoiceSettings) -> None:
        self.settings = settings
        self.espeak = EspeakEngine(
            binary=settings.espeak_binary, default_voice=ESPEAK_DEFAULT_VOICE
        )
        self.piper = PiperEngine(settings.piper_voices_dir)
        lexicon_files = (settings.lexicon_file,) if settings.lexicon_file else ()
        self.normalizer = Normalizer(Lexicon.load(settings.locality_kind, lexicon_files))
        self.limits = ChunkLimits(settings.first_chunk_chars, settings.max_chunk_chars)
        self.audio_store: BlobStore = open_blob_store(settings.storage_url)
        self.content_store: BlobStore = open_blob_store(settings.content_store_url)

    def engine(self, name: str) -> SpeechEngine:
        engines: dict[str, SpeechEngine] = {"espeak-ng": self.espeak, "piper": self.piper}
        return engines[name]

    def voices(self) -> dict[str, list[str]]:
        """Voices by engine (espeak-ng lists the one this service reads Vietnamese with)."""
        return {"espeak-ng": [ESPEAK_DEFAULT_VOICE], "piper": self.piper.voices()}

    def profile_for(self, kind: str, request: VoiceProfile | None = None) -> VoiceProfile:
        return layered_profile(
            self.settings.default_profile, self.settings.kind_profiles, kind, request
        )

    def resolve(self, profile: VoiceProfile) -> RenderSpec:
        """The spec to render with; raises `VoiceUnavailable` for a voice that is not there.
        (An espeak-ng voice is checked when it speaks: listing them means running it.)"""
        if profile.engine == "piper":
            installed = self.piper.voices()
            voice = profile.voice or next(iter(installed), None)
            if voice is None or voice not in installed:
                wanted = f" {voice!r}" if voice else ""
                raise VoiceUnavailable(f"Chưa cài đặt giọng đọc Piper{wanted}.")
        else:
            voice = profile.voice or ESPEAK_DEFAULT_VOICE
        return RenderSpec.build(profile, voice, self.limits)

    async def document_text(self, event: DocumentPublishedV1) -> str:
        """The text, inline or by reference (claim check) from the content store."""
        if event.text is not None:
            return event.text
        if event.text_ref is None:
            raise ValueError("document.published.v1 without text or text_ref")
        return (await self.content_store.get(event.text_ref)).decode("utf-8")
