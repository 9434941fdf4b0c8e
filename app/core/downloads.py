"""A file a service hands to an entry point, and the one way pages and the API send it."""

from dataclasses import dataclass, field

from fastapi.responses import Response


@dataclass(frozen=True)
class Download:
    content: bytes | str
    media_type: str
    file_name: str
    headers: dict[str, str] = field(default_factory=dict)


def attachment(download: Download) -> Response:
    """The download as an attachment, with its file name and any extra headers."""
    return Response(
        download.content,
        media_type=download.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{download.file_name}"',
            **download.headers,
        },
    )
