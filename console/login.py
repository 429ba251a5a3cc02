"""The login page, throttled per username and per address.

Not django-axes: its authentication backend needs the request on every authenticate() call,
which the test client's login() and the API's token checks do not pass, and a lockout model
with its own migrations is more than this needs. Counters live in the database cache
(CACHES["throttle"]) so every web process sees the same count. A fixed window: after
WATTSON_LOGIN_MAX_FAILURES failed sign-ins for one username, or from one address, within
WATTSON_LOGIN_WINDOW_S, every attempt (the right password too) is refused with 429 until the
window passes. A success clears its username's count, not its address's: one account an
attacker holds must not reset the count for guessing others.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse


def _keys(request: HttpRequest) -> tuple[str, str]:
    # Hashed: a username may hold any character, and cache keys may not.
    username = request.POST.get("username", "")
    user_key = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()
    address = request.META.get("REMOTE_ADDR", "") or "unknown"
    return f"login-fail:user:{user_key}", f"login-fail:addr:{address}"


def _window_start_key(key: str) -> str:
    return f"{key}:since"


class ThrottledLoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        cache = caches["throttle"]
        keys = _keys(request)
        limit = settings.WATTSON_LOGIN_MAX_FAILURES
        counts = cache.get_many(keys)
        blocked = [key for key in keys if counts.get(key, 0) >= limit]
        if blocked:
            return self._refused(cache, blocked)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form) -> HttpResponse:
        cache = caches["throttle"]
        window = settings.WATTSON_LOGIN_WINDOW_S
        for key in _keys(self.request):
            if cache.add(key, 1, timeout=window):
                cache.set(_window_start_key(key), time.time(), timeout=window)
            else:
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, timeout=window)
        return super().form_invalid(form)

    def form_valid(self, form) -> HttpResponse:
        user_key, _ = _keys(self.request)
        caches["throttle"].delete_many([user_key, _window_start_key(user_key)])
        return super().form_valid(form)

    def _refused(self, cache, blocked: list[str]) -> HttpResponse:
        window = settings.WATTSON_LOGIN_WINDOW_S
        starts = cache.get_many([_window_start_key(key) for key in blocked])
        since = min(starts.values(), default=time.time())
        wait = max(1, int(since + window - time.time()))
        # Unbound: a bound form would check the password when its errors are shown.
        form = self.get_form_class()(self.request)
        response = self.render_to_response(
            self.get_context_data(
                form=form,
                throttled_minutes=max(1, -(-wait // 60)),
            ),
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
