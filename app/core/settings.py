"""Application settings, read once from ``LMS_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LMS_", extra="ignore")

    data_dir: Path = Path("./var")
    database_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    smtp_url: str | None = None
    mail_from: str = "no-reply@localhost"
    site_name: str = "Clinician CE"
    content_dir: Path = Path(".")
    # Certificate signing keys. Several app hosts must share one directory (a mounted secret);
    # default: <data_dir>/keys.
    keys_dir: Path | None = None
    # Signs API access tokens; every app host needs the same one (default in the data dir).
    token_secret_file: Path | None = None
    certificate_code_prefix: str = "KAT"
    # API access tokens are short-lived: a stolen token is useful for minutes, not days.
    access_token_minutes: int = 15
    session_hours: int = 12
    reset_token_minutes: int = 60
    # Failed-login throttling (NIST SP 800-63B-4 asks for rate limiting of online guessing).
    login_window_minutes: int = 15
    login_max_failures_per_account: int = 5
    login_max_failures_per_address: int = 30
    max_request_bytes: int = Field(default=2 * 1024 * 1024)
    # Certificates: the expiry reminder goes out, and renewal opens, this many days before expiry.
    expiry_reminder_days: int = Field(default=30, ge=1)

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lms.sqlite3').resolve()}"

    @property
    def signing_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def token_secret_path(self) -> Path:
        return self.token_secret_file or self.data_dir / "token-secret.txt"

    @property
    def public_base_url(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir


@lru_cache
def get_settings() -> Settings:
    return Settings()
