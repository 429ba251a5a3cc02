"""The admin site: staff, and skill-admins, who curate skills without being made staff."""

from django.contrib import admin
from django.http import HttpRequest

from reviews.roles import user_roles


class WattsonAdminSite(admin.AdminSite):
    site_header = "Wattson administration"
    site_title = "Wattson admin"
    index_title = "Skills, findings and services"

    def has_permission(self, request: HttpRequest) -> bool:
        user = request.user
        # Model permissions still decide what each user may see and change in here.
        return user.is_active and (user.is_staff or user_roles(user).skill_admin)
