"""The Anthropic backend's budgets and prices: settings read at call time, and token usage.

No `anthropic` import here: the settings and the arithmetic need no client.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MIN_RESPONSE_TOKENS = 256


@dataclass(frozen=True)
class Prices:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float


@dataclass(frozen=True)
class LLMConfig:
    model: str
    base_url: str
    max_retries: int
    timeout_s: float
    max_turns: int
    max_tokens: int
    response_max_tokens: int
    max_seconds: float
    prices: Prices


def _number(name: str, kind: type, minimum: float) -> Any:
    """A setting as int/float >= minimum; ImproperlyConfigured naming it otherwise."""
    value = getattr(settings, name)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def load_config() -> LLMConfig:
    """The backend's settings, read now (so a changed setting applies to the next solve)."""
    model = str(getattr(settings, "ANTHROPIC_MODEL", "") or "").strip()
    if not model:
        raise ImproperlyConfigured("ANTHROPIC_MODEL must name a model, e.g. claude-sonnet-5-5")
    base_url = str(getattr(settings, "ANTHROPIC_BASE_URL", "") or "").strip()
    if base_url and not base_url.startswith(("http://", "https://")):
        raise ImproperlyConfigured(f"ANTHROPIC_BASE_URL must be an http(s) URL, got {base_url!r}")
    return LLMConfig(
        model=model,
        base_url=base_url,
        max_retries=_number("ANTHROPIC_MAX_RETRIES", int, 0),
        timeout_s=_number("ANTHROPIC_TIMEOUT_S", float, 1.0),
        max_turns=_number("WATTSON_LLM_MAX_TURNS", int, 1),
        max_tokens=_number("WATTSON_LLM_MAX_TOKENS", int, 1000),
        response_max_tokens=_number("WATTSON_LLM_RESPONSE_MAX_TOKENS", int, MIN_RESPONSE_TOKENS),
        max_seconds=_number("WATTSON_LLM_MAX_SECONDS", float, 1.0),
        prices=Prices(
            input=_number("WATTSON_LLM_PRICE_INPUT_PER_MTOK", float, 0.0),
            output=_number("WATTSON_LLM_PRICE_OUTPUT_PER_MTOK", float, 0.0),
            cache_write=_number("WATTSON_LLM_PRICE_CACHE_WRITE_PER_MTOK", float, 0.0),
            cache_read=_number("WATTSON_LLM_PRICE_CACHE_READ_PER_MTOK", float, 0.0),
        ),
    )


def api_key() -> str:
    """The key, from the environment at call time (or settings, for a deployment that sets it)."""
    return os.environ.get("ANTHROPIC_API_KEY") or getattr(settings, "ANTHROPIC_API_KEY", "") or ""


# --- usage and cost --------------------------------------------------------------------------

USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass
class Usage:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(USAGE_FIELDS, 0))
    api_calls: int = 0

    def add(self, usage: Any) -> None:
        self.api_calls += 1
        for name in USAGE_FIELDS:
            self.counts[name] += int(getattr(usage, name, 0) or 0)

    @property
    def total_tokens(self) -> int:
        return sum(self.counts.values())

    def cost_usd(self, prices: Prices) -> float:
        c = self.counts
        dollars = (
            c["input_tokens"] * prices.input
            + c["output_tokens"] * prices.output
            + c["cache_creation_input_tokens"] * prices.cache_write
            + c["cache_read_input_tokens"] * prices.cache_read
        ) / 1_000_000
        return round(dollars, 6)

    def as_dict(self, prices: Prices) -> dict[str, Any]:
        return {**self.counts, "model_calls": self.api_calls, "cost_usd": self.cost_usd(prices)}
