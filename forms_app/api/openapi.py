"""The OpenAPI 3.1 document of the JSON API (served at /api/openapi.json).

Built from the content, so the document names exactly what the API accepts: the service ids,
each service's use ids, the event ids and the years the working-day calendar answers for
(schemathesis checks the API against it: tests/api/test_api_schema.py)."""

from __future__ import annotations

import copy
from typing import Any

from service_rules import Rules

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
MAX_EVENTS = 50
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
                    "events": {"type": "object", "maxProperties": MAX_EVENTS,
                               "description": "event id: date; none given when left out",
                               "additionalProperties": {"type": "string", "format": "date"},
                               "example": {"request": "2026-11-24",
                                           "admission_slip_issued": "2026-11-26"}}},
                "required": ["service_id"]}}}},
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
        "/api/openapi.json": {"get": {"summary": "This document", "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {
                "application/json": {"schema": {"type": "object"}}}}}}},
    },
}


def _year_pattern(first: int, last: int) -> str:
    years = "|".join(str(y) for y in range(first, last + 1))
    return rf"^({years})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def openapi_document(rules: Rules) -> dict[str, Any]:
    """OPENAPI with the request body narrowed to what the content defines: one alternative per
    service (its id, its uses; a use required when it has several), known event ids, and
    dates in the years the calendar covers (the last one left out: a promise counted from
    late December runs into the next year)."""
    content = rules.content
    doc = copy.deepcopy(OPENAPI)
    body = doc["paths"]["/api/promises"]["post"]["requestBody"]["content"]["application/json"]
    general = body["schema"]
    date = {"type": "string", "format": "date",
            "pattern": _year_pattern(rules.calendar.first_year, rules.calendar.last_year - 1)}
    events = {**general["properties"]["events"], "additionalProperties": date,
              "propertyNames": {"enum": list(content.event_by_id)}}
    alternatives = []
    for service in content.services:
        uses = [u.id for u in service.uses]
        alternatives.append({
            "type": "object", "title": service.id,
            "properties": {"service_id": {"const": service.id},
                           "use_id": {**general["properties"]["use_id"], "enum": uses},
                           "events": events},
            "required": ["service_id", *(["use_id"] if len(uses) > 1 else [])]})
    body["schema"] = {"oneOf": alternatives}
    return doc
