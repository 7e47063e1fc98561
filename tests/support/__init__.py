"""Helpers the tests share (not tests themselves): building apps, filling forms, the gunicorn
harness, consistency checks, scratch PostgreSQL databases."""
