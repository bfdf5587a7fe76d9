"""The scrubber: personal details are removed, the campaign's own figures are kept."""

from __future__ import annotations

import pytest

from flows.sensitive import REMOVED, Scrubbed, scrub


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        # receipt numbers, dates, names
        ("my case number is EAC1234567890", "receipt"),
        ("born 03/12/1985", "date"),
        ("court on 1985-03-12", "date"),
        ("My name is Maria Gonzalez", "name"),
        ("me llamo José Pérez", "name"),
        ("meu nome é Ana Souza", "name"),
        # A-numbers
        ("my A number is A123-456-789", "a_number"),
        ("A 12345678", "a_number"),
        ("a#123456789 is mine", "a_number"),
        ("A-123 456 789", "a_number"),
        ("my alien number is 123 456 789", "a_number"),
        ("A-number: 12345678", "a_number"),
        # Social Security numbers
        ("ssn 123-45-6789", "ssn"),
        ("it is 123 45 6789", "ssn"),
        ("my social security number is 123456789", "ssn"),
        ("SSN: 123456789", "ssn"),
        # addresses
        ("I live at 12 Main St", "address"),
        ("45 Blue Hill Ave apt 3, Boston, MA 02119", "address"),
        ("come to 7 Harbor Court", "address"),
        ("we are at 1200 Commonwealth Avenue #4", "address"),
        ("P.O. Box 123", "address"),
        # immigration status
        ("I am undocumented, can I call?", "status"),
        ("I'm illegal", "status"),
        ("im undocumented", "status"),
        ("my visa expired last year", "status"),
        ("I have no papers", "status"),
        ("I don't have papers", "status"),
        ("I overstayed my visa", "status"),
        ("my husband is undocumented", "status"),
        ("soy indocumentado", "status"),
        ("no tengo papeles", "status"),
        ("sou indocumentada", "status"),
        ("não tenho documentos", "status"),
        ("nao tenho documentos", "status"),
        # phones
        ("call me at 617-555-1234", "phone"),
        ("(617) 555 1234", "phone"),
        ("+55 11 91234-5678", "phone"),
        ("6175551234", "phone"),
        # e-mail
        ("write to maria.silva+bot@example.org", "email"),
    ],
)
def test_detects_and_removes(text: str, kind: str) -> None:
    scrubbed = scrub(text)
    assert kind in scrubbed.kinds, scrubbed
    assert REMOVED in scrubbed.text


@pytest.mark.parametrize(
    "text",
    [
        "what is 45,707",
        "52%",
        "what does the 52 percent mean",
        "15% had minor offenses",
        "in 2008 there were 3 hearings",
        "since 2014 more than 1,000 people",
        "I went to court 3 times",
        "there is 1 easy way to help",
        "what happened on 12 May",
        "the hearing on 12/5 was packed",
        "my name is not important",
        "I'm not a legal expert",
        "I am a US citizen",
        "what is a Level 1 offender",
        "is it a good idea to call 911?",
        "how do I email the governor",
        "what is an A-number?",
        "do you need my social security number?",
        "",
    ],
)
def test_keeps_ordinary_questions(text: str) -> None:
    assert scrub(text) == Scrubbed(text=text, kinds=frozenset())


def test_keeps_the_campaigns_own_numbers_when_allowed() -> None:
    text = "is (617) 725-4005 the governor's office?"
    assert scrub(text, allow=["(617) 725-4005"]).text == text
    assert scrub(text).kinds == frozenset({"phone"})


def test_several_kinds_at_once() -> None:
    scrubbed = scrub("I am undocumented, A12345678, call 617-555-1234 or a@b.co")
    assert scrubbed.kinds == frozenset({"status", "a_number", "phone", "email"})
    assert scrubbed.text == f"{REMOVED}, {REMOVED}, call {REMOVED} or {REMOVED}"


def test_the_rest_of_the_question_is_kept() -> None:
    scrubbed = scrub("I live at 12 Main St, does S-Comm affect me?")
    assert scrubbed.text == f"I live at {REMOVED}, does S-Comm affect me?"
