"""Tests that start real servers in other processes (gunicorn, nginx, PostgreSQL, Redis, SMTP)."""
