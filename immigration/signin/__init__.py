"""Signing in and not being guessed: account/client lockout (django-axes), the second factor
(TOTP, django-otp), hashed expiring API tokens (django-rest-knox), shared Redis throttles, the
client address behind trusted proxies, and the wrong-access-code lock per reference."""
