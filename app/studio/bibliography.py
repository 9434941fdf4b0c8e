"""BibTeX loading (bibtexparser 1.x) and AMA-like formatting of reference entries."""

from __future__ import annotations

import logging
import re
from calendar import month_name
from dataclasses import dataclass

import bibtexparser
from bibtexparser.bparser import BibTexParser
from bibtexparser.customization import convert_to_unicode

# Entry-like blocks that are not references.
_NON_ENTRIES = {"comment", "string", "preamble"}
_ENTRY_START_RE = re.compile(r"@\s*([A-Za-z]+)\s*[{(]\s*([^,\s{}()]*)\s*,?")
_DOI_PREFIX_RE = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_MAX_AUTHORS = 6  # AMA: list all up to 6; above that, the first 3 then "et al"


@dataclass
class BibEntry:
    """One bibliography entry: lower-case field names, raw values; the entry type is "ENTRYTYPE"."""

    key: str
    fields: dict[str, str]
    line: int


@dataclass(frozen=True)
class AmaParts:
    """An AMA reference split so a renderer can link the identifiers: text, then doi/pmid/url."""

    text: str
    doi: str
    pmid: str
    url: str


def parse_bibtex(text: str) -> tuple[dict[str, BibEntry], list[tuple[int, str]]]:
    """Parse BibTeX text into entries by key; every problem comes back as (line, message)."""
    problems: list[tuple[int, str]] = []
    starts: list[tuple[str, int]] = []
    for match in _ENTRY_START_RE.finditer(text):
        if match.group(1).lower() in _NON_ENTRIES:
            continue
        line = text.count("\n", 0, match.start()) + 1
        if not match.group(2):
            problems.append((line, "entry has no citation key"))
            continue
        starts.append((match.group(2), line))

    lines: dict[str, int] = {}
    for key, line in starts:
        if key in lines:
            problems.append((line, f"duplicate entry key '{key}' (first at line {lines[key]})"))
        else:
            lines[key] = line

    parser = BibTexParser(common_strings=True, ignore_nonstandard_types=False)
    # bibtexparser logs and skips malformed entries; we report them ourselves below.
    bib_logger = logging.getLogger("bibtexparser")
    previous_level = bib_logger.level
    bib_logger.setLevel(logging.CRITICAL)
    try:
        database = bibtexparser.loads(text, parser=parser)
        raw_entries: list[dict[str, str]] = list(database.entries)
    except Exception as exc:  # bibtexparser raises assorted pyparsing errors on bad input
        return {}, [*problems, (1, f"could not parse the bibliography: {exc}")]
    finally:
        bib_logger.setLevel(previous_level)

    entries: dict[str, BibEntry] = {}
    for raw in raw_entries:
        key = raw.get("ID", "")
        if key in entries:
            continue  # reported above as a duplicate; the first one wins
        fields = {name: value for name, value in raw.items() if name != "ID"}
        entry = BibEntry(key=key, fields=fields, line=lines.get(key, 1))
        entries[key] = entry
        if not _clean(fields.get("title", "")):
            problems.append((entry.line, f"entry '{key}' has no title"))
        if not any(_clean(fields.get(name, "")) for name in ("doi", "pmid", "url")):
            problems.append((entry.line, f"entry '{key}' has no doi, pmid or url"))
    for key, line in lines.items():
        if key not in entries:
            problems.append((line, f"could not parse entry '{key}' (check braces, commas, quotes)"))
    problems.sort()
    return entries, problems


def format_ama(entry: BibEntry) -> str:
    """Plain-text AMA-like reference: Authors. Title. Journal. Year;Vol(No):pages. doi:..."""
    parts = ama_parts(entry)
    text = parts.text
    if parts.doi:
        text += f" doi:{parts.doi}"
    if parts.pmid:
        text += f" PMID: {parts.pmid}"
    if parts.url:
        text += f" {parts.url}"
    return text


