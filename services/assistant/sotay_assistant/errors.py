"""The one error type the assistant domain raises for what it cannot do."""

from __future__ import annotations


class AssistantError(Exception):
    """`code` is a stable snake_case string, `message_vi` is shown to users."""

    def __init__(self, code: str, message_vi: str) -> None:
        super().__init__(f"{code}: {message_vi}")
        self.code = code
        self.message_vi = message_vi
