"""API v1 URLs (mounted at /api/v1/): each API module owns its own list."""

from django.urls import URLPattern, path

from reviews.api import findings
from reviews.api import reports as _reports_api

urlpatterns: list[URLPattern] = [
    path("findings/", findings.FindingListCreate.as_view(), name="api-findings"),
    path("findings/<int:pk>/", findings.FindingDetail.as_view(), name="api-finding"),
]

# Savings reports (reviews/api/reports.py).
urlpatterns += _reports_api.urlpatterns

# Proposals and decisions (reviews/api/decisions.py).
from reviews.api import decisions as _decisions_api  # noqa: E402

urlpatterns += _decisions_api.urlpatterns

# Line-comment threads (reviews/api/comments.py).
from reviews.api import comments as _comments_api  # noqa: E402

urlpatterns += _comments_api.urlpatterns

# Benchmark histories and profiles (reviews/api/measurements.py).
from reviews.api import measurements as _measurements_api  # noqa: E402

urlpatterns += _measurements_api.urlpatterns
