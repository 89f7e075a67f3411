"""The applicant and staff PWA."""
