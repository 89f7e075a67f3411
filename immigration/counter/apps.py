from __future__ import annotations

from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "immigration.counter"
    label = "counter"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Counter"

    def ready(self) -> None:
        from immigration import readiness
        from immigration.api.errors import DOMAIN_ERRORS, ApiError
        from immigration.counter.billing import register_payment_topic
        from immigration.counter.errors import CounterRefused
        from immigration.counter.fees import payment_blockers
        from immigration.counter.verification import interview_blockers, signoff_blockers

        readiness.register("interview", interview_blockers)
        readiness.register("payment", payment_blockers)
        readiness.register("signoff", signoff_blockers)
        register_payment_topic()
        DOMAIN_ERRORS[CounterRefused] = lambda e: ApiError(e.code, e.detail, e.status, **e.extra)
