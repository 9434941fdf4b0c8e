from app.core.errors import Conflict, Forbidden


class WrongPassword(Forbidden):
    """Deleting an account needs the account's password (a stolen session is not enough)."""


class LastAdministrator(Conflict):
    """The site's only administrator cannot delete their account."""
