"""All HTML pages. Every state-changing request passes the CSRF check."""

from fastapi import APIRouter, Depends

from app.web.csrf import csrf_protect
from app.web.pages import (
    accounts,
    admin,
    analytics,
    certificates,
    learning,
    licences,
    records,
    reporting,
    studio,
)

router = APIRouter(dependencies=[Depends(csrf_protect)], tags=["pages"])
for module in (learning, certificates, accounts, licences, records, admin, analytics, studio):
    router.include_router(module.router)
router.include_router(reporting.router)
