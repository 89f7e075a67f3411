"""Consent to processing personal data (UU PDP 27/2022, art. 20-22): the texts an applicant is
shown, each under a version that is stored with the application.

The texts live in code, not in the database or in gettext catalogues, on purpose: a version is a
promise that its words never change (the office must be able to show which text an applicant
agreed to, years later), a deploy is the only way to change them, and the accept path checks a
submitted version against this table without a query. To change the wording, add a new version
and make it CURRENT; keep the old ones, because phones that cached an older text offline still
submit it, and stored applications name it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConsentText:
    version: str
    title: dict[str, str]
    body: dict[str, str]

    def as_dict(self) -> dict[str, object]:
        return {"version": self.version, "title": self.title, "text": self.body}


_V2026_11 = ConsentText(
    version="2026-11",
    title={
        "id": "Persetujuan pemrosesan data pribadi",
        "en": "Consent to the processing of personal data",
    },
    body={
        "id": (
            "Saya menyetujui Kantor Imigrasi memproses data pribadi saya (NIK, nama, tempat dan "
            "tanggal lahir, nama ibu kandung, alamat, nomor telepon, email, foto, tanda tangan "
            "dan dokumen) untuk memproses permohonan paspor ini, sesuai Undang-Undang Nomor 27 "
            "Tahun 2022 tentang Pelindungan Data Pribadi. Data dikirim ke sistem pusat hanya "
            "untuk pencetakan paspor. Dokumen, foto dan tanda tangan dihapus setelah paspor "
            "diambil atau permohonan ditolak/dibatalkan, dan data permohonan dianonimkan "
            "kemudian, menurut jangka waktu retensi kantor. Saya dapat meminta penghapusan data "
            "di loket selama permohonan belum diproses untuk dicetak."
        ),
        "en": (
            "I agree that the Immigration Office processes my personal data (NIK, name, place "
            "and date of birth, mother's name, address, phone number, email, photo, signature "
            "and documents) to process this passport application, under Law No. 27 of 2022 on "
            "Personal Data Protection. The data goes to the central system only to print the "
            "passport. Documents, photo and signature are deleted after the passport is "
            "collected or the application is refused or cancelled, and the application's data "
            "is anonymised later, according to the office's retention periods. I may ask at "
            "the counter for my data to be erased while the application has not gone to print."
        ),
    },
)

TEXTS: dict[str, ConsentText] = {text.version: text for text in (_V2026_11,)}
CURRENT: ConsentText = _V2026_11


def is_known(version: str) -> bool:
    return version in TEXTS
