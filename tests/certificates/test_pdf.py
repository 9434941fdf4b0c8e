import io
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import segno
import zxingcpp
from pypdf import PdfReader, PdfWriter

from app.certificates.keys import KeyStore, SigningKey
from app.certificates.pdf import (
    CertificateView,
    TemplateError,
    check_pdf,
    extract_token,
    format_hours,
    render_certificate_pdf,
    visible_text,
)
from app.certificates.signing import sign_credential
from tests.certificates import BASE_URL, CODE, NON_LATIN_NAME, NOW, make_credential

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "certificates"
COURSE = "Safe Opioid Prescribing in Primary Care"
VERIFY_URL = f"{BASE_URL}/verify/{CODE}"


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return KeyStore(tmp_path_factory.mktemp("keys")).ensure()


@pytest.fixture(scope="module")
def jwks(key: SigningKey) -> dict[str, Any]:
    return {"keys": [KeyStore(Path("unused")).public_jwk(key, BASE_URL)]}


def make_token(key: SigningKey, **overrides: Any) -> str:
    return sign_credential(make_credential(**overrides), key, base_url=BASE_URL, issued_at=NOW)


def make_view(**overrides: Any) -> CertificateView:
    view = CertificateView(
        learner_name=NON_LATIN_NAME,
        profession="Registered Nurse",
        license_state="CA",
        course_title=COURSE,
        content_version="3",
        ce_hours=2.5,
        delivery_format="Online, self-paced",
        instructional_level="Intermediate",
        completion_date=date(2025, 3, 1),
        provider_name="Kestrel Continuing Education",
        accreditation_statements=[
            "Kestrel Continuing Education is approved by the California Board of Registered "
            "Nursing, Provider Number CEP 00000, for 2.5 contact hours.",
            "This activity was planned and implemented in accordance with the accreditation "
            "requirements of the example accrediting body.",
        ],
        code=CODE,
        issued_at=date(2025, 3, 1),
        expires_at=date(2027, 3, 1),
        verify_url=VERIFY_URL,
    )
    return replace(view, **overrides)


@pytest.fixture(scope="module")
def token(key: SigningKey) -> str:
    # ECDSA signatures are randomised: sign once and reuse the token.
    return make_token(key)


@pytest.fixture(scope="module")
def pdf(token: str) -> bytes:
    return render_certificate_pdf(make_view(), token=token, template_dir=TEMPLATE_DIR)


def test_pdf_is_one_landscape_a4_page_by_default(pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)


def test_letter_paper_is_available(key: SigningKey, jwks: dict[str, Any]) -> None:
    letter = render_certificate_pdf(
        make_view(), token=make_token(key), template_dir=TEMPLATE_DIR, paper="Letter"
    )
    box = PdfReader(io.BytesIO(letter)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (792, 612)
    assert check_pdf(letter, jwks, now=NOW).valid


def test_qr_code_decodes_to_the_verify_url(pdf: bytes) -> None:
    images = PdfReader(io.BytesIO(pdf)).pages[0].images
    assert len(images) == 1
    decoded = zxingcpp.read_barcodes(images[0].image)
    assert [(r.text, r.format) for r in decoded] == [(VERIFY_URL, zxingcpp.BarcodeFormat.QRCode)]


def test_qr_image_is_exactly_segnos_matrix_for_the_verify_url(pdf: bytes) -> None:
    # Independent of the decoder: the embedded pixels are the symbol segno makes for the URL.
    image = PdfReader(io.BytesIO(pdf)).pages[0].images[0].image.convert("1")
    symbol = segno.make(VERIFY_URL, error="m", micro=False)
    rows = list(symbol.matrix_iter(scale=8, border=4))
    assert image.size == (len(rows[0]), len(rows))
    pixels = image.load()
    dark = {(x, y) for y, row in enumerate(rows) for x, bit in enumerate(row) if bit}
    assert all(
        (pixels[x, y] == 0) == ((x, y) in dark)
        for y in range(len(rows))
        for x in range(len(rows[0]))
    )


def test_visible_text_names_learner_course_code_and_hours(pdf: bytes) -> None:
    text = " ".join(visible_text(pdf).split())
    assert NON_LATIN_NAME in text
    assert COURSE in text
    assert CODE in text
    assert "2.5 CE hours" in text
    assert "Registered Nurse" in text
    assert "March 1, 2025" in text
    assert VERIFY_URL in text


def test_names_in_cjk_print_through_the_fallback_font(
    key: SigningKey, jwks: dict[str, Any]
) -> None:
    name = "王小明 김민준 さくら Ἀλέξανδρος"
    pdf = render_certificate_pdf(
        make_view(learner_name=name),
        token=make_token(key, learner_name=name),
        template_dir=TEMPLATE_DIR,
    )
    assert name in visible_text(pdf)
    assert check_pdf(pdf, jwks, now=NOW).valid


@pytest.mark.parametrize(
    "name",
    [
        "محمد علي الحسن",  # Arabic: joined and right-to-left
        "דוד כהן",  # Hebrew
        "देवनागरी नाम",  # Devanagari
        "สมชาย ใจดี",  # Thai
        "ሰላም ታደሰ",  # Ethiopic
        "Dr. Nguyễn Thị Hằng",  # Vietnamese
    ],
)
def test_names_in_shaped_scripts_print_and_verify(
    key: SigningKey, jwks: dict[str, Any], name: str
) -> None:
    pytest.importorskip("uharfbuzz", reason="complex scripts need fpdf2 text shaping")
    pdf = render_certificate_pdf(
        make_view(learner_name=name),
        token=make_token(key, learner_name=name),
        template_dir=TEMPLATE_DIR,
    )
    assert name in visible_text(pdf)
    assert check_pdf(pdf, jwks, now=NOW).valid


def test_token_is_attached_and_the_file_alone_verifies(
    pdf: bytes, token: str, jwks: dict[str, Any]
) -> None:
    assert extract_token(pdf) == token
    result = check_pdf(pdf, jwks, now=NOW)
    assert result.valid, result.reason
    assert result.credential is not None
    assert result.credential["credentialSubject"]["name"] == NON_LATIN_NAME


def test_rendering_is_deterministic_for_the_same_input(token: str, pdf: bytes) -> None:
    again = render_certificate_pdf(make_view(), token=token, template_dir=TEMPLATE_DIR)
    assert again == pdf


def test_markup_in_a_name_is_printed_literally_not_obeyed(
    key: SigningKey, jwks: dict[str, Any]
) -> None:
    name = "Ann <br> O'Neil & {{ 7 * 7 }}"
    pdf = render_certificate_pdf(
        make_view(learner_name=name),
        token=make_token(key, learner_name=name),
        template_dir=TEMPLATE_DIR,
    )
    assert name in visible_text(pdf).splitlines()
    assert check_pdf(pdf, jwks, now=NOW).valid


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            {"learner_name": "Mallory Impostor"},
            "the printed page does not show the signed learner name",
        ),
        (
            {"course_title": "Advanced Cardiac Life Support"},
            "the printed page does not show the signed course title",
        ),
        (
            {"code": "KAT-2222-3333", "verify_url": f"{BASE_URL}/verify/KAT-2222-3333"},
            "the printed page does not show the signed certificate code",
        ),
        ({"ce_hours": 25.0}, "the printed page does not show the signed CE hours"),
        (
            {"accreditation_statements": ["Also worth 40 CE hours."]},
            "the printed page does not show the signed CE hours",
        ),
    ],
)
def test_pdf_whose_printed_fields_were_edited_fails(
    token: str, jwks: dict[str, Any], edit: dict[str, Any], reason: str
) -> None:
    # A forger keeps the genuine token but changes what the page shows.
    forged = render_certificate_pdf(make_view(**edit), token=token, template_dir=TEMPLATE_DIR)
    result = check_pdf(forged, jwks, now=NOW)
    assert not result.valid
    assert result.reason == reason


