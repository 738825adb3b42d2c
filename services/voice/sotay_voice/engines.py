"""Speech engines behind one interface: text in, mono 16-bit PCM out.

- `EspeakEngine`: Debian's espeak-ng (voice `vi`), run as a fresh process per call, so any
  number of threads may use one instance. Robotic, but always there and ~500x real time.
- `PiperEngine`: Piper ONNX (VITS) voices an operator drops into a folder (`NAME.onnx` plus
  `NAME.onnx.json`). Loaded voices are cached; onnxruntime sessions are thread-safe.

Both raise `SpeechEngineError` (with `code` and `message_vi`) on any failure, so the
service can dead-letter the event.
"""

import json
import os
import re
import subprocess
import threading
from pathlib import Path
from typing import Protocol

import onnxruntime
from piper import PiperVoice, SynthesisConfig
from piper.config import PiperConfig

from sotay_voice.audio import PcmAudio, WavFormatError, parse_wav

PIPER_VOICES_DIR_ENV = "SOTAY_VOICE_PIPER_VOICES_DIR"
MIN_RATE, MAX_RATE = 0.5, 2.0
ESPEAK_SAMPLE_RATE = 22050
_VOICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")


class SpeechEngineError(Exception):
    """Synthesis failed; `code` is stable, `message_vi` is for people."""

    def __init__(self, code: str, message_vi: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.message_vi = message_vi


class SpeechEngine(Protocol):
    name: str

    def synthesize(self, text: str, *, voice: str | None = None, rate: float = 1.0) -> PcmAudio:
        """Speak `text` with `voice` (the engine's default when None) at `rate` times the
        normal speed (0.5 to 2.0)."""
        ...


def check_rate(rate: float) -> None:
    if not MIN_RATE <= rate <= MAX_RATE:
        raise SpeechEngineError(
            "voice_rate_invalid",
            f"Tốc độ đọc phải trong khoảng {MIN_RATE} đến {MAX_RATE} lần.",
            f"rate {rate} outside [{MIN_RATE}, {MAX_RATE}]",
        )


def _check_voice_name(voice: str) -> None:
    if not _VOICE_NAME.fullmatch(voice):
        raise SpeechEngineError(
            "voice_not_found", f"Không có giọng đọc {voice!r}.", f"invalid voice name {voice!r}"
        )


def _engine_failed(engine: str, detail: str) -> SpeechEngineError:
    return SpeechEngineError(
        "voice_engine_failed",
        f"Bộ tổng hợp giọng nói {engine} gặp lỗi, chưa tạo được âm thanh.",
        detail,
    )


class EspeakEngine:
    """espeak-ng through its command line (`--stdout` WAV)."""

    name = "espeak-ng"

    def __init__(
        self,
        binary: str = "espeak-ng",
        default_voice: str = "vi",
        words_per_minute: int = 165,
        pitch: int = 50,
        timeout_s: float = 120.0,
    ) -> None:
        self.binary = binary
        self.default_voice = default_voice
        self.words_per_minute = words_per_minute
        self.pitch = pitch
        self.timeout_s = timeout_s

    def synthesize(self, text: str, *, voice: str | None = None, rate: float = 1.0) -> PcmAudio:
        check_rate(rate)
        voice = voice or self.default_voice
        _check_voice_name(voice)
        if not text.strip():
            return PcmAudio.silence(0, ESPEAK_SAMPLE_RATE)  # espeak-ng writes no WAV at all
        speed = round(self.words_per_minute * rate)
        # -z: no pause after the last sentence (pauses between chunks are planned upstream);
        # -b 1: the input is UTF-8.
        command = [self.binary, "-v", voice, "-s", str(speed), "-p", str(self.pitch)]
        command += ["-z", "-b", "1", "--stdout", "--stdin"]
        try:
            completed = subprocess.run(  # noqa: S603 (fixed argv, no shell; text goes to stdin)
                command,
                input=text.encode(),
                capture_output=True,
                timeout=self.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise _engine_failed(self.name, f"cannot run {self.binary}: {error}") from error
        stderr = completed.stderr.decode(errors="replace").strip()
        if completed.returncode != 0 and "voice does not exist" in stderr:
            raise SpeechEngineError("voice_not_found", f"Không có giọng đọc {voice!r}.", stderr)
        if completed.returncode != 0:
            raise _engine_failed(self.name, f"exit {completed.returncode}: {stderr}")
        try:
            return parse_wav(completed.stdout)
        except WavFormatError as error:
            raise _engine_failed(self.name, f"unreadable output: {error}") from error


def default_piper_voices_dir() -> Path:
    """`$SOTAY_VOICE_PIPER_VOICES_DIR`, else `.cache/voices` in the repository."""
    configured = os.environ.get(PIPER_VOICES_DIR_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / ".cache" / "voices"


class PiperEngine:
    """Piper voices from `voices_dir`; a voice is named by its file stem
    (`vi_VN-example-medium` for `vi_VN-example-medium.onnx` + `.onnx.json`)."""

    name = "piper"

    def __init__(
        self,
        voices_dir: Path,
        default_voice: str | None = None,
        sentence_pause_s: float = 0.3,
        threads: int = 0,
    ) -> None:
        self.voices_dir = voices_dir
        self.default_voice = default_voice
        self.sentence_pause_s = sentence_pause_s
        self.threads = threads  # onnxruntime intra-op threads; 0 lets it decide
        self._loaded: dict[str, PiperVoice] = {}
        self._lock = threading.Lock()

    def voices(self) -> list[str]:
        """Names of the complete voices (model and config) in the folder."""
        if not self.voices_dir.is_dir():
            return []
        models = self.voices_dir.glob("*.onnx")
        return sorted(path.stem for path in models if path.with_name(path.name + ".json").is_file())

    def synthesize(self, text: str, *, voice: str | None = None, rate: float = 1.0) -> PcmAudio:
        check_rate(rate)
        piper_voice = self._voice(voice)
        sample_rate = piper_voice.config.sample_rate
        config = SynthesisConfig(
            length_scale=piper_voice.config.length_scale / rate, normalize_audio=False
        )
        pause = PcmAudio.silence(self.sentence_pause_s / rate, sample_rate)
        parts: list[PcmAudio] = []
        try:
            for sentence in piper_voice.synthesize(text, syn_config=config):
                if parts:
                    parts.append(pause)
                parts.append(PcmAudio.from_float(sentence.audio_float_array, sample_rate))
        except Exception as error:  # onnxruntime and phonemizer errors have no common base
            raise _engine_failed(self.name, f"{type(error).__name__}: {error}") from error
        return PcmAudio.concatenate(parts, sample_rate)

    def _voice(self, voice: str | None) -> PiperVoice:
        name = voice or self.default_voice or next(iter(self.voices()), None)
        if name is None:
            raise SpeechEngineError(
                "voice_not_found",
                "Chưa có giọng đọc Piper nào được cài đặt.",
                f"no voice in {self.voices_dir}",
            )
        _check_voice_name(name)
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(name)
            return self._loaded[name]

    def _load(self, name: str) -> PiperVoice:
        model = self.voices_dir / f"{name}.onnx"
        config_path = model.with_name(model.name + ".json")
        if not model.is_file() or not config_path.is_file():
            raise SpeechEngineError(
                "voice_not_found",
                f"Không có giọng đọc {name!r}.",
                f"missing {model} or {config_path}",
            )
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            session = onnxruntime.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # a broken file fails in json, piper or onnxruntime
            raise _engine_failed(self.name, f"cannot load {model}: {error}") from error
        return PiperVoice(session=session, config=config)
