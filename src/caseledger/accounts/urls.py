from django.urls import path

from . import manage_views, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("mfa/", views.mfa_view, name="mfa"),
    path("password/", views.password_view, name="password"),
    path("logout/", views.logout_view, name="logout"),
    # account administration (administrators)
    path("manage/", manage_views.account_list, name="manage"),
    path("manage/new/", manage_views.account_new, name="manage_new"),
    path("manage/<uuid:user_id>/", manage_views.account_detail, name="manage_detail"),
    path("manage/<uuid:user_id>/role/", manage_views.account_role, name="manage_role"),
    *[
        path(f"manage/<uuid:user_id>/{step.replace('_', '-')}/", manage_views.account_step,
             {"step": step}, name=f"manage_{step}")
        for step in manage_views.STEPS
    ],
    path("manage/role-requests/<uuid:role_request_id>/", manage_views.role_request,
         name="manage_role_request"),
]
