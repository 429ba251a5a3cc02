"""The solver's own account: it authors proposals and the status moves the worker makes."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model


def bot_user():
    """The inactive account that authors the solver's proposals and status moves."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=settings.WATTSON_BOT_USERNAME,
        defaults={
            "is_active": False,
            "email": settings.WATTSON_BOT_EMAIL,
            "first_name": settings.WATTSON_BOT_NAME,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
