"""Template context shared by every page."""

from django.http import HttpRequest

from reviews.roles import user_roles


def roles(request: HttpRequest) -> dict:
    return {"roles": user_roles(getattr(request, "user", None))}