def test_pdf_with_a_swapped_token_fails(pdf: bytes, key: SigningKey, jwks: dict[str, Any]) -> None:
    # Someone else's genuine token, put into this certificate's file in place.
    other = make_token(key, learner_name="Someone Else", code="KAT-2222-3333")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    (attachment,) = list(writer.attachment_list)
    attachment.content = other.encode()
    out = io.BytesIO()
    writer.write(out)
    assert extract_token(out.getvalue()) == other
    result = check_pdf(out.getvalue(), jwks, now=NOW)
    assert not result.valid
    assert result.reason == "the printed page does not show the signed learner name"


def test_pdf_with_a_tampered_token_fails(pdf: bytes, jwks: dict[str, Any]) -> None:
    token = extract_token(pdf)
    assert token is not None
    head, payload, signature = token.split(".")
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    next(iter(writer.attachment_list)).content = f"{head}.{payload}.{signature[:-4]}AAAA".encode()
    out = io.BytesIO()
    writer.write(out)
    assert check_pdf(out.getvalue(), jwks, now=NOW).reason == "signature does not match"


def test_pdf_without_a_token_fails(pdf: bytes, jwks: dict[str, Any]) -> None:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    next(iter(writer.attachment_list)).delete()
    out = io.BytesIO()
    writer.write(out)
    assert extract_token(out.getvalue()) is None
    assert check_pdf(out.getvalue(), jwks, now=NOW).reason == "the PDF carries no certificate token"


def test_expired_certificate_file_reports_expired(pdf: bytes, jwks: dict[str, Any]) -> None:
    result = check_pdf(pdf, jwks, now=NOW + timedelta(days=731))
    assert not result.valid
    assert result.expired
    assert result.reason == "expired"


@pytest.mark.parametrize("junk", [b"", b"not a pdf", b"%PDF-1.4\n%%EOF"])
def test_junk_bytes_are_invalid_not_an_exception(jwks: dict[str, Any], junk: bytes) -> None:
    result = check_pdf(junk, jwks, now=NOW)
    assert not result.valid
    assert result.reason in {"file is not a readable PDF", "the PDF carries no certificate token"}
    assert extract_token(junk) is None


def test_missing_layout_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError):
        render_certificate_pdf(make_view(), token="x.y.z", template_dir=tmp_path)
    with pytest.raises(TemplateError):
        render_certificate_pdf(make_view(), token="x.y.z", template_dir=TEMPLATE_DIR, layout="../x")


@pytest.mark.parametrize(
    ("hours", "text"), [(1.0, "1"), (1.5, "1.5"), (0.25, "0.25"), (12.0, "12")]
)
def test_hours_are_printed_without_trailing_zeros(hours: float, text: str) -> None:
    assert format_hours(hours) == text


def test_shipped_fonts_come_with_their_licences() -> None:
    fonts = TEMPLATE_DIR / "fonts"
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DroidSansFallback.ttf"):
        assert (fonts / name).is_file()
    assert len(list(fonts.glob("NotoSans*-Regular.ttf"))) == 14
    assert "OFL-1.1" in (fonts / "LICENSE-Noto.txt").read_text()
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text()
    assert "Apache License" in (fonts / "LICENSE-DroidSansFallback.txt").read_text()
