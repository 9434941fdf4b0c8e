"""All JSON routes: /api/v1/... plus /healthz."""

from fastapi import APIRouter

from app.api import admin, attempts, auth, courses, health, me

router = APIRouter()
v1 = APIRouter(prefix="/api/v1")
for module in (auth, me, courses, attempts, admin):
    v1.include_router(module.router)
router.include_router(v1)
router.include_router(health.router)
