import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from sotay_voice.audio import PcmAudio
from sotay_voice.engines import (
    PIPER_VOICES_DIR_ENV,
    EspeakEngine,
    PiperEngine,
    SpeechEngine,
    SpeechEngineError,
    default_piper_voices_dir,
)

PIPER_TEST_VOICE = "en_US-joe-medium"

VIETNAMESE = (
    "Nghị quyết Đại hội đại biểu toàn quốc lần thứ mười ba của Đảng "
    "xác định mục tiêu phát triển kinh tế, xã hội nhanh và bền vững."
)
ENGLISH = "The provincial party committee approved the plan for the coming year."


def speech_rms(audio: PcmAudio) -> float:
    return float(np.sqrt(np.mean(audio.to_float() ** 2)))


def assert_plausible_speech(audio: PcmAudio, words: int) -> None:
    # Between about 1.5 and 6 words a second, and clearly not silence.
    assert words / 6 <= audio.duration_s <= words / 1.5
    assert speech_rms(audio) > 0.01
    assert audio.samples.dtype == np.int16


def test_engines_satisfy_the_protocol(espeak: EspeakEngine, piper: PiperEngine) -> None:
    engines: list[SpeechEngine] = [espeak, piper]
    assert [engine.name for engine in engines] == ["espeak-ng", "piper"]


def test_espeak_speaks_vietnamese(espeak: EspeakEngine) -> None:
    audio = espeak.synthesize(VIETNAMESE)
    assert audio.sample_rate == 22050
    assert_plausible_speech(audio, len(VIETNAMESE.split()))


def test_espeak_rate_changes_duration(espeak: EspeakEngine) -> None:
    normal = espeak.synthesize(VIETNAMESE).duration_s
    fast = espeak.synthesize(VIETNAMESE, rate=1.5).duration_s
    slow = espeak.synthesize(VIETNAMESE, rate=0.75).duration_s
    assert fast < normal * 0.8
    assert slow > normal * 1.2


def test_espeak_other_vietnamese_voice(espeak: EspeakEngine) -> None:
    audio = espeak.synthesize(VIETNAMESE, voice="vi-vn-x-south")
    assert_plausible_speech(audio, len(VIETNAMESE.split()))


def test_espeak_is_safe_to_call_from_many_threads(espeak: EspeakEngine) -> None:
    texts = [f"Chi bộ số {word} họp định kỳ hằng tháng." for word in ("một", "hai", "ba", "bốn")]
    sequential = [espeak.synthesize(text) for text in texts]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(espeak.synthesize, texts * 2))
    for expected, got in zip(sequential * 2, parallel, strict=True):
        assert np.array_equal(expected.samples, got.samples)


def test_espeak_empty_text_gives_no_audio(espeak: EspeakEngine) -> None:
    assert espeak.synthesize("").duration_s < 0.05


def test_espeak_unknown_voice_is_a_coded_error(espeak: EspeakEngine) -> None:
    with pytest.raises(SpeechEngineError) as raised:
        espeak.synthesize(VIETNAMESE, voice="xx-nowhere")
    assert raised.value.code == "voice_not_found"


def test_espeak_missing_binary_is_a_coded_error(tmp_path: Path) -> None:
    engine = EspeakEngine(binary=str(tmp_path / "no-espeak"))
    with pytest.raises(SpeechEngineError) as raised:
        engine.synthesize(VIETNAMESE)
    assert raised.value.code == "voice_engine_failed"
    assert raised.value.message_vi


@pytest.mark.parametrize("rate", [0.2, 3.0])
def test_rate_out_of_range_is_refused(espeak: EspeakEngine, rate: float) -> None:
    with pytest.raises(SpeechEngineError) as raised:
        espeak.synthesize(VIETNAMESE, rate=rate)
    assert raised.value.code == "voice_rate_invalid"


def test_piper_lists_and_speaks_the_voice_in_its_folder(piper: PiperEngine) -> None:
    assert piper.voices() == [PIPER_TEST_VOICE]
    audio = piper.synthesize(ENGLISH, voice=PIPER_TEST_VOICE)
    assert audio.sample_rate == 22050
    assert_plausible_speech(audio, len(ENGLISH.split()))


def test_piper_joins_sentences_with_a_pause(piper: PiperEngine) -> None:
    one = piper.synthesize("The meeting opened.").duration_s
    two = piper.synthesize("The meeting opened. The meeting opened.").duration_s
    assert two == pytest.approx(2 * one + piper.sentence_pause_s, abs=0.35)


def test_piper_rate_changes_duration(piper: PiperEngine) -> None:
    normal = piper.synthesize(ENGLISH).duration_s
    fast = piper.synthesize(ENGLISH, rate=1.5).duration_s
    assert fast < normal * 0.8


def test_piper_unknown_voice_is_a_coded_error(piper: PiperEngine) -> None:
    with pytest.raises(SpeechEngineError) as raised:
        piper.synthesize(ENGLISH, voice="vi_VN-missing-medium")
    assert raised.value.code == "voice_not_found"


def test_piper_with_an_empty_folder_has_no_voice(tmp_path: Path) -> None:
    engine = PiperEngine(tmp_path)
    assert engine.voices() == []
    with pytest.raises(SpeechEngineError) as raised:
        engine.synthesize(ENGLISH)
    assert raised.value.code == "voice_not_found"


def test_piper_broken_model_file_is_an_engine_failure(
    tmp_path: Path, piper_voices_dir: Path
) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx model")
    shutil.copy(piper_voices_dir / f"{PIPER_TEST_VOICE}.onnx.json", tmp_path / "broken.onnx.json")
    with pytest.raises(SpeechEngineError) as raised:
        PiperEngine(tmp_path).synthesize(ENGLISH, voice="broken")
    assert raised.value.code == "voice_engine_failed"


def test_default_voices_folder_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(PIPER_VOICES_DIR_ENV, str(tmp_path))
    assert default_piper_voices_dir() == tmp_path
    monkeypatch.delenv(PIPER_VOICES_DIR_ENV)
    assert default_piper_voices_dir().parts[-2:] == (".cache", "voices")
