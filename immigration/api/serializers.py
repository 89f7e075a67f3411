"""Input and output shapes of the office API. Plain serializers: parsing and validation only;
the domain functions do the work."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import serializers

from immigration import consent, validation
from immigration.models import ApplicationType, PassportType, Service, Sex
from immigration.nik import check_nik


class StrictCharField(serializers.CharField):
    """DRF's CharField quietly turns 42 into "42"; a wrong JSON type is a client bug (400)."""

    default_error_messages = {
        "not_a_string": gettext_lazy("Must be a string."),
        "not_unicode": gettext_lazy("Contains characters that are not valid Unicode."),
    }

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: JSON allows "\ud800", UTF-8 does not
            self.fail("not_unicode")
        return super().to_internal_value(data)  # type: ignore[no-any-return,unused-ignore]


class StrictDateField(serializers.DateField):
    default_error_messages = {
        "not_a_string": gettext_lazy("Must be a date string (YYYY-MM-DD).")
    }

    def to_internal_value(self, value: Any) -> dt.date:
        if not isinstance(value, str):
            self.fail("not_a_string")
        return super().to_internal_value(value)


class StrictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Unknown fields are refused (400) rather than silently ignored: a misspelled optional
    field (`emial`) must not be lost without the client noticing."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [serializers.ErrorDetail(_("Unknown field."), code="unknown_field")]
                     for name in unknown}
                )
        return super().to_internal_value(data)


def _django_rule(rule: Any, value: Any) -> Any:
    try:
        return rule(value)
    except DjangoValidationError as exc:
        raise serializers.ValidationError(
            [serializers.ErrorDetail(str(m), code=exc.code) for m in exc.messages]
        ) from exc


class ApplicantInput(StrictSerializer):
    nik = StrictCharField(min_length=1, max_length=32)
    full_name = StrictCharField(max_length=200)
    sex = serializers.ChoiceField(choices=Sex.choices)
    date_of_birth = StrictDateField()
    place_of_birth = StrictCharField(min_length=2, max_length=100)
    mother_name = StrictCharField(max_length=200)
    address = StrictCharField(min_length=5, max_length=300)
    phone = StrictCharField(max_length=30)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=200)

    def validate_full_name(self, value: str) -> str:
        return _django_rule(validation.clean_person_name, value)

    def validate_mother_name(self, value: str) -> str:
        return _django_rule(validation.clean_person_name, value)

    def validate_date_of_birth(self, value: dt.date) -> dt.date:
        return _django_rule(validation.clean_birth_date, value)

    def validate_phone(self, value: str) -> str:
        return _django_rule(validation.clean_phone, value)

    def validate_nik(self, value: str) -> str:
        problem = check_nik(value.strip(), date_of_birth=None, sex=None)
        if problem:
            raise serializers.ValidationError(
                [serializers.ErrorDetail(problem.message, code=problem.code)]
            )
        return value.strip()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Cross-field: the NIK encodes the birth date and the sex.
        problem = check_nik(attrs["nik"], date_of_birth=attrs["date_of_birth"], sex=attrs["sex"])
        if problem:
            raise serializers.ValidationError(
                {"nik": [serializers.ErrorDetail(problem.message, code=problem.code)]}
            )
        return attrs


def applicant_rules(record: dict[str, Any]) -> dict[str, Any]:
    """A whole applicant record validated as a submission's would be (for corrections)."""
    form = ApplicantInput(data=record)
    if not form.is_valid():
        raise serializers.ValidationError({"applicant": form.errors})
    return dict(form.validated_data)


class ApplicationInput(StrictSerializer):
    office = StrictCharField(max_length=6)
    service = serializers.ChoiceField(choices=Service.choices)
    passport_type = serializers.ChoiceField(choices=PassportType.choices)
    application_type = serializers.ChoiceField(choices=ApplicationType.choices)
    applicant = ApplicantInput()
    appointment_date = StrictDateField(required=False, allow_null=True)
    # {date, slot, priority?}: books a quota slot with the submission (immigration.counter).
    appointment = serializers.DictField(required=False)
    # The version of the consent text (GET /api/v1/consent) the applicant agreed to; for a
    # walk-in, the text the clerk showed them. Checked against the texts in code: no query.
    consent_version = StrictCharField(max_length=20)

    def validate_consent_version(self, value: str) -> str:
        if not consent.is_known(value):
            raise serializers.ValidationError(
                [serializers.ErrorDetail(_("Unknown consent text version."),
                                         code="unknown_consent_version")]
            )
        return value

    def validate_appointment(self, value: dict[str, Any]) -> dict[str, Any]:
        from immigration.counter.api import AppointmentInput

        form = AppointmentInput(data=value)
        form.is_valid(raise_exception=True)
        return dict(form.validated_data)

    def validate_appointment_date(self, value: dt.date | None) -> dt.date | None:
        if value is None:
            return None
        return _django_rule(validation.clean_appointment_date, value)


class SubmissionOutput(serializers.Serializer):  # type: ignore[type-arg]
    reference = serializers.CharField()
    access_code = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    submitted_at = serializers.DateTimeField()


class ReasonInput(StrictSerializer):
    reason = StrictCharField(min_length=3, max_length=300)


class ResubmitInput(StrictSerializer):
    # Corrections only; they are merged with the stored data and the result validated whole.
    applicant = serializers.DictField(required=False)


class AnnouncementInput(StrictSerializer):
    message = StrictCharField(min_length=3, max_length=500)


class TimelineEntry(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    at = serializers.DateTimeField()
    note = serializers.CharField(allow_blank=True)


class QueueInfo(serializers.Serializer):  # type: ignore[type-arg]
    position = serializers.IntegerField(allow_null=True)
    central_state = serializers.CharField()
    central_since = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class ApplicationOutput(serializers.Serializer):  # type: ignore[type-arg]
    reference = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    service = serializers.CharField()
    passport_type = serializers.CharField()
    application_type = serializers.CharField()
    office = serializers.DictField()
    submitted_at = serializers.DateTimeField()
    appointment_date = serializers.DateField(allow_null=True)
    attention_reason = serializers.CharField(allow_blank=True)
    timeline = TimelineEntry(many=True)
    queue = QueueInfo(allow_null=True)
    dossier = serializers.DictField(help_text="required, files, missing (see dossier app)")
    appointment = serializers.DictField(required=False)  # the counter's quota slot
    applicant = serializers.DictField(required=False, help_text="staff only")
    data_version = serializers.IntegerField(required=False, help_text="staff only")
    lookups_locked_until = serializers.DateTimeField(
        required=False, allow_null=True,
        help_text="staff only: lookups with an access code are locked until then (too many "
                  "wrong codes)")
    consent_version = serializers.CharField(required=False, help_text="staff only")
    anonymised_at = serializers.DateTimeField(required=False, allow_null=True,
                                              help_text="staff only")


class ApplicationPageOutput(serializers.Serializer):  # type: ignore[type-arg]
    """One page of the staff list (DRF's PageNumberPagination shape)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ApplicationOutput(many=True)
