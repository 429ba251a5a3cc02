"""Configuration a team edits: repositories, services (fleet and power figures) and sources."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

from skills import savings
from skills.gitio import is_work_tree
from skills.mirrors import url_problem

# Defaults read at call time from settings; migration 0001 names them as reviews.models._default_*
# (re-exported there).


def _default_fleet_servers() -> int:
    return settings.WATTSON_DEFAULT_FLEET_SERVERS


def _default_watts_per_server() -> float:
    return settings.WATTSON_DEFAULT_WATTS_PER_SERVER


def _default_pue() -> float:
    return settings.WATTSON_DEFAULT_PUE


def _default_price_per_kwh() -> float:
    return settings.WATTSON_DEFAULT_PRICE_PER_KWH


class Repository(models.Model):
    """A git repository: a local work tree (`path`) or a clone URL (`url`), never both.

    A URL repository is mirrored by each machine that needs it (skills.mirrors); its `path` stays
    empty, since no path is the same on every machine.
    """

    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(
        max_length=1000, blank=True, help_text="Local path of a git work tree (or leave empty)."
    )
    url = models.CharField(
        max_length=1000,
        blank=True,
        help_text=(
            "Clone URL (https://, ssh://, git@host:path, file://); every machine keeps its own "
            "mirror and approved fixes are pushed there. Credentials come from the environment "
            "(WATTSON_GIT_CREDENTIALS), never from the URL."
        ),
    )
    default_branch = models.CharField(max_length=200, default="main")
    test_cmd = models.CharField(max_length=1000, blank=True)
    bench_cmd = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Exactly one of path and url; a URL git can clone and that carries no secret."""
        self.path, self.url = self.path.strip(), self.url.strip()
        if self.path and self.url:
            raise ValidationError({"url": "Give a path or a URL, not both."})
        if not self.path and not self.url:
            raise ValidationError({"path": "Give the path of a git work tree, or a URL."})
        if self.url:
            problem = url_problem(self.url)
            if problem:
                raise ValidationError({"url": f"The URL {problem}."})
        elif not is_work_tree(self.path):
            raise ValidationError({"path": f"{self.path} is not a git work tree on this server."})


class Service(models.Model):
    name = models.CharField(max_length=200, unique=True)
    team = models.CharField(max_length=200, blank=True)
    repository = models.ForeignKey(
        Repository, on_delete=models.SET_NULL, null=True, blank=True, related_name="services"
    )
    fleet_servers = models.PositiveIntegerField(default=_default_fleet_servers)
    watts_per_server = models.FloatField(
        default=_default_watts_per_server, validators=[MinValueValidator(0)]
    )
    pue = models.FloatField(default=_default_pue, validators=[MinValueValidator(1.0)])
    price_per_kwh = models.FloatField(
        default=_default_price_per_kwh, validators=[MinValueValidator(0)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def watts_for_share(self, share_pct: float, recovery: float = 1.0) -> float:
        """skills.savings.fleet_watts for this service's fleet."""
        return savings.fleet_watts(
            servers=self.fleet_servers,
            watts_per_server=self.watts_per_server,
            pue=self.pue,
            share_pct=share_pct,
            recovery=recovery,
        )


class Source(models.Model):
    """A detector or survey sending findings. Its HMAC secret lives in the environment."""

    class Backend(models.TextChoices):
        DEFAULT = "", "Default (settings)"
        OFFLINE = "offline", "Offline codemods"
        ANTHROPIC = "anthropic", "Anthropic"

    name = models.CharField(max_length=100, unique=True)
    auto_solve = models.BooleanField(default=True)
    backend = models.CharField(max_length=20, choices=Backend.choices, blank=True, default="")
    # The accounts that may post findings for this source (reviews.services.sources): the first
    # account to post for a new source is bound to it; more are added in the admin.
    accounts = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="ingest_sources"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
