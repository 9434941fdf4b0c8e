"""A learner's licences: list, add, change, remove, and the one a certificate claim uses."""

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.db import is_row_id
from app.licences.errors import DuplicateLicence, LicenceChoiceNeeded, LicenceNotFound
from app.licences.models import Licence
from app.licences.professions import key_for, label
from app.licences.schemas import LicenceIn, LicenceOut


def licences_of(session: Session, user: User) -> list[Licence]:
    return list(
        session.exec(select(Licence).where(Licence.user_id == user.id).order_by(col(Licence.id)))
    )


def get_licence(session: Session, user: User, licence_id: int) -> Licence:
    """One of the user's own licences; anybody else's is reported as missing."""
    licence = session.get(Licence, licence_id) if is_row_id(licence_id) else None
    if licence is None or licence.user_id != user.id:
        raise LicenceNotFound(f"no licence {licence_id}")
    return licence


def _save(session: Session, licence: Licence) -> Licence:
    try:
        with session.begin_nested():
            session.add(licence)
    except IntegrityError:
        raise DuplicateLicence(
            "you already have a licence with this profession, state and number"
        ) from None
    return licence


def add_licence(session: Session, user: User, data: LicenceIn, *, now: datetime) -> Licence:
    assert user.id is not None  # noqa: S101
    return _save(
        session,
        Licence(
            user_id=user.id,
            profession=data.profession,
            state=data.state,
            number=data.number,
            expires_on=data.expires_on,
            created_at=now,
        ),
    )


def update_licence(session: Session, user: User, licence_id: int, data: LicenceIn) -> Licence:
    licence = get_licence(session, user, licence_id)
    licence.profession = data.profession
    licence.state = data.state
    licence.number = data.number
    licence.expires_on = data.expires_on
    return _save(session, licence)


def remove_licence(session: Session, user: User, licence_id: int) -> None:
    """Removes a licence; certificates already issued keep the licence details they printed."""
    session.delete(get_licence(session, user, licence_id))
    session.flush()


def seed_from_profile(
    session: Session, user: User, *, profession: str, state: str, number: str, now: datetime
) -> Licence | None:
    """The licence given at sign-up becomes the learner's first licence."""
    if not (state and number.strip()):
        return None
    data = LicenceIn(profession=key_for(profession), state=state, number=number)
    return add_licence(session, user, data, now=now)


def choose_for_claim(
    session: Session, user: User, licence_id: int | None, *, today: date
) -> Licence | None:
    """The licence a certificate is for: the chosen one, else the learner's only current one.

    None when the learner has no licence at all (the certificate then names the profession from
    the profile). Several current licences and no choice: LicenceChoiceNeeded, since reporting
    credit against the wrong licence cannot be undone at CE Broker."""
    if licence_id is not None:
        return get_licence(session, user, licence_id)
    current = [
        lic
        for lic in licences_of(session, user)
        if lic.expires_on is None or lic.expires_on >= today
    ]
    if not current:
        return None
    if len(current) > 1:
        raise LicenceChoiceNeeded(
            "you hold several licences: choose the one this certificate is for",
            choices=[out(lic).model_dump(mode="json") for lic in current],
        )
    return current[0]


def out(licence: Licence) -> LicenceOut:
    assert licence.id is not None  # noqa: S101
    return LicenceOut(
        id=licence.id,
        profession=licence.profession,
        profession_label=label(licence.profession),
        state=licence.state,
        number=licence.number,
        expires_on=licence.expires_on,
    )
