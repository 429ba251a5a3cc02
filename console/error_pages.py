"""Branded error pages: the URLconf's handlers and the one function that renders them.

Django's own 403/404/500 views would find templates/403.html etc. by name too, but naming the
handlers here keeps every error page (including the 405 and the DEBUG-mode 404 that
console.middleware.ErrorPageMiddleware rewrites) rendered the same way.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader

# Status → template; each extends base.html, so it carries the skip link, the stylesheet and no
# inline script or style (our CSP applies to error pages too).
ERROR_TEMPLATES = {403: "403.html", 404: "404.html", 405: "405.html", 500: "500.html"}
# The API documents JSON errors ({"detail": ...}); a URL under it that matches no route (a
# non-numeric id) answers in JSON too, not with the HTML page.
API_PREFIX = "/api/"
API_DETAILS = {
    403: "You do not have permission to perform this action.",
    404: "Not found.",
    405: "Method not allowed.",
    500: "Server error.",
}


def render_error_page(
    request: HttpRequest | None, status: int, context: dict | None = None
) -> HttpResponse:
    """The branded page for `status`. Without a request (a 500) no context processor runs, so
    the page needs neither the session nor the database, either of which may be what failed."""
    if request is not None and request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": API_DETAILS[status]}, status=status)
    template = loader.get_template(ERROR_TEMPLATES[status])
    return HttpResponse(template.render(context or {}, request), status=status)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return render_error_page(request, 403, {"reason": str(exception)})


def page_not_found(request: HttpRequest, exception: Exception | None) -> HttpResponse:
    return render_error_page(request, 404, {"request_path": request.path})


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": API_DETAILS[500]}, status=500)
    return render_error_page(None, 500)


def method_not_allowed(request: HttpRequest, allowed: str) -> HttpResponse:
    """The 405 page; keeps the Allow header the refusing view sent."""
    response = render_error_page(
        request, 405, {"method": request.method, "allowed": allowed, "request_path": request.path}
    )
    response["Allow"] = allowed
    return response
