"""The project's URLs plus one deliberately leaky view, which the tenancy helper must catch."""

from django.http import HttpResponse
from django.urls import path

from accounts.models import ApiToken
from creatorflow.urls import urlpatterns as root_urlpatterns


def leaky_token_name(request, token_id):
    # Looks the token up without the account: exactly the bug the tenancy helper exists to catch.
    token = ApiToken.objects.filter(pk=token_id).first()
    return HttpResponse(token.name if token else "", status=200 if token else 404)


urlpatterns = [path("test-only/leaky/<uuid:token_id>/", leaky_token_name), *root_urlpatterns]
