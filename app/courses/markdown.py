"""Safe Markdown rendering for course pages: no author HTML, allow-listed links, citations.

The output may contain only markup that this module or markdown-it generates; everything the
author typed reaches the page escaped. Line numbers in `Rendered` are 1-based within `text`.
"""

from __future__ import annotations

import html
import re
from calendar import month_name
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import quote, unquote

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from mdit_py_plugins.container import container_plugin
from mdit_py_plugins.footnote import footnote_plugin

from app.studio.bibliography import BibEntry, ama_parts

CALLOUT_TITLES = {
    "note": "Note",
    "warning": "Warning",
    "pearl": "Clinical pearl",
    "legal": "Legal and regulatory",
}
_ALLOWED_SCHEMES = {"http", "https", "mailto"}
_SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Browsers drop tabs, newlines and leading controls from URLs, so "java\tscript:" is javascript:.
_INVISIBLE_RE = re.compile(
    r"[\x00-\x20\x7f-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f\u3000\ufeff]"
)
_CITATION_RE = re.compile(r"\[\s*@([\w:.+/\-]+)((?:\s*;\s*@[\w:.+/\-]+)*)\s*\]")
_CITATION_KEY_RE = re.compile(r"@([\w:.+/\-]+)")
_CALLOUT_PARAMS_RE = re.compile(r"^\s*[A-Za-z][\w-]*(\s|$)")
_WORD_RE = re.compile(r"[^\W_]+(?:['\u2019.\-][^\W_]+)*")
_REJECTED_LINK_RE = re.compile(r"\]\(|<[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>]*>")


@dataclass
class TocEntry:
    id: str
    title: str
    level: int


@dataclass
class Rendered:
    html: str
    toc: list[TocEntry]
    anchors: set[str]
    citations: list[str]  # keys in first-use order
    legal_dates: list[tuple[date, int]]  # (as-of date, source line) per legal callout
    links: list[tuple[str, int]]  # relative link targets as written ("02-next.md#x"), with line
    images: list[tuple[str, int]]  # image paths as written, with line
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message), all errors
    word_count: int = 0  # prose words: no code, markup, URLs or citation keys


