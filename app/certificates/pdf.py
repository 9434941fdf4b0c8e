"""Printable certificate PDFs that carry their own signed token, and checks of such files.

The layout is content, not code: a YAML file in the top-level ``certificates/`` folder whose text
snippets are Jinja templates, rendered here in an autoescaping sandbox so that no learner or
course name can inject layout markup. The PDF embeds the certificate token as a file attachment,
so the file alone can be verified offline (``check_pdf``), and shows a QR code to the verify URL.
"""

import html
import importlib.util
import io
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import segno
import yaml
from fontTools.ttLib import TTFont as TTFontFile  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import TTFFont
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pypdf import PdfReader
from pypdf.errors import PyPdfError

from app.certificates.codes import ALPHABET
from app.certificates.signing import Verification, verify_token

TOKEN_ATTACHMENT = "certificate.jwt"  # noqa: S105 - a file name, not a secret
DEFAULT_LAYOUT = "default"
Paper = Literal["A4", "Letter"]
_PAPERS = ("A4", "Letter")
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_CAN_SHAPE = importlib.util.find_spec("uharfbuzz") is not None
_CODE_RE = re.compile(rf"(?<![A-Z0-9])[A-Z]{{2,8}}-[{ALPHABET}]{{4}}-[{ALPHABET}]{{4}}(?![A-Z0-9])")


class TemplateError(ValueError):
    """The certificate layout file is missing or malformed."""


@dataclass(frozen=True)
class CertificateView:
    learner_name: str
    profession: str
    license_state: str
    course_title: str
    content_version: str
    ce_hours: float
    delivery_format: str
    instructional_level: str
    completion_date: date
    provider_name: str
    accreditation_statements: list[str]
    code: str
    issued_at: date
    expires_at: date | None
    verify_url: str


def format_hours(hours: float) -> str:
    """CE hours as printed and as checked: 1.0 -> "1", 1.50 -> "1.5", 0.25 -> "0.25"."""
    text = f"{float(hours):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def format_long_date(value: date) -> str:
    # US CE boards expect month-name dates; a month name also avoids 03/04 vs 04/03 confusion.
    return f"{value:%B} {value.day}, {value.year}"


@lru_cache(maxsize=1)
def _jinja() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    env.filters["hours"] = format_hours
    env.filters["longdate"] = format_long_date
    return env


def _render_snippet(source: str, context: Mapping[str, Any]) -> list[str]:
    """Lines of plain text from one snippet: escaped values, <br> splits, entities decoded."""
    rendered = str(_jinja().from_string(source).render(**context))
    lines = []
    for part in _BR_RE.split(rendered):
        # Values were escaped, so any tag left here came from the layout itself: drop it.
        text = html.unescape(_TAG_RE.sub("", part))
        lines.append(" ".join(text.split()))
    return [line for line in lines if line]


def _load_layout(template_dir: Path, layout: str) -> dict[str, Any]:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", layout):
        raise TemplateError(f"bad layout name {layout!r}")
    path = template_dir / f"{layout}.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateError(f"cannot read certificate layout {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("blocks"), list):
        raise TemplateError(f"certificate layout {path} has no list of blocks")
    return data


def _inside(template_dir: Path, relative: str) -> Path:
    path = (template_dir / relative).resolve()
    if not path.is_relative_to(template_dir.resolve()) or not path.is_file():
        raise TemplateError(f"font {relative!r} is not a file inside {template_dir}")
    return path


def _rgb(value: Any, default: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, int, int]:
    if isinstance(value, list | tuple) and len(value) == 3:
        return (int(value[0]), int(value[1]), int(value[2]))
    return default


class _Certificate(FPDF):
    """FPDF with the layout's fonts; fallback fonts are added only when a text needs them."""

    def __init__(self, paper: str, template_dir: Path, fonts: Mapping[str, Any]) -> None:
        super().__init__(orientation="landscape", unit="mm", format=paper.lower())
        self.body_family = str(fonts.get("family", "Body"))
        self.add_font(self.body_family, "", _inside(template_dir, fonts["regular"]))
        self.add_font(
            self.body_family, "B", _inside(template_dir, fonts.get("bold", fonts["regular"]))
        )
        if _CAN_SHAPE:
            # Shaping (HarfBuzz) joins Arabic letters and puts right-to-left names in reading
            # order; without it such names print reversed and unjoined.
            self.set_text_shaping(True)
        self._fallback_paths = [_inside(template_dir, f) for f in fonts.get("fallback") or []]
        self._fallback_names: list[str] = []
        self._known = self._cmap(self.body_family.lower()) & self._cmap(
            self.body_family.lower() + "B"
        )

    def _cmap(self, fontkey: str) -> set[int]:
        font = self.fonts[fontkey]
        return set(font.cmap) if isinstance(font, TTFFont) else set()

    def need_glyphs(self, text: str) -> None:
        missing = {ord(ch) for ch in text if not ch.isspace()} - self._known
        if not missing:
            return
        for index, path in enumerate(self._fallback_paths):
            name = f"fallback{index}"
            if name in self._fallback_names or not missing & _font_cmap(path):
                continue
            self.add_font(name, "", path)
            self._fallback_names.append(name)
            missing -= _font_cmap(path)
        # exact_match=False: the fallback fonts have no bold, and a regular glyph beats none.
        self.set_fallback_fonts(self._fallback_names, exact_match=False)
        self._known |= missing  # what no font covers is not looked up again


