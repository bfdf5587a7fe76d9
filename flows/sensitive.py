"""Remove personal details from a typed question before anything is recorded.

People asking about immigration sometimes volunteer their A-number, Social Security
number, address, phone, e-mail or immigration status. The bot needs none of it, so every
question is scrubbed before it is stored: each such span becomes `[removed]`, and the
kinds found let the bot say, gently, that such details are not needed.

Plain regular expressions, tuned to keep the campaign's own figures ("45,707", "52%",
"2008") and public phone numbers passed in `allow`. Patterns alone miss too much (a name
with no "my name is", a street with no street word, a town), so scrubbing also fails
closed: given the words the campaign knows (`known`, folded), every other word becomes
`[…]`, and so does every number the campaign does not use.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from flows.text import fold

__all__ = ["KINDS", "REMOVED", "UNKNOWN", "Scrubbed", "scrub"]

REMOVED = "[removed]"
UNKNOWN = "[…]"
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
KINDS = frozenset(
    {"a_number", "ssn", "address", "status", "phone", "email", "receipt", "date", "name"}
)


@dataclass(frozen=True)
class Scrubbed:
    """A text with its sensitive spans replaced, and the kinds of what was removed."""

    text: str
    kinds: frozenset[str]


_FLAGS = re.IGNORECASE | re.UNICODE
_DIGIT_GROUPS = r"(?:\d[ .-]?){7,8}\d(?!\d)"  # 8 or 9 digits, dashes or spaces between

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}"

_A_NUMBER = (
    rf"(?<![\w-])a[ #.:-]{{0,3}}{_DIGIT_GROUPS}"
    rf"|(?:\ba[ -]?(?:number|no\b\.?|\#)|\balien (?:registration )?number|\buscis number"
    rf"|\bn[uú]mero a|\bn[uú]mero de extranjero)\s*(?:is|es|[eé]|:|\#)?\s*:?\s*{_DIGIT_GROUPS}"
)

_SSN = (
    r"(?<![\d-])\d{3}[ -]\d{2}[ -]\d{4}(?![\d-])"
    r"|(?:\bssn|\bsocial security(?: number| no\.?| \#)?|\bseguro social|\bseguridad social)"
    r"\s*(?:is|es|:|\#)?\s*:?\s*\d{3}[ -]?\d{2}[ -]?\d{4}(?!\d)"
    r"|(?<![\d$.,-])\d{9}(?![\d,.%])"
)

_PHONE = (
    r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(?\d{1,4}\)?[ .-]?){2,4}\d{2,4}(?!\d)"
    r"|(?<![\w(+-])(?:1[ .-]?)?(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]?\d{4}(?!\d)"
)

_SUFFIXES = (
    r"street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|dr|ct|pl|terrace|ter|parkway"
    r"|pkwy|highway|hwy|sq|turnpike|tpke"
    # Everyday words too: only when capitalised, "12 Harbor Court" but not "1 easy way".
    r"|(?-i:Way|Court|Place|Drive|Square|Circle|Plaza|Row|Park)"
)
# A number, one to four name words (not small words, so "3 times in court" is kept),
# a street suffix, then maybe an apartment, a city, a state and a ZIP code.
_NAME_WORD = r"(?!(?:in|at|on|the|of|to|a|an|for|more|people|times|years|days)\b)[a-z][\w'.-]*"
_ADDRESS = (
    rf"\b\d{{1,6}}[a-z]?(?:-\d{{1,4}})?\s+(?:{_NAME_WORD}\s+){{1,4}}(?:{_SUFFIXES})\b\.?"
    r"(?:,?\s*(?:apt|apartment|unit|suite|ste|fl|floor|\#)\.?\s*\#?\s*[\w-]+)?"
    r"(?:,?\s*[a-z][a-z .]{1,30}?,?\s*(?:ma|mass|massachusetts|ri|nh|ct|ny)\b\.?"
    r"(?:\s*\d{5}(?:-\d{4})?)?)?"
    r"|\bp\.?\s*o\.?\s*box\s*\d+"
)

_ME = r"\b(?:i\s*am|i['’]?m|i\s+was)\b"
_FAMILY = (
    r"\bmy\s+(?:husband|wife|partner|mom|mother|dad|father|parents?|son|daughter|kids?"
    r"|children|brother|sister|cousin|uncle|aunt|family|boyfriend|girlfriend)\s+(?:is|are|was)"
)
_STATUS = "|".join(
    [
        rf"(?:{_ME}|{_FAMILY})\s+(?:also\s+|still\s+|currently\s+|now\s+)?"
        r"(?:an?\s+)?(?:undocumented|illegal(?:ly\s+here|\s+(?:immigrant|alien))?"
        r"|out\s+of\s+status|here\s+illegally|without\s+(?:papers|documents|status)"
        r"|not\s+(?:a\s+)?(?:citizen|documented)|not\s+legal(?!\s+[a-z])|overstay(?:ing|ed)?"
        r"|(?:a\s+)?(?:daca|tps)(?:\s+recipient|\s+holder)?|an?\s+asylum\s+seeker)",
        r"\bmy\s+(?:visa|green\s+card|papers|work\s+permit|status|tps|daca)\s+"
        r"(?:has\s+|have\s+|is\s+|are\s+)?(?:expired|expire[sd]?|ran\s+out|run\s+out|lapsed)",
        r"\bi(?:\s+have|\s+got|\s*['’]?ve\s+got)\s+no\s+(?:papers|documents|status|green\s+card|visa)",
        r"\bi\s+(?:don['’]?t|do\s+not)\s+have\s+(?:any\s+)?(?:papers|documents"
        r"|(?:legal\s+)?status|a\s+green\s+card|a\s+visa|a\s+social)",
        r"\bi\s+overstayed(?:\s+my\s+visa)?",
        r"\bi\s+(?:crossed|came|entered)(?:\s+the\s+border|\s+here|\s+in)?\s+illegally",
        r"\b(?:soy|estoy)\s+(?:un[ao]?\s+)?(?:indocumentad[oa]s?|ilegal(?:es)?|sin\s+papeles)",
        r"\bno\s+tengo\s+(?:papeles|documentos|estatus|status|green\s+card|visa)",
        r"\bmi\s+visa\s+(?:se\s+)?(?:venci[oó]|expir[oó]|est[aá]\s+vencida)",
        r"\b(?:sou|estou)\s+(?:um[a]?\s+)?(?:indocumentad[oa]s?|ilegal|sem\s+documentos"
        r"|sem\s+pap[eé]is)",
        r"\bn[aã]o\s+tenho\s+(?:documentos|pap[eé]is|visto|green\s+card)",
        r"\bmeu\s+visto\s+(?:venceu|expirou|est[aá]\s+vencido)",
        r"\b(?:no\s+tengo|n[aã]o\s+tenho|i\s+(?:don['’]?t|do\s+not)\s+have)\s+(?:a\s+)?"
        r"(?:social|seguro\s+social|ssn)\b",
        # Said of anyone, these words state a status: never kept.
        r"\b(?:undocumented|out\s+of\s+status|overstay(?:ed|ing)?|(?:deportation|removal)\s+order"
        r"|indocumentad[oa]s?|sin\s+(?:papeles|documentos)|orden(?:es)?\s+de\s+deportaci[oó]n"
        r"|sem\s+(?:documentos?|pap[eé]is)|ordem\s+de\s+deporta[cç][aã]o"
        r"|(?:visa|visto)(?:\s+[\w-]+){0,3}?\s+(?:expired|vencid[ao]|venceu|expirou"
        r"|se\s+venci[oó]))\b",
        r"\b(?:illegal(?:ly)?|ilegal(?:es|mente)?|mojad[oa]s?|no\s+papers|without\s+(?:papers|status)"
        r"|(?:sin|sem)\s+(?:estatus|status)|no\s+status|removal\s+proceedings"
        r"|(?:proceso|processo)\s+de\s+deporta[cç](?:i[oó]n|[aã]o)"
        r"|(?:asylum|asilo)\s+(?:case|application|pending|claim|pendiente|pendente)"
        r"|(?:caso|pedido|solicitud)\s+de\s+asilo|ped[ií]\s+asilo|applied\s+for\s+asylum"
        r"|(?:tps|daca|permiso|permit|green\s+card|residencia)\s+(?:expired|vencid[oa]|venceu"
        r"|se\s+venci[oó]|was\s+denied|negad[oa]|denied)"
        r"|cruc[eé]\s+(?:la\s+frontera|sin)|entr[eé]\s+(?:sin|ilegal)|entrei\s+(?:sem|ilegal)"
        r"|crossed\s+(?:the\s+border|illegally)|fiquei\s+(?:ilegal|depois)"
        r"|me\s+qued[eé]\s+(?:m[aá]s|despu[eé]s|ilegal)|no\s+tengo\s+(?:papeles|documentos))\b",
        # Having no papers, said any way: "I no have documents", "never had papers", "sin
        # seguro social", "nao tenho seguro nem documento", "to sem visto".
        r"\b(?:no|never|don['’]?t|do\s+not|nao|n[aã]o|sin|sem|ni|nem)\s+(?:[\w'’]+\s+){0,3}?"
        r"(?:papers|papeles|pap[eé]is|documents?|documentos?|social|seguro\s+social|ssn|visa"
        r"|visto|status|estatus|green\s+card)\b",
        # A status or permit that ran out, in either order.
        r"\b(?:se\s+me\s+)?(?:venci[oó]|venceu|expired|expir[oó]|expirou)\s+(?:[\w'’]+\s+){0,2}?"
        r"(?:visa|visto|status|estatus|permiso|permit|tps|daca|green\s+card)\b",
        r"\b(?:visa|visto|status|estatus|permiso|permit|tps|daca|green\s+card)\s+(?:[\w'’]+\s+){0,3}?"
        r"(?:venci[oó]|venceu|expired|expir[oó]|expirou|vencid[oa]|ran\s+out)\b",
    ]
)

# USCIS receipt and case numbers: three letters, ten digits (EAC1234567890, IOE0912345678).
_RECEIPT = r"\b[a-z]{3}[ -]?\d{10}\b"
# A full date (a birthday, a court date): 03/12/1985, 3-12-85, 1985-03-12.
_DATE = r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})\b"
# Someone naming themselves: the name is up to three capitalised words after the phrase.
_NAME = (
    r"(?:\bmy\s+name\s+is|\bi\s+am\s+called|\bme\s+llamo|\bmi\s+nombre\s+es"
    r"|\bmeu\s+nome\s+[eé]|\bme\s+chamo)\s+(?-i:[A-ZÀ-Ý][\w'’-]*)(?:\s+(?-i:[A-ZÀ-Ý][\w'’-]*)){0,2}"
)

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern, _FLAGS))
    for kind, pattern in (
        ("email", _EMAIL),
        ("a_number", _A_NUMBER),
        ("ssn", _SSN),
        ("phone", _PHONE),
        ("address", _ADDRESS),
        ("status", _STATUS),
        ("receipt", _RECEIPT),
        ("date", _DATE),
        ("name", _NAME),
    )
)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _unknown_out(text: str, known: frozenset[str]) -> tuple[str, bool]:
    replaced = False

    def swap(found: re.Match[str]) -> str:
        nonlocal replaced
        if fold(found.group(0)) in known:
            return found.group(0)
        replaced = True
        return UNKNOWN

    out = _WORD.sub(swap, text)
    # "[…] […] […]" says no more than one.
    runs = rf"{re.escape(UNKNOWN)}(?:[\s,.-]*{re.escape(UNKNOWN)})+"
    return re.sub(runs, UNKNOWN, out), replaced


def scrub(
    text: str, *, allow: Collection[str] = (), known: frozenset[str] | None = None
) -> Scrubbed:
    """Replace personal details in `text` with `[removed]`; keep numbers listed in `allow`.

    With `known`, every word not in it is replaced too (kind "unknown").
    """
    kept = {_digits(number)[-10:] for number in allow if _digits(number)}
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _PATTERNS:
        for found in pattern.finditer(text):
            if kind == "phone" and _digits(found.group(0))[-10:] in kept:
                continue
            spans.append((found.start(), found.end(), kind))
    spans.sort(key=lambda span: (span[0], -span[1]))
    parts: list[str] = []
    kinds: set[str] = set()
    end = 0
    for start, stop, kind in spans:
        if start < end:
            continue
        parts.append(text[end:start])
        parts.append(REMOVED)
        kinds.add(kind)
        end = stop
    parts.append(text[end:])
    scrubbed = "".join(parts)
    if known is not None:
        pieces = scrubbed.split(REMOVED)
        cleaned = [_unknown_out(piece, known) for piece in pieces]
        scrubbed = REMOVED.join(piece for piece, _ in cleaned)
        if any(replaced for _, replaced in cleaned):
            kinds.add("unknown")
    return Scrubbed(text=scrubbed, kinds=frozenset(kinds))
