from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "reviews/queue.html", {})


urlpatterns = [path("", queue, name="queue")]
