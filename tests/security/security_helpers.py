"""Constants shared by the security suites (imported by name: pytest puts this directory on sys.path)."""

from __future__ import annotations

CANARY_PASSWORD = "CANARY-pw-7f3a9c"
CANARY_SECRET = "CANARY-secret-51d2e8"
CANARY_TOKEN = "CANARY-sectok-a40b77"
CANARIES = (CANARY_PASSWORD, CANARY_SECRET, CANARY_TOKEN)