@lru_cache(maxsize=64)
def _font_cmap(path: Path) -> frozenset[int]:
    """Code points a font file has glyphs for (read once per process: some fonts are large)."""
    with TTFontFile(path, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _area(block: Mapping[str, Any], pdf: _Certificate, margin: float) -> tuple[float, float]:
    x = float(block.get("x", margin))
    if x < 0:
        x = pdf.w + x
    width = block.get("w")
    right = pdf.w - margin if width is None else (pdf.w + float(width) if width <= 0 else x + width)
    return x, max(right - x, 10.0)


def _draw_block(
    pdf: _Certificate, block: Mapping[str, Any], lines: list[str], margin: float
) -> None:
    x, width = _area(block, pdf, margin)
    style = "B" if block.get("bold") else ""
    size = float(block.get("size", 11))
    pdf.need_glyphs("".join(lines))
    pdf.set_font(pdf.body_family, style, size)
    if block.get("fit") == "shrink":
        min_size = float(block.get("min_size", 10))
        while size > min_size and max(pdf.get_string_width(line) for line in lines) > width:
            size = max(min_size, size - 0.5)
            pdf.set_font(pdf.body_family, style, size)
    pdf.set_text_color(*_rgb(block.get("color")))
    y = block.get("y")
    if y is not None:
        pdf.set_y(pdf.h + float(y) if float(y) < 0 else float(y))
    else:
        pdf.set_y(pdf.get_y() + float(block.get("space_before", 0)))
    line_height = size * 0.3528 * float(block.get("line_height", 1.3))
    align = str(block.get("align", "C"))
    for line in lines:
        pdf.set_x(x)
        pdf.multi_cell(width, line_height, line, align=align, new_x="LMARGIN", new_y="NEXT")


def _draw_frame(pdf: _Certificate, frame: Mapping[str, Any]) -> None:
    pdf.set_draw_color(*_rgb(frame.get("color")))
    for inset_key, width_key in (("inset", "width"), ("inner_inset", "inner_width")):
        if inset_key not in frame:
            continue
        inset = float(frame[inset_key])
        pdf.set_line_width(float(frame.get(width_key, 0.5)))
        pdf.rect(inset, inset, pdf.w - 2 * inset, pdf.h - 2 * inset)


def _draw_qr(pdf: _Certificate, qr: Mapping[str, Any], context: Mapping[str, Any]) -> None:
    data = " ".join(_render_snippet(str(qr.get("data", "{{ verify_url }}")), context))
    if not data:
        return
    size = float(qr.get("size", 30))
    x = pdf.w - float(qr.get("right", 15)) - size
    y = pdf.h - float(qr.get("bottom", 15)) - size
    # Error level M survives a crease or a coffee ring; a 4-module quiet zone is the standard.
    png = io.BytesIO()
    segno.make(data, error="m", micro=False).save(png, kind="png", scale=8, border=4)
    png.seek(0)
    pdf.image(png, x=x, y=y, w=size, h=size)
    caption = " ".join(_render_snippet(str(qr.get("caption", "")), context))
    if caption:
        pdf.set_font(pdf.body_family, "", float(qr.get("caption_size", 7)))
        pdf.set_text_color(90, 90, 90)
        pdf.set_xy(x, y + size - 1)
        pdf.cell(size, 3, caption, align="C")


def render_certificate_pdf(
    view: CertificateView,
    *,
    token: str,
    template_dir: Path,
    layout: str = DEFAULT_LAYOUT,
    paper: Paper | None = None,
) -> bytes:
    """A one-page landscape certificate, QR code and token attached; raises TemplateError."""
    spec = _load_layout(template_dir, layout)
    page = spec.get("page") or {}
    chosen = paper or str(page.get("format", "A4"))
    if chosen not in _PAPERS:
        raise TemplateError(f"unknown paper format {chosen!r}: use A4 or Letter")
    pdf = _Certificate(chosen, template_dir, spec.get("fonts") or {})
    margin = float(page.get("margin", 18))
    pdf.set_margins(margin, margin, margin)
    # The page is laid out absolutely; an automatic page break would split a certificate.
    pdf.set_auto_page_break(auto=False)
    pdf.set_title(f"Certificate of completion {view.code}")
    pdf.set_subject(view.course_title)
    pdf.set_author(view.provider_name)
    pdf.set_creator("clinician-ce")
    # A fixed creation date keeps re-rendering the same certificate byte-stable.
    issued = datetime(view.issued_at.year, view.issued_at.month, view.issued_at.day, tzinfo=UTC)
    pdf.set_creation_date(issued)
    pdf.add_page()

    context = asdict(view)
    _draw_frame(pdf, spec.get("frame") or {})
    pdf.set_y(margin)
    for block in spec["blocks"]:
        if not isinstance(block, dict) or "text" not in block:
            raise TemplateError("every layout block needs a text")
        lines = _render_snippet(str(block["text"]), context)
        if lines:
            _draw_block(pdf, block, lines, margin)
    if spec.get("qr"):
        _draw_qr(pdf, spec["qr"], context)

    pdf.embed_file(
        bytes=token.encode("ascii"),
        basename=TOKEN_ATTACHMENT,
        desc="Signed Open Badges 3.0 credential (VC-JWT); verify with the issuer's JWKS",
        mime_type="application/jwt",
        modification_date=issued,
        creation_date=issued,
    )
    return bytes(pdf.output())


def _reader(pdf_bytes: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf_bytes), strict=False)


