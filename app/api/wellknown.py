"""Public keys, the issuer profile and the revocation status list (standard VC locations)."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.certificates import service as certificates
from app.core.clock import utcnow
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import NotFound

router = APIRouter(tags=["keys"])


@router.get("/.well-known/jwks.json")
def jwks(settings: SettingsDep) -> JSONResponse:
    """Every public key ever used to sign, so old certificates keep verifying."""
    return JSONResponse(
        certificates.jwks(settings), headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/keys/{thumbprint}", responses={404: {"description": "unknown key"}})
def key(thumbprint: str, settings: SettingsDep) -> JSONResponse:
    """The public JWK a token's ``kid`` URL names."""
    for jwk in certificates.jwks(settings)["keys"]:
        if jwk["kid"].rsplit("/", 1)[-1] == thumbprint:
            return JSONResponse(jwk, headers={"Cache-Control": "public, max-age=86400"})
    raise NotFound("no such key")


@router.get("/issuer")
def issuer(settings: SettingsDep) -> JSONResponse:
    """The issuer Profile that credentials name as issuer.id."""
    return JSONResponse(
        {
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
            ],
            "id": f"{settings.public_base_url}/issuer",
            "type": ["Profile"],
            "name": settings.site_name,
            "url": settings.public_base_url,
        }
    )


@router.get(certificates.STATUS_LIST_PATH)
def status_list(session: SessionDep, settings: SettingsDep) -> Response:
    """The signed BitstringStatusListCredential (VC-JWT) for revocation."""
    token = certificates.status_list_token(session, now=utcnow(), settings=settings)
    return Response(token, media_type="application/vc+jwt", headers={"Cache-Control": "no-cache"})
