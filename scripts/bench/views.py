"""The baseline endpoint: a plain ModelSerializer and a CreateAPIView, nothing else."""

from __future__ import annotations

from rest_framework import generics, serializers

from scripts.bench.models import BareApplication


class BareApplicantSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = BareApplication
        fields = ["nik", "full_name", "sex", "date_of_birth", "place_of_birth", "mother_name",
                  "address", "phone", "email"]


class BareApplicationSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    # source="*": the nested object is read into (and written from) the same flat row, so the
    # request body is byte-for-byte the one POST /api/v1/applications takes.
    applicant = BareApplicantSerializer(source="*")

    class Meta:
        model = BareApplication
        fields = ["id", "office", "service", "passport_type", "application_type",
                  "appointment_date", "applicant", "created_at"]


class BareApplicationCreate(generics.CreateAPIView):  # type: ignore[type-arg]
    queryset = BareApplication.objects.all()
    serializer_class = BareApplicationSerializer
