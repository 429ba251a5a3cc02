"""Roles are Django groups; superusers hold every role."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

REVIEWER = "reviewer"
MANAGER = "manager"
SKILL_ADMIN = "skill-admin"
ALL_ROLES = (REVIEWER, MANAGER, SKILL_ADMIN)
# Service accounts of detectors and profiler surveys: may post findings to the ingest API (and
# read them back), nothing else. Not a human role, so not in ALL_ROLES.
INGEST = "ingest"


@dataclass(frozen=True)
class Roles:
    authenticated: bool = False
    reviewer: bool = False
    manager: bool = False
    skill_admin: bool = False
    ingest: bool = False

    @property
    def can_read(self) -> bool:
        """Any role may read findings and proposals."""
        return self.reviewer or self.manager or self.skill_admin

    @property
    def can_act(self) -> bool:
        """Request fixes, decide: reviewers and skill-admins. Managers only read."""
        return self.reviewer or self.skill_admin

    @property
    def can_ingest(self) -> bool:
        """Post findings: detector service accounts, and the roles that may act."""
        return self.ingest or self.can_act

    @property
    def can_see_reports(self) -> bool:
        return self.manager or self.skill_admin or self.reviewer


def user_roles(user) -> Roles:
    if user is None or not user.is_authenticated:
        return Roles()
    if user.is_superuser:
        return Roles(True, True, True, True, True)
    cached = getattr(user, "_wattson_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = Roles(
        authenticated=True,
        reviewer=REVIEWER in names,
        manager=MANAGER in names,
        skill_admin=SKILL_ADMIN in names,
        ingest=INGEST in names,
    )
    user._wattson_roles = roles
    return roles


def role_required(permission: str = "can_read", *, after_login=None):
    """Decorator for HTML views: anonymous → login page, no such role → 403 (templates/403.html).

    `permission` names a Roles property: "can_read" (any role), "can_act" (reviewers and
    skill-admins; managers get 403), "can_see_reports", or a role flag such as "skill_admin".
    `after_login(request, **kwargs)` names the page an action's form came from: an anonymous
    POST there is a form whose session expired, so the person logs in and lands back on that
    page with a note that nothing was done (never on the action's URL, which only takes POST).
    """
    if not hasattr(Roles, permission):
        raise ValueError(f"role_required: Roles has no {permission!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                if after_login is not None and request.method == "POST":
                    # Said twice: on the login page (why it is shown) and, via ?expired=1, on
                    # the page the person returns to (what to do again).
                    messages.warning(request, SESSION_EXPIRED)
                    return redirect_to_login(f"{after_login(request, **kwargs)}?expired=1")
                return redirect_to_login(request.get_full_path())
            if not getattr(user_roles(request.user), permission):
                raise PermissionDenied("Your account has no Wattson role that allows this.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


SESSION_EXPIRED = "Your session expired; nothing was decided. Log in and decide again."


def access_act(actor) -> None:
    """The check every write service that acts on a finding makes first (request a fix, assign).

    None is the system itself (the CLI, ingest's auto-solve, the worker) and passes; any other
    actor, anonymous included, needs a role that may act: managers only read.
    """
    if actor is not None and not user_roles(actor).can_act:
        raise PermissionDenied("Only reviewers and skill-admins may do this; managers read.")
