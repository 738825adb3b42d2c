import pytest
from pydantic import ValidationError

from sotay_assistant.settings import AssistantSettings


def test_language_model_settings_are_read_with_or_without_the_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LLM_BASE_URL", "http://llm.local:8000/v1")
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "qwen")
    settings = AssistantSettings()
    assert settings.llm_base_url == "http://llm.local:8000/v1"
    assert settings.llm_model == "qwen"
    assert not AssistantSettings(llm_base_url="").llm_base_url


def test_local_qdrant_refuses_several_http_workers() -> None:
    with pytest.raises(ValidationError, match="ASSISTANT_QDRANT_URL"):
        AssistantSettings(http_workers=2)
    server = AssistantSettings(http_workers=2, qdrant_url="http://qdrant:6333")
    assert server.http_workers == 2
