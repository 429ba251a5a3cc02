from django.contrib.admin.apps import AdminConfig


class WattsonAdminConfig(AdminConfig):
    default_site = "console.admin.WattsonAdminSite"
