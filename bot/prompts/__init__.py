"""The prompt library (プロンプト集): templates staff run from Slack, with use counts and ratings."""

from bot.prompts.library import (
    LibraryItem,
    LibraryTemplate,
    PromptLibrary,
    SubmissionError,
    category_label,
    category_options,
)

__all__ = [
    "LibraryItem",
    "LibraryTemplate",
    "PromptLibrary",
    "SubmissionError",
    "category_label",
    "category_options",
]
