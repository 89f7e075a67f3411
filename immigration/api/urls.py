from __future__ import annotations

from django.urls import include, path

from immigration.api import views
from immigration.counter.api import PickupView
from immigration.oversight.api import OperationsView

urlpatterns = [
    path("applications", views.ApplicationsView.as_view(), name="applications"),
    path("applications/<str:reference>", views.ApplicationDetailView.as_view(),
         name="application-detail"),
    path("applications/<str:reference>/approve", views.ApproveView.as_view(), name="approve"),
    path("applications/<str:reference>/reject", views.RejectView.as_view(), name="reject"),
    # Collecting is the counter's identity-checked handover (docs/counter-api.md).
    path("applications/<str:reference>/collect", PickupView.as_view(), name="collect"),
    path("applications/<str:reference>/resubmit", views.ResubmitView.as_view(), name="resubmit"),
    path("applications/<str:reference>/erase", views.EraseView.as_view(), name="erase"),
    path("statuses", include("immigration.api.statuses")),
    path("consent", include("immigration.api.consent")),
    path("offices", views.OfficesView.as_view(), name="offices"),
    path("offices/<str:code>/status", views.OfficeStatusView.as_view(), name="office-status"),
    path("offices/<str:code>/announcements", views.AnnouncementsView.as_view(),
         name="office-announcements"),
    path("offices/<str:code>/operations", OperationsView.as_view(), name="office-operations"),
    path("queue", views.QueueView.as_view(), name="queue"),
    path("queue/dead", views.DeadLettersView.as_view(), name="queue-dead"),
    path("queue/dead/<int:message_id>/retry", views.DeadLetterRetryView.as_view(),
         name="queue-dead-retry"),
    path("webhooks/printing", views.PrintingWebhookView.as_view(), name="webhook-printing"),
    path("", include("immigration.dossier.urls")),
    path("", include("immigration.counter.urls")),
    path("", include("immigration.notify.urls")),
]
