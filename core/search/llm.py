"""The language model behind answers: OpenAI chat completions (or any compatible endpoint).

Prompts are lists of messages built by joining strings: user text is never a format template, so braces or
``{0.__class__}`` in a question are just text.
"""

from __future__ import annotations

from typing import Protocol

from core.errors import AgentPMError

# An answer job has 60 s; two tries of 15 s leave time for the extractive fallback.
TIMEOUT_SECONDS = 15.0
MAX_RETRIES = 1
MAX_ANSWER_TOKENS = 700


class LLMError(AgentPMError):
    user_message = "The language model did not answer."


class ChatModel(Protocol):
    name: str

    def complete(self, system: str, user: str) -> str:
        """The model's reply to one system and one user message; ``LLMError`` when it gives none."""
        ...


class OpenAIChat:
    """Chat completions with the client's own bounded retries (429 and 5xx honour ``Retry-After``)."""

    def __init__(self, api_key: str, base_url: str | None, model: str) -> None:
        from openai import OpenAI

        self._client = OpenAI(
            api_key=api_key, base_url=base_url, timeout=TIMEOUT_SECONDS, max_retries=MAX_RETRIES
        )
        self.name = model

    def complete(self, system: str, user: str) -> str:
        import openai

        try:
            response = self._client.chat.completions.create(
                model=self.name,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                temperature=0.1,
                max_tokens=MAX_ANSWER_TOKENS,
            )
        except openai.OpenAIError as exc:
            raise LLMError(f"chat completion failed: {type(exc).__name__}") from exc
        content = response.choices[0].message.content if response.choices else None
        if not content or not content.strip():
            raise LLMError("chat completion was empty")
        return content.strip()
