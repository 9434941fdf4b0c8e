"""/api/v1/admin: administration (admin role only)."""

from fastapi import APIRouter

from app.accounts import service as accounts
from app.accounts.schemas import UserOut
from app.core.deps import ApiAdmin, SessionDep

router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/users")
def list_users(_admin: ApiAdmin, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u, from_attributes=True) for u in accounts.list_users(session)]
