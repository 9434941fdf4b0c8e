"""/api/v1/me: the caller's own account."""

from fastapi import APIRouter

from app.accounts.schemas import UserOut
from app.core.deps import ApiUser

router = APIRouter(tags=["me"])


@router.get("/me")
def me(user: ApiUser) -> UserOut:
    return UserOut.model_validate(user, from_attributes=True)
