"""Browser tests: the real application under gunicorn, driven by Debian's Chromium."""
