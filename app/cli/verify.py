"""``lms verify``: offline check of a certificate token or PDF with nothing but the JWKS."""

import json
import urllib.request
from pathlib import Path
from typing import Any

import typer

from app.certificates import pdf, signing
from app.core.clock import utcnow
from app.core.settings import get_settings


def _load_jwks(source: str | None) -> dict[str, Any]:
    if source is None:
        from app.certificates import service as certificates

        return certificates.jwks(get_settings())
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=15) as response:  # noqa: S310 (http(s) only)
            data: dict[str, Any] = json.load(response)
            return data
    data = json.loads(Path(source).read_text(encoding="utf-8"))
    return data


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a token is far longer than any file name
        return False


def verify(
    target: str = typer.Argument(..., help="a compact JWS token, or a certificate PDF file"),
    jwks: str | None = typer.Option(
        None, "--jwks", help="JWKS file or URL (default: this installation's keys)"
    ),
) -> None:
    """Exit 0 when the certificate is valid, 1 (with the reason) when it is not."""
    keys = _load_jwks(jwks)
    path = Path(target)
    if _is_file(path):
        result = pdf.check_pdf(path.read_bytes(), keys, now=utcnow())
    else:
        result = signing.verify_token(target.strip(), keys, now=utcnow())
    if not result.valid:
        typer.echo(f"INVALID: {result.reason}")
        raise typer.Exit(1)
    credential = result.credential or {}
    subject = credential.get("credentialSubject", {})
    typer.echo(f"VALID: {result.reason}")
    typer.echo(f"  learner: {subject.get('name', '')}")
    typer.echo(f"  course:  {subject.get('achievement', {}).get('name', '')}")
    typer.echo(f"  hours:   {subject.get('creditsEarned', '')}")
    typer.echo(f"  code:    {str(credential.get('id', '')).rsplit('/', 1)[-1]}")
    typer.echo("  (offline check: signature and dates only; revocation needs the status list)")
