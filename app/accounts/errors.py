from app.core.errors import Conflict, Forbidden, Invalid, Throttled, Unauthenticated


class EmailTaken(Conflict):
    """An account with this email exists."""


class WeakPassword(Invalid):
    """The password breaks the password rules."""


class BadCredentials(Unauthenticated):
    """Wrong email or password (never says which)."""


class SecondFactorRequired(Unauthenticated):
    """The password was right; a one-time code is needed too."""


class LoginThrottled(Throttled):
    """Too many failed sign-ins for this account or address."""


class InvalidResetToken(Invalid):
    """The reset link is unknown, used or expired."""


class SecondFactorSetupRequired(Forbidden):
    """Staff must turn on two-factor authentication first."""
