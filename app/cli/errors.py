"""Domain errors become `error: <detail>` on stderr and exit status 1 in every command."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from app.core.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from exc

    return wrapper
