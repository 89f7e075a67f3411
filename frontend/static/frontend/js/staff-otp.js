// The one-time-code page: draws the enrolment QR code (the otpauth:// URL with the secret) on
// the device itself with the vendored qrcode-generator, so no QR service ever sees the secret.
import "./staff.js";
import qrcode from "../vendor/qrcode.mjs";

const box = document.getElementById("otp-qr");
if (box?.dataset.otpauth) {
  const qr = qrcode(0, "M");
  qr.addData(box.dataset.otpauth);
  qr.make();
  box.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 8, scalable: true,
                                    alt: "otpauth QR" });
}
