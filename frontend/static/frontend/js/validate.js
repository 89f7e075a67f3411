// The server's field rules (immigration/validation.py, immigration/nik.py), mirrored so the
// applicant hears about a typo while still offline. The server stays the authority: anything
// it refuses later is shown on the same field with the same codes.
const PROVINCES = new Set(("11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 " +
  "63 64 65 71 72 73 74 75 76 81 82 91 92 93 94 95 96").split(" "));
const NAME = /^[\p{L}\p{M}]+(?:[ .'\-,][\p{L}\p{M}]*)*\.?$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function today() {
  // The office's calendar day (Asia/Jakarta), as the server judges dates.
  return new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Jakarta" });
}

export function checkNik(nik, dateOfBirth, sex) {
  if (!/^\d{16}$/.test(nik)) return "nik_format";
  if (!PROVINCES.has(nik.slice(0, 2))) return "nik_region";
  if (nik.slice(2, 4) === "00" || nik.slice(4, 6) === "00") return "nik_region";
  if (nik.slice(12) === "0000") return "nik_serial";
  const day = +nik.slice(6, 8), month = +nik.slice(8, 10), year2 = nik.slice(10, 12);
  const female = day > 40, realDay = female ? day - 40 : day;
  if (realDay < 1 || realDay > 31 || month < 1 || month > 12) return "nik_birth_date";
  if (/^\d{4}-\d{2}-\d{2}$/.test(dateOfBirth || "")) {
    const [y, m, d] = dateOfBirth.split("-");
    if (realDay !== +d || month !== +m || year2 !== y.slice(2)) return "nik_birth_date";
  }
  if ((sex === "M" || sex === "F") && female !== (sex === "F")) return "nik_sex";
  return null;
}

function checkName(value) {
  const clean = value.trim().split(/\s+/).join(" ");
  if (clean.length < 2) return "name_too_short";
  if (clean.length > 100) return "name_too_long";
  return NAME.test(clean) ? null : "name_characters";
}

function checkPhone(value) {
  const digits = value.replace(/[\s\-().]/g, "");
  if (/^(\+62|62|0)[2-9]\d{7,11}$/.test(digits)) return null;
  if (/^\+(?!62)\d{8,15}$/.test(digits)) return null;
  return "phone_invalid";
}

function addYears(iso, years) {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCFullYear(d.getUTCFullYear() + years);
  return d.toISOString().slice(0, 10);
}

// body: the API request body. Returns {"applicant.nik": "nik_birth_date", ...} (first problem
// per field), keyed by the same paths the server uses in its "fields".
export function validateApplication(body) {
  const a = body.applicant, errors = {};
  const need = (path, value) => { if (!String(value ?? "").trim()) errors[path] = "required"; };
  need("office", body.office);
  for (const f of ["nik", "full_name", "sex", "date_of_birth", "place_of_birth", "mother_name",
    "address", "phone"]) need("applicant." + f, a[f]);
  const set = (path, code) => { if (code && !errors[path]) errors[path] = code; };
  const now = today();
  if (a.date_of_birth) {
    set("applicant.date_of_birth", a.date_of_birth > now ? "birth_in_future"
      : a.date_of_birth < "1900-01-01" ? "birth_too_early" : null);
  }
  if (a.nik) set("applicant.nik", checkNik(a.nik.trim(), a.date_of_birth, a.sex));
  if (a.full_name) set("applicant.full_name", checkName(a.full_name));
  if (a.mother_name) set("applicant.mother_name", checkName(a.mother_name));
  if (a.place_of_birth && a.place_of_birth.trim().length < 2) set("applicant.place_of_birth", "name_too_short");
  if (a.address && a.address.trim().length < 5) set("applicant.address", "required");
  if (a.phone) set("applicant.phone", checkPhone(a.phone));
  if (a.email) set("applicant.email", EMAIL.test(a.email) ? null : "email");
  if (!body.consent_version) errors.consent_version = "consent_required";
  if (body.appointment_date) {
    set("appointment_date", body.appointment_date < now ? "appointment_past"
      : body.appointment_date > addYears(now, 1) ? "appointment_too_far" : null);
  }
  return errors;
}
