"""/api/v1/me/data and DELETE /api/v1/me: the caller's data export and account deletion."""

from fastapi import APIRouter, Response, status

from app.core.clock import utcnow
from app.core.deps import ApiUser, SessionDep
from app.records import service as records
from app.records.schemas import DataExport, DeleteAccountIn

router = APIRouter(tags=["me"])


@router.get("/me/data")
def my_data(user: ApiUser, session: SessionDep) -> DataExport:
    """Everything held about the caller: profile, licences, learning, certificates, audit."""
    return records.export_user_data(session, user, now=utcnow())


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {"description": "wrong password"},
        409: {"description": "the caller is the site's only administrator"},
    },
)
def delete_me(body: DeleteAccountIn, user: ApiUser, session: SessionDep) -> Response:
    """Deletes the caller's account (password required). Completion records are kept,
    anonymised; the access token stops working at once."""
    records.delete_account(session, user, password=body.password, now=utcnow())
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
