"""The OpenAPI 3.1 document of the JSON API (served at /api/openapi.json)."""

from __future__ import annotations

from typing import Any

_ERROR = {"type": "object", "properties": {"error": {"type": "string"},
                                           "field": {"type": "string"}},
          "required": ["error"]}
_PROMISE = {
    "type": "object",
    "properties": {
        "promise_id": {"type": "string"}, "use_id": {"type": "string"},
        "promise": {"type": "string"}, "sentence": {"type": "string"},
        "started": {"type": "boolean",
                    "description": "false until every starting event has a date"},
        "waiting_for": {"type": "array", "items": {"type": "string"},
                        "description": "names of starting events without a date yet"},
        "date": {"type": "string", "format": "date", "description": "the promised date"},
        "start": {"type": "string", "format": "date",
                  "description": "the day the clock starts from (does not count)"},
        "working_days": {"type": "integer"},
        "rule": {"type": "string", "description": "the rule in plain Chinese"},
        "provisional": {"type": "boolean",
                        "description": "true when a year's official holiday arrangement "
                                       "is not yet published"},
        "provisional_years": {"type": "array", "items": {"type": "integer"}},
        "notes": {"type": "array", "items": {"type": "string"}},
        "error": {"type": ["string", "null"]},
    },
    "required": ["promise_id", "use_id", "started"],
}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Cancer-care services API", "version": "1.0.0",
             "description": "Services and promised dates (mainland-China working days, "
                            "Asia/Shanghai). Dates are YYYY-MM-DD."},
    "paths": {
        "/api/services": {"get": {
            "summary": "List the services with their uses, promises, documents and samples",
            "responses": {"200": {"description": "The services", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "content_version": {"type": "string"},
                    "services": {"type": "array", "items": {"type": "object"}},
                    "hotline": {"type": "object"}}}}}}}}},
        "/api/promises": {"post": {
            "summary": "Promised dates for a service use, given the dates of events so far",
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {
                    "service_id": {"type": "string", "example": "green_channel"},
                    "use_id": {"type": "string", "example": "inpatient",
                               "description": "optional when the service has one use"},
                    "events": {"type": "object",
                               "additionalProperties": {"type": "string", "format": "date"},
                               "example": {"request": "2026-11-24",
                                           "admission_slip_issued": "2026-11-26"}}},
                "required": ["service_id", "events"]}}}},
            "responses": {
                "200": {"description": "One entry per promise of the use", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "service_id": {"type": "string"}, "use_id": {"type": "string"},
                        "content_version": {"type": "string"},
                        "promises": {"type": "array", "items": _PROMISE}}}}}},
                "400": {"description": "Not JSON",
                        "content": {"application/json": {"schema": _ERROR}}},
                "422": {"description": "Unknown service, use or event, or a bad date",
                        "content": {"application/json": {"schema": _ERROR}}}}}},
        "/api/openapi.json": {"get": {"summary": "This document",
                                      "responses": {"200": {"description": "OpenAPI 3.1"}}}},
    },
}
