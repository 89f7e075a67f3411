"""What notifications say, in Bahasa Indonesia (default) and English.

Kept as one table here rather than in .po files: texts are built by workers with no request
(and no active language), and each must be byte-identical on every attempt, because the SMS
gateway dedupes on the key and refuses the same key with different words.

Rule: no personal data beyond what the recipient already knows, the reference and the status.
Never a name, a NIK, a staff note or a rejection reason (it may name someone): for "what to
do", the text points to the status page and the office.
"""

from __future__ import annotations

from typing import Any, Final

from django.conf import settings

# Kinds of notification. Urgent ones are not held through quiet hours: the applicant has to act.
QUEUED: Final = "queued"
SENT: Final = "sent"
READY: Final = "ready"
NEEDS_ATTENTION: Final = "needs_attention"
REJECTED: Final = "rejected"
RESUMED: Final = "resumed"
URGENT: frozenset[str] = frozenset({NEEDS_ATTENTION, REJECTED})

_TEXTS: dict[str, dict[str, str]] = {
    "id": {
        QUEUED: "Paspor {refs}: disetujui dan masuk antrean cetak.",
        SENT: "Paspor {refs}: sudah diterima pusat percetakan.",
        READY: "Paspor {refs} siap diambil di kantor imigrasi. Bawa tanda terima dan KTP asli.",
        NEEDS_ATTENTION: "Permohonan {refs} perlu perbaikan data. Buka halaman status atau "
                         "datang ke kantor dengan tanda terima.",
        REJECTED: "Permohonan {refs} ditolak. Lihat alasannya di halaman status dengan kode "
                  "akses Anda, atau tanya di kantor.",
        RESUMED: "Pencetakan paspor di kantor Anda berjalan kembali. Permohonan {refs} sedang "
                 "atau sudah dikirim untuk dicetak.",
    },
    "en": {
        QUEUED: "Passport {refs}: approved and queued for printing.",
        SENT: "Passport {refs}: received by the central printing office.",
        READY: "Passport {refs} is ready for pickup at the immigration office. Bring the "
               "receipt and your original KTP.",
        NEEDS_ATTENTION: "Application {refs} needs its data corrected. Open the status page or "
                         "visit the office with your receipt.",
        REJECTED: "Application {refs} was rejected. See why on the status page with your "
                  "access code, or ask at the office.",
        RESUMED: "Passport printing has resumed at your office. Application {refs} is being "
                 "or has been sent for printing.",
    },
}
_TITLE = {"id": "Status paspor", "en": "Passport status"}
_PUSH_STOP = {"id": "Berhenti", "en": "Stop notifications"}  # the notification's action
_SMS_STOP = {"id": "Berhenti: balas STOP atau {url}", "en": "To stop: reply STOP or {url}"}
STOP_KEYWORDS = frozenset({"STOP", "BERHENTI", "UNREG"})
MAX_REFERENCES = 3


def _language(language: str) -> str:
    return language if language in _TEXTS else "id"


def references(refs: list[str]) -> str:
    refs = sorted(refs)
    shown = ", ".join(refs[:MAX_REFERENCES])
    return shown if len(refs) <= MAX_REFERENCES else f"{shown} (+{len(refs) - MAX_REFERENCES})"


def stop_url(token: str) -> str:
    return f"{settings.OFFICE_PUBLIC_URL.rstrip('/')}/stop/{token}"


def body(kind: str, language: str, refs: list[str]) -> str:
    return _TEXTS[_language(language)][kind].format(refs=references(refs))


def sms_text(kind: str, language: str, refs: list[str], *, stop_token: str) -> str:
    lang = _language(language)
    return f"{body(kind, lang, refs)} {_SMS_STOP[lang].format(url=stop_url(stop_token))}"


def push_data(kind: str, language: str, refs: list[str], *, stop_token: str,
              tag: str) -> dict[str, Any]:
    """What the service worker shows (see frontend serviceworker.js, "push")."""
    lang = _language(language)
    # The worker passes this object to showNotification as it is (options and `data`), so the
    # words, the tag and the "stop" action are decided here and the precached worker stays small.
    return {"title": _TITLE[lang], "body": body(kind, lang, refs), "url": "/mine",
            "stop_url": stop_url(stop_token), "tag": tag, "lang": lang,
            "actions": [{"action": "stop", "title": _PUSH_STOP[lang]}]}
