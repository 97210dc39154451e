"""Instructions count by meaning: paraphrases switch a behaviour on, unrelated text does not."""

from __future__ import annotations

import pytest

from examples.acme_assistant import behaviours, load_config
from examples.acme_assistant.runtime import DEFAULT_CONFIG_DIR

PARAPHRASES: dict[str, tuple[str, str, str]] = {
    "search_first": (
        "Before you respond to anything about one of our clients, consult the company's "
        "knowledge base.",
        "Questions about customers must be grounded in our internal records, so run a search "
        "first.",
        "Don't rely on what you remember about an account: retrieve the notes.",
    ),
    "include_draft": (
        "When someone wants you to compose an email, write out the whole email for them.",
        "A request for a draft must be answered with the draft itself.",
        "If the user asks you to prepare a message, give them the full text of the message.",
    ),
    "known_recipients": (
        "Never make up who an email should go to.",
        "Address messages only to people who are mentioned by the user or in the documents.",
        "Do not fabricate recipient names.",
    ),
    "cite_sources": (
        "Every claim should point to the document it is based on.",
        "Mention the ids of the notes your answer relies on.",
        "Add a source reference for each fact.",
    ),
    "follow_format": (
        "When the user requests a particular format, use exactly that format.",
        "If someone asks for a bulleted list, give them a bulleted list.",
        "Honour the tone and structure that the user requests.",
    ),
    "resolve_dates": (
        "Turn phrases like 'last week' or 'yesterday' into concrete YYYY-MM-DD dates.",
        "Dates given to tools have to be exact ISO dates, not relative expressions.",
        "Compute the actual calendar date for relative time expressions before using them.",
    ),
}

UNRELATED: tuple[str, ...] = (
    "You are Acme's helpful enterprise assistant.",
    "Never share passwords or personal data.",
    "Answer in the same language as the user.",
    "Greet users warmly when they say hello.",
    "Summarise long documents briefly.",
    "Ask for clarification when a request is ambiguous.",
)


def test_every_behaviour_has_three_paraphrases() -> None:
    assert set(PARAPHRASES) == set(behaviours.BEHAVIOURS)


@pytest.mark.parametrize(
    ("behaviour", "sentence"),
    [(name, text) for name, texts in PARAPHRASES.items() for text in texts],
)
def test_paraphrase_switches_its_behaviour_on(behaviour: str, sentence: str) -> None:
    [(found, score)] = behaviours.matches([sentence])
    assert found == behaviour, (sentence, found, score)


@pytest.mark.parametrize("sentence", UNRELATED)
def test_unrelated_sentence_switches_nothing_on(sentence: str) -> None:
    [(found, score)] = behaviours.matches([sentence])
    assert found == "", (sentence, found, score)


def test_week_one_configuration_instructs_none_of_the_fixes() -> None:
    config = load_config(DEFAULT_CONFIG_DIR)
    assert behaviours.instructed(config) == frozenset()
    assert behaviours.demonstrated(config) == frozenset()


def test_sentences_split_markdown_into_instructions() -> None:
    text = "# Title\n- Cite the source of every fact.\n1. Be brief. Use a friendly tone!"
    assert behaviours.sentences([text]) == [
        "Cite the source of every fact.",
        "Use a friendly tone!",
    ]
