"""Planned chunks to encoded audio: synthesis runs ahead in worker threads while the
encoder works on the previous chunk, and encoded bytes come out chunk by chunk."""

from collections import deque
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sotay_voice.audio import PcmAudio
from sotay_voice.encode import AudioFormat, DocumentEncoder, EncodedAudio, EncodingError, Timeline
from sotay_voice.engines import SpeechEngine
from sotay_voice.segment import SpeechChunk


@dataclass(frozen=True)
class RenderOptions:
    voice: str | None = None
    rate: float = 1.0
    formats: tuple[AudioFormat, ...] = (AudioFormat.OPUS, AudioFormat.MP3)
    target_lufs: float = -16.0
    synthesis_workers: int = 1
    prefetch: int = 2  # chunks synthesised ahead of the encoder


class DocumentRenderer:
    """Renders one document. `stream` yields, per chunk, the newly encoded bytes of each
    format (the last item holds the files' final bytes); once it is exhausted, `timeline`
    gives the duration and chapters. `render` does both and returns whole files."""

    def __init__(self, engine: SpeechEngine, options: RenderOptions = RenderOptions()) -> None:
        self.engine = engine
        self.options = options
        self.timeline: Timeline | None = None
        self._encoder: DocumentEncoder | None = None

    def progress(self) -> Timeline:
        """Duration and chapters encoded so far (between increments of `stream`)."""
        if self._encoder is None:
            return Timeline(0.0, [])
        return self._encoder.timeline()

    def stream(self, chunks: list[SpeechChunk]) -> Generator[dict[AudioFormat, bytes]]:
        if not chunks:
            raise EncodingError("nothing to render")
        encoder: DocumentEncoder | None = None
        with ThreadPoolExecutor(self.options.synthesis_workers, "synthesis") as pool:
            pending: deque[Future[PcmAudio]] = deque()
            upcoming = iter(chunks)
            try:
                for chunk in chunks:
                    while len(pending) <= self.options.prefetch and (
                        next_chunk := next(upcoming, None)
                    ):
                        pending.append(pool.submit(self._synthesize, next_chunk))
                    audio = pending.popleft().result()
                    encoder = encoder or self._new_encoder(audio.sample_rate)
                    self._encoder = encoder
                    yield encoder.add(
                        audio, pause_after_s=chunk.pause_after_s, chapter=chunk.chapter
                    )
            except BaseException:
                for future in pending:
                    future.cancel()
                if encoder is not None:
                    encoder.abort()
                raise
        assert encoder is not None
        final = encoder.finish()
        self.timeline = encoder.timeline()
        yield final

    def render(self, chunks: list[SpeechChunk]) -> EncodedAudio:
        parts: dict[AudioFormat, list[bytes]] = {fmt: [] for fmt in self.options.formats}
        for increment in self.stream(chunks):
            for fmt, data in increment.items():
                parts[fmt].append(data)
        assert self.timeline is not None
        files = {fmt: b"".join(pieces) for fmt, pieces in parts.items()}
        return EncodedAudio(files, self.timeline)

    def _synthesize(self, chunk: SpeechChunk) -> PcmAudio:
        return self.engine.synthesize(chunk.text, voice=self.options.voice, rate=self.options.rate)

    def _new_encoder(self, sample_rate: int) -> DocumentEncoder:
        return DocumentEncoder(sample_rate, self.options.formats, self.options.target_lufs)
