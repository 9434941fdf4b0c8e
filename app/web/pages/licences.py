"""/account/licences: the learner lists, adds, changes and removes professional licences."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.accounts.models import User
from app.accounts.schemas import US_STATES
from app.core.clock import utcnow
from app.core.deps import SessionDep, WebUser
from app.core.errors import DomainError
from app.licences import service as licences
from app.licences.professions import PROFESSIONS
from app.licences.schemas import LicenceIn
from app.web.templating import render

router = APIRouter()
CHOICES = {"professions": PROFESSIONS, "states": sorted(US_STATES)}
FormText = Annotated[str, Form(max_length=100)]


def _form(profession: str, state: str, number: str, expires_on: str) -> dict[str, str]:
    return {"profession": profession, "state": state, "number": number, "expires_on": expires_on}


def _parse(form: dict[str, str]) -> LicenceIn:
    return LicenceIn.model_validate({**form, "expires_on": form["expires_on"].strip() or None})


# What to say about an empty field, instead of the schema's technical wording.
MISSING = {
    "profession": "choose the profession this licence is for",
    "state": "choose the state or territory that issued the licence",
    "number": "enter the licence number",
}


def _field_errors(exc: ValidationError, form: dict[str, str]) -> dict[str, str]:
    """Every problem, each next to its field (the first one per field)."""
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err.get("loc") else "number"
        if field in MISSING and not form.get(field, "").strip():
            message = MISSING[field]
        elif field == "expires_on":
            message = "enter a date such as 2028-12-31, or leave it empty"
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
        errors.setdefault(field, message)
    return errors


def _list_page(
    request: Request,
    session: SessionDep,
    user: User,
    status: int = 200,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
) -> Response:
    return render(
        request,
        "licences/index.html",
        status,
        licences=[licences.out(lic) for lic in licences.licences_of(session, user)],
        form=form or _form("", "", "", ""),
        errors=errors or {},
        message=message,
        **CHOICES,
    )


@router.get("/account/licences", response_class=HTMLResponse)
def licences_page(
    request: Request, session: SessionDep, user: WebUser, saved: str | None = None
) -> Response:
    messages = {
        "added": "Licence added.",
        "updated": "Licence saved.",
        "removed": "Licence removed.",
    }
    return _list_page(request, session, user, message=messages.get(saved or ""))


@router.post("/account/licences", response_class=HTMLResponse)
def add_licence(
    request: Request,
    session: SessionDep,
    user: WebUser,
    profession: FormText = "",
    state: FormText = "",
    number: FormText = "",
    expires_on: FormText = "",
) -> Response:
    form = _form(profession, state, number, expires_on)
    try:
        licences.add_licence(session, user, _parse(form), now=utcnow())
    except ValidationError as exc:
        return _list_page(request, session, user, 422, form=form, errors=_field_errors(exc, form))
    except DomainError as exc:
        errors = {str(exc.extra.get("field", "number")): exc.detail}
        return _list_page(request, session, user, exc.status_code, form=form, errors=errors)
    session.commit()
    # Post/redirect/get: reloading the list must not add the licence again.
    return RedirectResponse("/account/licences?saved=added", status_code=303)


@router.get("/account/licences/{licence_id}/edit", response_class=HTMLResponse)
def edit_licence_page(
    request: Request, session: SessionDep, user: WebUser, licence_id: int
) -> Response:
    licence = licences.out(licences.get_licence(session, user, licence_id))
    form = _form(
        licence.profession,
        licence.state,
        licence.number,
        licence.expires_on.isoformat() if licence.expires_on else "",
    )
    return render(
        request, "licences/edit.html", licence_id=licence_id, form=form, errors={}, **CHOICES
    )


@router.post("/account/licences/{licence_id}", response_class=HTMLResponse)
def update_licence(
    request: Request,
    session: SessionDep,
    user: WebUser,
    licence_id: int,
    profession: FormText = "",
    state: FormText = "",
    number: FormText = "",
    expires_on: FormText = "",
) -> Response:
    licences.get_licence(session, user, licence_id)  # someone else's: 404 before anything else
    form = _form(profession, state, number, expires_on)
    try:
        licences.update_licence(session, user, licence_id, _parse(form))
    except ValidationError as exc:
        status, errors = 422, _field_errors(exc, form)
    except DomainError as exc:
        status, errors = exc.status_code, {str(exc.extra.get("field", "number")): exc.detail}
    else:
        session.commit()
        return RedirectResponse("/account/licences?saved=updated", status_code=303)
    return render(
        request,
        "licences/edit.html",
        status,
        licence_id=licence_id,
        form=form,
        errors=errors,
        **CHOICES,
    )


@router.post("/account/licences/{licence_id}/remove")
def remove_licence(session: SessionDep, user: WebUser, licence_id: int) -> Response:
    licences.remove_licence(session, user, licence_id)
    session.commit()
    return RedirectResponse("/account/licences?saved=removed", status_code=303)
