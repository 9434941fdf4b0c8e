"""``lms keys``: certificate signing keys."""

import typer

from app.certificates import service as certificates
from app.core.settings import get_settings

app = typer.Typer(no_args_is_help=True, help="Certificate signing keys")


@app.command("rotate")
def rotate(alg: str = typer.Option("ES256", help="ES256 (default) or RS256")) -> None:
    """Make a new current signing key; old public keys stay published."""
    if alg not in ("ES256", "RS256"):
        typer.echo("error: --alg must be ES256 or RS256", err=True)
        raise typer.Exit(1)
    settings = get_settings()
    key = certificates.keystore(settings).rotate(alg)  # type: ignore[arg-type]
    typer.echo(f"new current key {key.alg} {settings.public_base_url}/keys/{key.thumbprint}")


@app.command("list")
def list_keys() -> None:
    """Every signing key, oldest first; the current one is marked."""
    settings = get_settings()
    store = certificates.keystore(settings)
    store.ensure()
    current = store.current().thumbprint
    for signing_key in store.keys():  # noqa: SIM118 (a key store, not a dict)
        mark = "*" if signing_key.thumbprint == current else " "
        typer.echo(
            f"{mark} {signing_key.alg}  {signing_key.created_at.isoformat()}  "
            f"{signing_key.thumbprint}"
        )
