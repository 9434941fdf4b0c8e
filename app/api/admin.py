"""/api/v1/admin: administration (admin role only)."""

from fastapi import APIRouter

from app.accounts import service as accounts
from app.accounts.schemas import UserOut
from app.certificates import service as certificates
from app.certificates.schemas import CertificateOut, RevocationIn
from app.core.clock import utcnow
from app.core.deps import ApiAdmin, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users")
def list_users(_admin: ApiAdmin, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u, from_attributes=True) for u in accounts.list_users(session)]


@router.post(
    "/certificates/{code}/revocation",
    responses={404: {"description": "unknown code"}, 409: {"description": "already revoked"}},
)
def revoke_certificate(
    code: str, body: RevocationIn, admin: ApiAdmin, session: SessionDep
) -> CertificateOut:
    now = utcnow()
    cert = certificates.revoke(session, admin, code, body.reason, now=now)
    session.commit()
    return certificates.public_record(session, cert, now=now)


@router.post(
    "/certificates/{code}/reissue",
    status_code=201,
    responses={404: {"description": "unknown code"}, 409: {"description": "not current"}},
)
def reissue_certificate(
    code: str, admin: ApiAdmin, session: SessionDep, settings: SettingsDep
) -> CertificateOut:
    """A new certificate with the learner's corrected details; the old one is superseded."""
    now = utcnow()
    cert = certificates.reissue(session, admin, code, now=now, settings=settings)
    session.commit()
    return certificates.public_record(session, cert, now=now)
