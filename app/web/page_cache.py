"""Whole pages rendered once per content version and viewer role, for the most requested page.

The module reader is 40+ kB of versioned HTML around a few per-learner states. render_cached()
renders the same Jinja template as render() would, once per key, with the CSRF token left as a
hole; every response fills the hole with its own (escaped) token and sends cached bytes. The key
must name everything the template shows: the caller's key (content version, states), the
template, the path, htmx, the site name and the viewer's role. The signed-in user reaches the
template as a Viewer that has only a role, so a template change that shows more of the user
(a name, say) fails loudly instead of serving one learner's page to another.
"""

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import escape

from app.accounts.models import Role
from app.web.templating import templates

# Cannot occur in content: NUL plus a per-process random part.
_HOLE = f"\x00{secrets.token_hex(8)}\x00"
MAX_PAGES = 256  # about 11 MB of 43 kB pages; cleared, not evicted one by one (rarely full)
_PAGES: dict[tuple[object, ...], tuple[bytes, ...]] = {}


class NotInCacheKey(RuntimeError):
    """A cached template read something of the viewer that its cache key does not include."""


@dataclass(frozen=True)
class Viewer:
    """current_user for cached pages: the role, which is in the key, and nothing else."""

    role: Role

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise NotInCacheKey(f"current_user.{name} is not part of the page cache key")


def render_cached(
    request: Request,
    template: str,
    key: tuple[object, ...],
    role: Role,
    context: Callable[[], dict[str, Any]],
) -> HTMLResponse:
    """The page for key, rendered on first use; context() is called only then."""
    is_htmx = request.headers.get("HX-Request") == "true"
    site_name = request.app.state.settings.site_name
    full_key = (template, key, role, request.scope["path"], is_htmx, site_name)
    parts = _PAGES.get(full_key)
    if parts is None:
        values = context()
        values.update(
            request=request,
            current_user=Viewer(role),
            csrf_token=_HOLE,
            site_name=site_name,
            is_htmx=is_htmx,
        )
        text = templates.get_template(template).render(values)
        parts = tuple(part.encode() for part in text.split(_HOLE))
        if len(_PAGES) >= MAX_PAGES:
            _PAGES.clear()
        _PAGES[full_key] = parts
    token = str(escape(request.scope.get("state", {}).get("csrf_token", ""))).encode()
    return HTMLResponse(token.join(parts))
