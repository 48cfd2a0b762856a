"""Tag a post with the trends it is substantially about (multi-label, explainable).

The one entry point for ingest and `trendbot analyze`: the learned model
(`trends.ingest.tagger`), whose inputs include the lexicon (`trends.ingest.lexicon`).
"""

from __future__ import annotations

from trends.ingest.tagger import default_model
from trends.models import TrendTag
from trends.themes import Themes

__all__ = ["tag"]


def tag(title: str, text: str, themes: Themes, *, ai_source: bool = False) -> list[TrendTag]:
    """The trends a post is about, best first, by the learned model (`trends.ingest.tagger`).

    Scores are calibrated probabilities; `matched` names words of the post that weighed
    most for the trend. `ai_source` says the post comes from a feed that is about AI as a
    whole (a lab's blog): its posts pass the AI gate even when they never say "AI".
    """
    return default_model().tag(title, text, themes, ai_source=ai_source)
