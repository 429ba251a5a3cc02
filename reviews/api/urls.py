from django.urls import URLPattern

urlpatterns: list[URLPattern] = []

# Savings reports (reviews/api/reports.py).
from reviews.api import reports as _reports_api  # noqa: E402

urlpatterns += _reports_api.urlpatterns
