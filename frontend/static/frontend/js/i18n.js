// Bahasa Indonesia first, English on request. A plain dictionary: two languages do not need
// a library, and the choice lives in localStorage so it survives offline reloads.
const DICT = {
  id: {
    skip: "Langsung ke isi", offline: "Anda sedang luring. Data tersimpan di ponsel ini.",
    "nav.apply": "Ajukan", "nav.mine": "Permohonan saya", "nav.track": "Lacak",
    "nav.board": "Layanan kantor", "apply.title": "Ajukan paspor",
    "step.service": "Layanan", "step.person": "Data diri", "step.contact": "Kontak",
    "step.review": "Periksa dan kirim",
    "f.office": "Kantor imigrasi", "f.service": "Layanan", "f.passport_type": "Jenis paspor",
    "f.application_type": "Jenis permohonan",
    "f.appointment_date": "Tanggal kedatangan (opsional)", "f.nik": "NIK",
    "f.full_name": "Nama lengkap", "f.sex": "Jenis kelamin", "f.date_of_birth": "Tanggal lahir",
    "f.place_of_birth": "Tempat lahir", "f.mother_name": "Nama ibu kandung",
    "f.address": "Alamat", "f.phone": "Nomor HP", "f.email": "Email (opsional)",
    "f.reference": "Nomor permohonan", "f.access_code": "Kode akses",
    "service.regular": "Reguler", "service.express": "Percepatan",
    "ptype.electronic": "Elektronik", "ptype.ordinary": "Biasa", "atype.new": "Baru",
    "atype.renewal": "Penggantian habis berlaku", "atype.replacement_lost": "Penggantian hilang",
    "atype.replacement_damaged": "Penggantian rusak", "sex.M": "Laki-laki", "sex.F": "Perempuan",
    "hint.nik": "16 angka, sesuai KTP.",
    "hint.review": "Permohonan disimpan di ponsel ini dan dikirim begitu ada sinyal.",
    back: "Kembali", next: "Lanjut", send: "Kirim permohonan", refresh: "Perbarui status",
    "mine.title": "Permohonan di perangkat ini",
    "mine.empty": "Belum ada permohonan di perangkat ini.",
    "receipt.title": "Tanda terima", "receipt.hint": "Tunjukkan kode QR ini di loket. Simpan kode akses; jangan bagikan.",
    "receipt.missing": "Tanda terima tidak ditemukan di perangkat ini.",
    "track.title": "Lacak permohonan", "track.go": "Lacak",
    "track.remember": "Simpan di perangkat ini", "track.notfound": "Nomor permohonan atau kode akses salah.",
    "board.title": "Layanan kantor", "board.registration": "Pendaftaran",
    "board.express": "Layanan percepatan", "board.printing": "Pencetakan paspor",
    "board.pickup": "Pengambilan paspor", "board.open": "Buka", "board.closed": "Tidak tersedia",
    "board.central": "Sistem pusat", "board.backlog": "Menunggu dikirim ke pusat: {n} permohonan",
    "board.oldest": "terlama {age}", "board.news": "Pengumuman",
    "central.up": "Berjalan", "central.down": "Tidak dapat dihubungi", "central.recovering": "Baru pulih",
    waiting: "Menunggu dikirim", "why.offline": "Ponsel sedang luring; akan dikirim otomatis saat ada sinyal.",
    "why.unreachable": "Server kantor belum dapat dihubungi; dicoba lagi otomatis.",
    "why.busy": "Server kantor sedang sibuk; dicoba lagi otomatis.",
    "why.new": "Sedang mengirim…",
    "needs_fix": "Perlu diperbaiki", fix: "Perbaiki", discard: "Hapus draf",
    "err.active": "Sudah ada permohonan yang sedang berjalan untuk NIK ini. Lacak permohonan itu, atau hubungi kantor imigrasi.",
    "err.express_closed": "Layanan percepatan sedang tidak dibuka di kantor ini.",
    "err.generic": "Permohonan ditolak oleh server: {detail}",
    acknowledged: "Diterima kantor", reference: "Nomor permohonan", access_code: "Kode akses",
    office: "Kantor", status: "Status", "last_fetched": "Terakhir diperbarui {at}",
    "not_fetched": "Status belum pernah diambil.", "stale": "Luring: ini status terakhir yang diketahui.",
    "see_receipt": "Lihat tanda terima", "queue.position": "Posisi antrean ke pusat: {n}",
    "attempted": "Percobaan terakhir {at}",
    "v.active": "Sudah ada permohonan yang sedang berjalan untuk NIK ini.", "v.required": "Wajib diisi.", "v.nik_format": "NIK harus 16 angka.",
    "v.nik_region": "Kode wilayah pada NIK tidak valid.", "v.nik_serial": "Nomor urut NIK tidak boleh 0000.",
    "v.nik_birth_date": "NIK tidak cocok dengan tanggal lahir.",
    "v.nik_sex": "NIK tidak cocok dengan jenis kelamin (tanggal lahir perempuan +40).",
    "v.name_too_short": "Nama terlalu pendek.", "v.name_too_long": "Nama lebih dari 100 karakter.",
    "v.name_characters": "Nama hanya boleh berisi huruf, spasi dan . ' - ,",
    "v.birth_in_future": "Tanggal lahir tidak boleh di masa depan.",
    "v.birth_too_early": "Tanggal lahir tidak masuk akal.",
    "v.appointment_past": "Tanggal kedatangan sudah lewat.",
    "v.appointment_too_far": "Tanggal kedatangan lebih dari setahun lagi.",
    "v.phone_invalid": "Nomor HP tidak valid, contoh 0812-3456-7890.", "v.email": "Email tidak valid.",
    "v.max_length": "Terlalu panjang.",
    "st.received": "Diterima kantor, menunggu verifikasi", "st.queued_for_printing": "Disetujui, menunggu dikirim ke pusat",
    "st.sent_to_central": "Dikirim ke pusat", "st.printing": "Sedang dicetak", "st.printed": "Sudah dicetak",
    "st.ready_for_pickup": "Siap diambil", "st.collected": "Sudah diambil", "st.rejected": "Ditolak",
    "st.needs_attention": "Perlu perbaikan data di kantor", "st.cancelled": "Dibatalkan",
  },
  en: {
    skip: "Skip to content", offline: "You are offline. Your data is kept on this phone.",
    "nav.apply": "Apply", "nav.mine": "My applications", "nav.track": "Track",
    "nav.board": "Office services", "apply.title": "Apply for a passport",
    "step.service": "Service", "step.person": "Personal details", "step.contact": "Contact",
    "step.review": "Check and send",
    "f.office": "Immigration office", "f.service": "Service", "f.passport_type": "Passport type",
    "f.application_type": "Application type",
    "f.appointment_date": "Appointment date (optional)", "f.nik": "NIK",
    "f.full_name": "Full name", "f.sex": "Sex", "f.date_of_birth": "Date of birth",
    "f.place_of_birth": "Place of birth", "f.mother_name": "Mother's maiden name",
    "f.address": "Address", "f.phone": "Mobile number", "f.email": "Email (optional)",
    "f.reference": "Reference", "f.access_code": "Access code",
    "service.regular": "Regular", "service.express": "Express",
    "ptype.electronic": "Electronic", "ptype.ordinary": "Ordinary", "atype.new": "New",
    "atype.renewal": "Renewal (expired)", "atype.replacement_lost": "Replacement (lost)",
    "atype.replacement_damaged": "Replacement (damaged)", "sex.M": "Male", "sex.F": "Female",
    "hint.nik": "16 digits, as on your ID card (KTP).",
    "hint.review": "The application is kept on this phone and sent as soon as there is signal.",
    back: "Back", next: "Next", send: "Send application", refresh: "Refresh status",
    "mine.title": "Applications on this device",
    "mine.empty": "No applications on this device yet.",
    "receipt.title": "Receipt", "receipt.hint": "Show this QR code at the counter. Keep the access code private.",
    "receipt.missing": "This receipt is not on this device.",
    "track.title": "Track an application", "track.go": "Track",
    "track.remember": "Keep on this device", "track.notfound": "Wrong reference or access code.",
    "board.title": "Office services", "board.registration": "Registration",
    "board.express": "Express service", "board.printing": "Passport printing",
    "board.pickup": "Passport pickup", "board.open": "Open", "board.closed": "Unavailable",
    "board.central": "Central system", "board.backlog": "Waiting to be sent to central: {n} applications",
    "board.oldest": "oldest {age}", "board.news": "Announcements",
    "central.up": "Working", "central.down": "Unreachable", "central.recovering": "Recovering",
    waiting: "Waiting to send", "why.offline": "This phone is offline; it will be sent automatically when there is signal.",
    "why.unreachable": "The office server cannot be reached yet; retrying automatically.",
    "why.busy": "The office server is busy; retrying automatically.",
    "why.new": "Sending…",
    "needs_fix": "Needs correcting", fix: "Correct it", discard: "Delete draft",
    "err.active": "An application for this NIK is already in progress. Track that application, or contact the immigration office.",
    "err.express_closed": "Express service is not open at this office right now.",
    "err.generic": "The server refused the application: {detail}",
    acknowledged: "Received by the office", reference: "Reference", access_code: "Access code",
    office: "Office", status: "Status", "last_fetched": "Last updated {at}",
    "not_fetched": "Status not fetched yet.", "stale": "Offline: this is the last known status.",
    "see_receipt": "Show receipt", "queue.position": "Position in the queue to central: {n}",
    "attempted": "Last attempt {at}",
    "v.active": "An application for this NIK is already in progress.", "v.required": "Required.", "v.nik_format": "The NIK must be 16 digits.",
    "v.nik_region": "The NIK's region code is not valid.", "v.nik_serial": "The NIK's serial cannot be 0000.",
    "v.nik_birth_date": "The NIK does not match the date of birth.",
    "v.nik_sex": "The NIK does not match the sex (women's birth day is +40).",
    "v.name_too_short": "Name is too short.", "v.name_too_long": "Name is longer than 100 characters.",
    "v.name_characters": "Names may contain only letters, spaces and . ' - ,",
    "v.birth_in_future": "Date of birth cannot be in the future.",
    "v.birth_too_early": "Date of birth is implausibly early.",
    "v.appointment_past": "The appointment date has passed.",
    "v.appointment_too_far": "The appointment date is more than a year ahead.",
    "v.phone_invalid": "Not a valid mobile number, e.g. 0812-3456-7890.", "v.email": "Not a valid email.",
    "v.max_length": "Too long.",
    "st.received": "Received by the office, awaiting verification", "st.queued_for_printing": "Approved, waiting to be sent to central",
    "st.sent_to_central": "Sent to central", "st.printing": "Printing", "st.printed": "Printed",
    "st.ready_for_pickup": "Ready for pickup", "st.collected": "Collected", "st.rejected": "Rejected",
    "st.needs_attention": "Data needs correcting at the office", "st.cancelled": "Cancelled",
  },
};

export function lang() {
  return localStorage.getItem("lang") === "en" ? "en" : "id";
}

export function t(key, vars = {}) {
  const text = DICT[lang()][key] ?? DICT.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => vars[name] ?? "");
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString(lang() === "en" ? "en-GB" : "id-ID",
    { dateStyle: "medium", timeStyle: "short" }) : "";
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  const toggle = document.getElementById("lang-toggle");
  if (toggle) {
    toggle.textContent = lang() === "en" ? "ID" : "EN";
    toggle.setAttribute("aria-label", lang() === "en" ? "Ganti ke Bahasa Indonesia" : "Switch to English");
  }
}

export function setLang(value) {
  localStorage.setItem("lang", value);
  applyI18n();
  document.dispatchEvent(new CustomEvent("langchange"));
}