def slugify(text: str) -> str:
    """Heading anchor rule from docs/authoring.md: lower-case, non-[a-z0-9] runs become one '-'."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def is_safe_href(url: str) -> bool:
    """True for http, https, mailto and relative targets; everything else is refused."""
    decoded = url
    # Decode until stable: an attacker can nest percent and entity encodings.
    for _ in range(5):
        step = html.unescape(unquote(decoded))
        if step == decoded:
            break
        decoded = step
    squashed = _INVISIBLE_RE.sub("", decoded).lower()
    if not squashed or "\\" in squashed or squashed.startswith("//"):
        # Protocol-relative and backslash forms leave the site; browsers read "\" as "/".
        return False
    match = _SCHEME_RE.match(squashed)
    if match:
        return match.group(1) in _ALLOWED_SCHEMES
    first_segment = re.split(r"[/?#]", squashed, maxsplit=1)[0]
    return ":" not in first_segment


def course_asset_path(target: str) -> str | None:
    """The decoded path of a relative target inside the course folder, or None if it escapes."""
    path = unquote(target).split("#", 1)[0].split("?", 1)[0]
    if not path or not is_safe_href(target) or _SCHEME_RE.match(path.lower()):
        return None
    if path.startswith("/") or any(segment in {"..", "."} for segment in path.split("/")):
        return None
    return path


def render_markdown(
    text: str,
    *,
    bibliography: Mapping[str, BibEntry] | None = None,
    module_urls: Mapping[str, str] | None = None,
    asset_base: str = "",
) -> Rendered:
    """Render module Markdown to safe HTML, collecting what the content checker needs.

    With a bibliography, unknown citation keys become problems; without one, citations are
    still numbered and listed, showing the bare key.
    """
    env: dict[str, Any] = {"asset_base": asset_base}
    tokens = _MD.parse(text, env)
    collector = _Collector(bibliography, module_urls or {}, asset_base)
    collector.walk(tokens)
    body = _MD.renderer.render(tokens, _MD.options, env)
    if collector.citations:
        body += _references_html(collector.citations, bibliography or {})
    collector.problems.sort(key=lambda problem: problem[0])
    return Rendered(
        html=body,
        toc=collector.toc,
        anchors=collector.anchors,
        citations=collector.citations,
        legal_dates=collector.legal_dates,
        links=collector.links,
        images=collector.images,
        problems=collector.problems,
        word_count=collector.word_count,
    )


class _Collector:
    """One pass over the token stream: anchors, numbering, link rewriting, problems."""

    def __init__(
        self,
        bibliography: Mapping[str, BibEntry] | None,
        module_urls: Mapping[str, str],
        asset_base: str,
    ) -> None:
        self.bibliography = bibliography
        self.module_urls = module_urls
        self.asset_base = asset_base
        self.toc: list[TocEntry] = []
        self.anchors: set[str] = set()
        self.heading_lines: dict[str, int] = {}
        self.citations: list[str] = []
        self.legal_dates: list[tuple[date, int]] = []
        self.links: list[tuple[str, int]] = []
        self.images: list[tuple[str, int]] = []
        self.problems: list[tuple[int, str]] = []
        self.word_count = 0

    def walk(self, tokens: Sequence[Token]) -> None:
        last_line = 1
        for index, token in enumerate(tokens):
            if token.map:
                last_line = token.map[0] + 1
            if token.type == "heading_open" and index + 1 < len(tokens):
                self._heading(token, tokens[index + 1], last_line)
            elif token.type == "container_callout_open":
                self._callout(token, last_line)
            elif token.type == "inline":
                self._inline(token, last_line)
        if self.citations:
            generated = {"references"} | {_ref_id(key) for key in self.citations}
            for anchor in sorted(generated & set(self.heading_lines)):
                self.problems.append(
                    (
                        self.heading_lines[anchor],
                        f"heading anchor '#{anchor}' clashes with the generated reference list",
                    )
                )
            self.anchors |= generated

    def _heading(self, token: Token, inline: Token, line: int) -> None:
        title = _plain_text(inline.children or [])
        anchor = slugify(title)
        if not anchor:
            self.problems.append(
                (line, f"heading '{title}' has no letters or digits for an anchor")
            )
            return
        if anchor in self.heading_lines:
            self.problems.append(
                (
                    line,
                    f"duplicate heading anchor '#{anchor}' "
                    f"(first used at line {self.heading_lines[anchor]})",
                )
            )
            return
        self.heading_lines[anchor] = line
        self.anchors.add(anchor)
        token.attrSet("id", anchor)
        level = int(token.tag[1])
        if level in (2, 3):
            self.toc.append(TocEntry(id=anchor, title=title, level=level))

    def _callout(self, token: Token, line: int) -> None:
        params = token.info.split()
        kind = params[0] if params else ""
        token.meta["kind"] = kind if kind in CALLOUT_TITLES else None
        if kind not in CALLOUT_TITLES:
            self.problems.append(
                (line, f"unknown callout '::: {kind}' (use note, warning, pearl or legal)")
            )
            return
        extra = params[1:]
        if kind == "legal":
            as_of = [param for param in extra if param.startswith("as-of=")]
            reviewed = [param for param in extra if param.startswith("reviewed=")]
            extra = [p for p in extra if not p.startswith(("as-of=", "reviewed="))]
            checked = self._legal_date(line, reviewed[0], "reviewed") if reviewed else None
            if not as_of:
                self.problems.append((line, "legal callout needs as-of=YYYY-MM-DD"))
            else:
                parsed = self._legal_date(line, as_of[0], "as-of")
                if parsed is not None:
                    token.meta["as_of"] = parsed
                    if checked is not None and checked < parsed:
                        self.problems.append((line, "reviewed= is earlier than as-of="))
                        checked = None
                    token.meta["reviewed"] = checked
                    # Staleness counts from the last time someone checked the statement.
                    self.legal_dates.append((checked or parsed, line))
        if extra:
            self.problems.append((line, f"unexpected '{' '.join(extra)}' after '::: {kind}'"))

    def _legal_date(self, line: int, param: str, name: str) -> date | None:
        parsed = _parse_as_of(param, name)
        if parsed is None:
            self.problems.append(
                (line, f"legal callout '{param}' is not a valid {name}=YYYY-MM-DD date")
            )
        return parsed

    def _inline(self, token: Token, line: int) -> None:
        for child in token.children or []:
            if child.type in ("softbreak", "hardbreak"):
                line += 1
            elif child.type == "text":
                self.word_count += len(_WORD_RE.findall(child.content))
                if _REJECTED_LINK_RE.search(child.content):
                    self.problems.append(
                        (
                            line,
                            "link or image not rendered: targets may only be http, https, mailto "
                            "or relative paths, with no spaces",
                        )
                    )
            elif child.type == "citation":
                self._citation(child, line)
                line += int(child.meta.get("newlines", 0))
            elif child.type == "link_open":
                self._link(child, line)
            elif child.type == "image":
                self._image(child, line)

    def _citation(self, token: Token, line: int) -> None:
        numbers: dict[int, str] = {}
        for key in token.meta["keys"]:
            if key not in self.citations:
                self.citations.append(key)
                if self.bibliography is not None and key not in self.bibliography:
                    self.problems.append((line, _unknown_key_message(key, self.bibliography)))
            numbers[self.citations.index(key) + 1] = key
        token.meta["numbers"] = sorted(numbers.items())

    def _link(self, token: Token, line: int) -> None:
        href = str(token.attrGet("href") or "")
        if token.markup == "autolink" or _SCHEME_RE.match(href.lower()):
            return
        self.links.append((unquote(href), line))
        path, hash_mark, anchor = href.partition("#")
        if not path:
            return
        if path.endswith(".md"):
            url = self.module_urls.get(unquote(path))
            if url is not None:
                token.attrSet("href", url + hash_mark + anchor)
        elif not path.startswith("/"):
            token.attrSet("href", self.asset_base + href)

    def _image(self, token: Token, line: int) -> None:
        src = str(token.attrGet("src") or "")
        self.images.append((unquote(src), line))
        alt = _plain_text(token.children or [])
        token.meta["alt"] = alt
        if course_asset_path(src) is None:
            self.problems.append(
                (line, f"image '{unquote(src)}' must be a relative path inside the course folder")
            )
        else:
            token.meta["src"] = self.asset_base + src
        if not alt.strip():
            self.problems.append((line, f"image '{unquote(src)}' has no alt text"))


def _plain_text(children: Sequence[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(_plain_text(child.children or []))
    return "".join(parts).strip()


def _parse_as_of(param: str, name: str = "as-of") -> date | None:
    match = re.fullmatch(rf"{name}=(\d{{4}}-\d{{2}}-\d{{2}})", param)
    if not match:
        return None
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _unknown_key_message(key: str, bibliography: Mapping[str, BibEntry]) -> str:
    similar = [known for known in bibliography if known.lower() == key.lower()]
    hint = f" (did you mean '{similar[0]}'?)" if similar else ""
    return f"unknown citation key '@{key}': not in references.bib{hint}"


def _ref_id(key: str) -> str:
    return "ref-" + slugify(key)


def _human_date(value: date) -> str:
    return f"{month_name[value.month]} {value.day}, {value.year}"


# --- markdown-it setup -------------------------------------------------------------------------


class _SafeMarkdownIt(MarkdownIt):
    # markdown-it's default only blocks a few schemes; an allow-list fails closed.
    def validateLink(self, url: str) -> bool:
        return is_safe_href(url)


def _citation_rule(state: StateInline, silent: bool) -> bool:
    if state.src[state.pos] != "[":
        return False
    match = _CITATION_RE.match(state.src, state.pos)
    if match is None or match.end() > state.posMax:
        return False
    if not silent:
        token = state.push("citation", "sup", 0)
        token.meta = {
            "keys": _CITATION_KEY_RE.findall(match.group(0)),
            "newlines": match.group(0).count("\n"),
        }
        token.markup = match.group(0)
    state.pos = match.end()
    return True


def _render_citation(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    numbers: list[tuple[int, str]] = tokens[idx].meta.get("numbers", [])
    if len(numbers) == 1:
        number, key = numbers[0]
        return f'<sup class="cite"><a href="#{_ref_id(key)}">[{number}]</a></sup>'
    links = ",".join(f'<a href="#{_ref_id(key)}">{number}</a>' for number, key in numbers)
    return f'<sup class="cite">[{links}]</sup>'


def _render_image(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = escapeHtml(str(token.meta.get("alt", "")))
    src = token.meta.get("src")
    if src is None:
        return alt  # an unsafe source is dropped; the checker reports it
    title = token.attrGet("title")
    title_attr = f' title="{escapeHtml(str(title))}"' if title else ""
    return f'<img src="{escapeHtml(str(src))}" alt="{alt}"{title_attr} loading="lazy">'


def _render_callout(
    self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    if token.nesting == -1:
        return "</aside>\n"
    kind: str | None = token.meta.get("kind")
    label = CALLOUT_TITLES.get(kind or "note", "Note")
    css = f"callout callout-{kind}" if kind else "callout"
    title = label
    if kind == "legal":
        as_of: date | None = token.meta.get("as_of")
        reviewed: date | None = token.meta.get("reviewed")
        when = f"Current as of {_human_date(as_of)}" if as_of else "Legal"
        if as_of and reviewed and reviewed != as_of:
            when += f" (checked {_human_date(reviewed)})"
        title = f"{when}: check your state's current rules"
    return (
        f'<aside class="{css}" role="note" aria-label="{escapeHtml(label)}">\n'
        f'<p class="callout-title">{escapeHtml(title)}</p>\n'
    )


def _always_callout(params: str, markup: str) -> bool:
    # One container rule for every name, so unknown names are reported rather than shown as text.
    return bool(_CALLOUT_PARAMS_RE.match(params))


def _references_html(keys: Sequence[str], bibliography: Mapping[str, BibEntry]) -> str:
    items: list[str] = []
    for key in keys:
        entry = bibliography.get(key)
        if entry is None:
            body = f"{escapeHtml(key)} (reference not found)"
        else:
            body = _reference_item(entry)
        items.append(f'<li id="{_ref_id(key)}">{body}</li>')
    return (
        '<section class="references" aria-labelledby="references">\n'
        '<h2 id="references">References</h2>\n<ol>\n' + "\n".join(items) + "\n</ol>\n</section>\n"
    )


def _reference_item(entry: BibEntry) -> str:
    parts = ama_parts(entry)
    out = escapeHtml(parts.text)
    if parts.doi:
        href = "https://doi.org/" + quote(parts.doi, safe="/:;()._-")
        out += f' doi:<a href="{escapeHtml(href)}">{escapeHtml(parts.doi)}</a>'
    if parts.pmid:
        if parts.pmid.isdigit():
            href = f"https://pubmed.ncbi.nlm.nih.gov/{parts.pmid}/"
            out += f' PMID: <a href="{href}">{parts.pmid}</a>'
        else:
            out += f" PMID: {escapeHtml(parts.pmid)}"
    if parts.url:
        if re.match(r"https?://", parts.url, re.IGNORECASE) and is_safe_href(parts.url):
            safe_url = escapeHtml(parts.url)
            out += f' <a href="{safe_url}">{safe_url}</a>'
        else:
            out += f" {escapeHtml(parts.url)}"
    return out


def _build() -> MarkdownIt:
    md = _SafeMarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    md.use(container_plugin, name="callout", validate=_always_callout, render=_render_callout)
    md.inline.ruler.before("link", "citation", _citation_rule)
    md.add_render_rule("citation", _render_citation)
    md.add_render_rule("image", _render_image)
    return md


_MD = _build()
