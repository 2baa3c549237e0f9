from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"

_reset_done = reverse_lazy("accounts:password_reset_done")
_reset_complete = reverse_lazy("accounts:password_reset_complete")

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("signup/", views.signup_view, name="signup"),
    # Password reset: Django's views with our templates (admin's registration/ templates would
    # shadow app templates of the same name, so ours live under accounts/password_reset/).
    path(
        "password-reset/",
        views.PasswordResetView.as_view(
            template_name="accounts/password_reset/form.html",
            email_template_name="accounts/password_reset/email.txt",
            subject_template_name="accounts/password_reset/subject.txt",
            success_url=_reset_done,
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset/done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset/confirm.html", success_url=_reset_complete
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset/complete.html"),
        name="password_reset_complete",
    ),
    # team
    path("settings/", views.team_settings, name="settings"),
    path("settings/invitations/", views.invite, name="invite"),
    path(
        "settings/invitations/<uuid:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"
    ),
    path("settings/members/<uuid:user_id>/role/", views.member_role, name="member_role"),
    path("settings/members/<uuid:user_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("switch/", views.switch_account, name="switch"),
    path("tokens/", views.api_tokens, name="tokens"),
    path("tokens/<uuid:token_id>/revoke/", views.api_token_revoke, name="token_revoke"),
]
