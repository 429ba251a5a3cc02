"""The REST API (DRF), one module per area."""