def extract_token(pdf_bytes: bytes) -> str | None:
    """The certificate token attached to the PDF, or None if absent or unreadable."""
    try:
        attachments = _reader(pdf_bytes).attachments
        contents = attachments.get(TOKEN_ATTACHMENT) or []
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, OSError):
        return None
    # Two attachments of the same name would let an editor choose which one a verifier sees.
    if len(contents) != 1:
        return None
    try:
        token = contents[0].decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return token or None


def visible_text(pdf_bytes: bytes) -> str:
    """All page text as a reader would extract it (raises ValueError if not a readable PDF)."""
    try:
        reader = _reader(pdf_bytes)
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    except (PyPdfError, TypeError, KeyError, AttributeError, OSError) as exc:
        raise ValueError("not a readable PDF") from exc


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _shows(haystack: str, needle: str) -> bool:
    """Whether the text shows ``needle``, tolerating line wraps inside it."""
    wanted = _normalized(needle)
    if not wanted:
        return False
    if wanted in haystack:
        return True
    # A long title may wrap mid-word; compare with all whitespace removed as a second chance.
    return "".join(wanted.split()) in "".join(haystack.split())


def _shows_hours(haystack: str, hours: str) -> bool:
    # Every "N CE hours" on the page must be the signed figure: a forger who adds a second,
    # larger figure beside the genuine one is caught too.
    shown = re.findall(r"(?<![\d.])(\d+(?:\.\d+)?)\s*CE\s+hours?\b", haystack)
    return bool(shown) and all(format_hours(float(value)) == hours for value in shown)


def _shows_code(haystack: str, code: str) -> bool:
    # Likewise every certificate code printed on the page must be the signed one.
    shown = _CODE_RE.findall(haystack)
    return bool(shown) and all(value == code for value in shown)


def _signed_fields(credential: Mapping[str, Any]) -> dict[str, str]:
    subject = credential.get("credentialSubject") or {}
    achievement = subject.get("achievement") or {}
    identifier = str(credential.get("id", ""))
    return {
        "learner name": str(subject.get("name", "")),
        "course title": str(achievement.get("name", "")),
        "certificate code": identifier.rsplit("/verify/", 1)[-1]
        if "/verify/" in identifier
        else "",
        "CE hours": format_hours(float(subject.get("creditsEarned", -1))),
    }


def check_pdf(pdf_bytes: bytes, jwks: Mapping[str, Any], *, now: datetime) -> Verification:
    """Verify a certificate file alone: its token's signature and that the page shows it."""
    try:
        text = _normalized(visible_text(pdf_bytes))
    except ValueError:
        return Verification(False, "file is not a readable PDF")
    token = extract_token(pdf_bytes)
    if token is None:
        return Verification(False, "the PDF carries no certificate token")
    result = verify_token(token, jwks, now=now)
    if result.credential is None:
        return result
    checks: list[tuple[str, str, Callable[[str, str], bool]]] = []
    try:
        checkers = {"CE hours": _shows_hours, "certificate code": _shows_code}
        for label, value in _signed_fields(result.credential).items():
            checks.append((label, value, checkers.get(label, _shows)))
    except (TypeError, ValueError, AttributeError):
        return Verification(False, "the signed credential lacks the printed fields", kid=result.kid)
    for label, value, check in checks:
        if not value or not check(text, value):
            return Verification(
                False,
                f"the printed page does not show the signed {label}",
                result.credential,
                result.kid,
                result.expired,
            )
    return result
