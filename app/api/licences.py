"""/api/v1/me/licences: the caller's own professional licences."""

from typing import Any

from fastapi import APIRouter, Response, status

from app.core.clock import utcnow
from app.core.deps import ApiUser, SessionDep
from app.licences import service as licences
from app.licences.schemas import LicenceIn, LicenceOut

router = APIRouter(tags=["licences"])
NOT_YOURS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such licence among the caller's own"}
}
DUPLICATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "the caller already holds this licence"}
}


@router.get("/me/licences")
def list_licences(user: ApiUser, session: SessionDep) -> list[LicenceOut]:
    return [licences.out(lic) for lic in licences.licences_of(session, user)]


@router.post("/me/licences", status_code=status.HTTP_201_CREATED, responses=DUPLICATE)
def add_licence(body: LicenceIn, user: ApiUser, session: SessionDep) -> LicenceOut:
    licence = licences.add_licence(session, user, body, now=utcnow())
    session.commit()
    return licences.out(licence)


@router.put("/me/licences/{licence_id}", responses={**NOT_YOURS, **DUPLICATE})
def update_licence(
    licence_id: int, body: LicenceIn, user: ApiUser, session: SessionDep
) -> LicenceOut:
    licence = licences.update_licence(session, user, licence_id, body)
    session.commit()
    return licences.out(licence)


@router.delete(
    "/me/licences/{licence_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_YOURS
)
def remove_licence(licence_id: int, user: ApiUser, session: SessionDep) -> Response:
    licences.remove_licence(session, user, licence_id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