def ama_parts(entry: BibEntry) -> AmaParts:
    """The AMA text without identifiers, plus the doi, pmid and url (url only when no doi)."""
    fields = {name: _clean(value) for name, value in _unicode_fields(entry).items()}
    get = fields.get
    kind = entry.fields.get("ENTRYTYPE", "misc").lower()
    year = get("year") or (get("date") or "")[:4]
    pieces: list[str] = []

    authors = _format_people(entry.fields.get("author", ""))
    if authors:
        pieces.append(authors)
    if get("title"):
        pieces.append(get("title", ""))

    if kind == "article":
        if get("journal") or get("journaltitle"):
            pieces.append(get("journal") or get("journaltitle", ""))
        pieces.append(_year_volume_pages(year, get("volume"), get("number"), get("pages")))
    elif kind in {"book", "booklet"}:
        if get("edition"):
            pieces.append(_edition(get("edition", "")))
        pieces.append(_publisher_year(get("publisher") or get("organization"), year))
    elif kind in {"incollection", "inbook", "inproceedings", "conference"}:
        editors = _format_people(entry.fields.get("editor", ""))
        container = get("booktitle", "")
        if editors:
            container = f"In: {editors}, eds. {container}".strip()
        elif container:
            container = f"In: {container}"
        if container:
            pieces.append(container)
        where = _publisher_year(get("publisher") or get("organization"), year)
        if get("pages"):
            where = f"{where}:{get('pages')}" if where else get("pages", "")
        pieces.append(where)
    else:
        publisher = (
            get("institution")
            or get("organization")
            or get("publisher")
            or get("howpublished")
            or get("journal")
        )
        if publisher:
            pieces.append(publisher)
        if get("number") and kind in {"techreport", "report"}:
            pieces.append(f"Report {get('number')}")
        published = _published(get("month"), get("day"), year)
        if published:
            pieces.append(published)
    if get("note"):
        pieces.append(get("note", ""))
    if get("urldate") and get("url") and not get("doi"):
        pieces.append(f"Accessed {_human_date(get('urldate', ''))}")

    text = " ".join(_end_with_period(piece) for piece in pieces if piece)
    doi = _DOI_PREFIX_RE.sub("", get("doi", ""))
    url = "" if doi else get("url", "")
    return AmaParts(text=text, doi=doi, pmid=get("pmid", ""), url=url)


def _unicode_fields(entry: BibEntry) -> dict[str, str]:
    record: dict[str, str] = dict(entry.fields)
    try:
        converted: dict[str, str] = convert_to_unicode(record)
    except Exception:  # a malformed LaTeX escape should not hide the reference
        return dict(entry.fields)
    return converted


def _clean(value: str) -> str:
    """LaTeX leftovers out: braces protect case in BibTeX and mean nothing to a reader."""
    value = value.replace("\\&", "&").replace("\\%", "%").replace("\\_", "_")
    value = value.replace("---", "\u2014").replace("--", "-").replace("~", " ")
    value = re.sub(r"\\[a-zA-Z]+\s*", "", value)
    value = value.replace("{", "").replace("}", "")
    return " ".join(value.split())


def _split_people(value: str) -> list[str]:
    """Split on " and " outside braces, so "{Food and Drug Administration}" stays whole."""
    people: list[str] = []
    depth = 0
    current: list[str] = []
    for piece in re.split(r"(\s+and\s+|[{}])", value):
        if piece == "{":
            depth += 1
        elif piece == "}":
            depth -= 1
        elif depth == 0 and re.fullmatch(r"\s+and\s+", piece or ""):
            people.append("".join(current))
            current = []
            continue
        current.append(piece)
    people.append("".join(current))
    return [person.strip() for person in people if person.strip()]


def _format_person(raw: str) -> str:
    if raw.startswith("{") and raw.endswith("}") and raw.count("{") == 1:
        return _clean(raw)  # a corporate author, kept verbatim
    name = _clean(convert_to_unicode({"n": raw})["n"])
    if "," in name:
        parts = [part.strip() for part in name.split(",")]
        last, given = parts[0], parts[-1] if len(parts) > 1 else ""
        suffix = parts[1] if len(parts) == 3 else ""
    else:
        words = name.split()
        # "von" particles are lower-case words before the last name.
        split = len(words) - 1
        while split > 0 and words[split - 1][:1].islower():
            split -= 1
        last, given, suffix = " ".join(words[split:]), " ".join(words[:split]), ""
    initials = "".join(
        piece[0].upper() for word in given.split() for piece in word.split("-") if piece
    )
    formatted = f"{last} {initials}".strip()
    return f"{formatted} {suffix}".strip() if suffix else formatted


def _format_people(value: str) -> str:
    people = _split_people(value)
    if not people:
        return ""
    has_others = people[-1].lower() == "others"
    if has_others:
        people = people[:-1]
    names = [_format_person(person) for person in people]
    if len(names) > _MAX_AUTHORS or has_others:
        return ", ".join(names[:3]) + ", et al"
    return ", ".join(names)


def _year_volume_pages(year: str, volume: str | None, number: str | None, pages: str | None) -> str:
    text = year
    if volume:
        text += f";{volume}"
    if number:
        text += f"({number})"
    if pages:
        text += f":{pages}"
    return text


def _publisher_year(publisher: str | None, year: str) -> str:
    if publisher and year:
        return f"{publisher}; {year}"
    return publisher or year


def _edition(edition: str) -> str:
    if edition.isdigit():
        number = int(edition)
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(
            number % 10 if number % 100 not in {11, 12, 13} else 0, "th"
        )
        return f"{number}{suffix} ed"
    return edition if "ed" in edition.lower() else f"{edition} ed"


def _published(month: str | None, day: str | None, year: str) -> str:
    if not year:
        return ""
    if month and day:
        return f"Published {month} {day}, {year}"
    if month:
        return f"Published {month} {year}"
    return year


def _human_date(value: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return value
    year, month, day = match.groups()
    return f"{month_name[int(month)]} {int(day)}, {year}"


def _end_with_period(piece: str) -> str:
    piece = piece.strip()
    return piece if piece.endswith((".", "?", "!")) else f"{piece}."
