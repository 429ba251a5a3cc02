"""HTML views, one module per area; each exports `urlpatterns`."""
