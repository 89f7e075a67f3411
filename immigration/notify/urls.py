from __future__ import annotations

from django.urls import path

from immigration.notify import api

urlpatterns = [
    path("applications/<str:reference>/notifications", api.ApplicationNotificationsView.as_view(),
         name="application-notifications"),
    path("webhooks/sms", api.SmsInboundView.as_view(), name="webhook-sms"),
]
