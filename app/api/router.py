"""All JSON routes: /api/v1/... plus /healthz."""

from fastapi import APIRouter

from app.api import (
    admin,
    analytics,
    attempts,
    auth,
    certificates,
    courses,
    health,
    licences,
    me,
    records,
    reporting,
    wellknown,
)

router = APIRouter()
v1 = APIRouter(prefix="/api/v1")
for module in (auth, me, licences, records, courses, attempts, certificates, admin, analytics):
    v1.include_router(module.router)
v1.include_router(reporting.router)
router.include_router(v1)
router.include_router(health.router)
router.include_router(wellknown.router)
