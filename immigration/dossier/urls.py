from __future__ import annotations

from django.urls import path

from immigration.dossier import api

urlpatterns = [
    path("requirements", api.RequirementsView.as_view(), name="dossier-requirements"),
    path("uploads/", api.UploadsView.as_view(), name="uploads"),
    path("uploads/<uuid:upload_id>", api.UploadView.as_view(), name="upload"),
    path("applications/<str:reference>/files/<int:file_id>/content",
         api.FileContentView.as_view(), name="dossier-file-content"),
    path("applications/<str:reference>/files/<int:file_id>/review",
         api.FileReviewView.as_view(), name="dossier-file-review"),
]
