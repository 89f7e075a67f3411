from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend import counter_views, oversight_views, signin_views, views

urlpatterns = [
    # Ours first: it fills the shell list into the worker (django-pwa serves the file raw).
    path("serviceworker.js", views.service_worker, name="serviceworker"),
    path("", views.applicant_page, {"page": "apply"}, name="apply"),
    path("mine", views.applicant_page, {"page": "mine"}, name="mine"),
    path("track", views.applicant_page, {"page": "track"}, name="track"),
    path("receipt", views.applicant_page, {"page": "receipt"}, name="receipt"),
    path("board", views.applicant_page, {"page": "board"}, name="board"),
    path("stop/<str:token>", views.stop_notifications, name="notify-stop"),
    path("staff/login", auth_views.LoginView.as_view(
        template_name="frontend/staff/login.html", redirect_authenticated_user=False,
        next_page="staff-queue"), name="staff-login"),
    path("staff/logout", auth_views.LogoutView.as_view(next_page="staff-login"),
         name="staff-logout"),
    path("staff/otp", signin_views.second_factor_page, name="staff-otp"),
    path("staff/", views.staff_queue, name="staff-queue"),
    path("staff/applications", views.staff_applications, name="staff-applications"),
    path("staff/regional", oversight_views.staff_regional, name="staff-regional"),
    path("staff/board/<str:code>", oversight_views.staff_office_board, name="staff-board"),
    path("staff/counter", counter_views.counter_desk, name="staff-counter"),
    path("staff/desk", counter_views.verification_desk, name="staff-desk"),
    path("staff/walk-in", counter_views.walk_in, name="staff-walkin"),
    path("staff/office", counter_views.office_day, name="staff-office"),
    path("display/<str:code>", counter_views.waiting_room, name="display"),
    path("staff/applications/<str:reference>/dossier", views.staff_dossier, name="staff-dossier"),
    path("", include("pwa.urls")),
]
