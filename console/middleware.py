"""Response headers and error pages every page gets."""

from collections.abc import Callable

from django.conf import settings
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from console.error_pages import method_not_allowed, page_not_found
from console.logs import acceptable_request_id, request_id_begin, request_id_end

# Everything is served by us: no CDN, no inline script. Inline styles stay off too.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # The admin brings its own inline scripts; it keeps Django's defaults rather than a
        # policy that would break it. (The API docs page loads everything from our static files.)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class ErrorPageMiddleware:
    """Our branded page where Django would answer with a bare or foreign one.

    Listed after ContentSecurityPolicyMiddleware, so the pages it renders get our policy.
    - A view that refuses a method (require_POST) returns an empty HttpResponseNotAllowed:
      a person who followed a stale link or an expired form would see a blank page.
    - With DEBUG on, Django answers an unknown URL with its technical 404 page, whose inline
      styles our CSP blocks; an unknown URL has nothing to debug, so it gets the real page.
      A 404 raised by a view (resolver_match is set) keeps the technical page in DEBUG.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed):
            return method_not_allowed(request, response.get("Allow", ""))
        unresolved = getattr(request, "resolver_match", None) is None
        if settings.DEBUG and response.status_code == 404 and unresolved:
            return page_not_found(request, None)
        return response


REQUEST_ID_HEADER = "X-Request-ID"


class RequestIdMiddleware:
    """Every request gets an id: the proxy's X-Request-ID when it is plain, else a new one.

    Log lines written while answering carry it, the response echoes it, and a solve the request
    queues takes it along to the worker (reviews.services.solving.solve_run_enqueue).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = acceptable_request_id(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id
        request_id_begin(request_id)
        response = self.get_response(request)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response


# After the response is sent (and Django has logged its status), the thread forgets the id.
request_finished.connect(request_id_end, dispatch_uid="wattson-request-id-end")
