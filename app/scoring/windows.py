"""Overlapping windows over a token sequence (pure Python, no torch).

A transformer sees at most a fixed number of positions; a longer text is scored as several
overlapping windows and each category keeps its highest score, so a toxic sentence at the end
of a long comment is not cut off (Detoxify itself truncates at 512 tokens).
"""

from __future__ import annotations

__all__ = ["clamp_overlap", "usable_positions", "window_spans"]


def clamp_overlap(body: int, overlap: int) -> int:
    """The overlap actually used for windows of ``body`` tokens.

    At most half a window, so that every window moves forward by at least half its size (a
    larger overlap would multiply the number of windows for little gain).
    """
    if body < 1:
        raise ValueError(f"a window must hold at least one token, got {body}")
    return max(0, min(overlap, body // 2))


def window_spans(n_tokens: int, body: int, overlap: int) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``n_tokens`` tokens with windows of at most ``body``.

    Consecutive windows share ``clamp_overlap(body, overlap)`` tokens; the spans are the same as
    those of a Hugging Face fast tokenizer called with ``truncation=True, stride=overlap,
    return_overflowing_tokens=True``. An empty sequence still gets one (empty) window.
    """
    step = body - clamp_overlap(body, overlap)
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end = min(start + body, n_tokens)
        spans.append((start, end))
        if end >= n_tokens:
            return spans
        start += step


def usable_positions(
    max_position_embeddings: int | None, padding_idx: int | None = None
) -> int | None:
    """How many tokens (special tokens included) fit into the model's position embeddings.

    RoBERTa-family models (RoBERTa, XLM-R, CamemBERT...) number positions from
    ``padding_idx + 1``: XLM-R has 514 position embeddings and ``padding_idx`` 1, so 512 usable.
    """
    if max_position_embeddings is None:
        return None
    if padding_idx is None:
        return max_position_embeddings
    return max_position_embeddings - padding_idx - 1
