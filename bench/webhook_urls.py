"""The production URLconf plus `/bench/bare/`: reads the body and answers 200, nothing else."""

from django.http import HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare(request):
    request.body  # noqa: B018 - read the body like the webhook view does
    return HttpResponse(status=200)


urlpatterns = [
    path("bench/bare/", bare),
    path("", include("creatorflow.urls")),
]
