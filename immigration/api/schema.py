"""The error half of the OpenAPI schema, written once for every operation.

drf-spectacular documents what a view returns when all goes well. The refusals come from shared
machinery (authentication, permissions, throttles, the request guard, `errors.DOMAIN_ERRORS`),
so a view cannot list them without repeating that machinery. This post-processing hook adds
them from what the operation itself shows: a path parameter can name nothing (404), a body can
be too large or of the wrong type (413, 415), an operation that needs credentials can be refused
them (401, 403), a write can conflict with the application's state (409) or reuse an
Idempotency-Key (422), a tus request can break the tus protocol. An operation names any other
refusal it can give with `extend_schema(extensions={ERRORS: ["401"]})`; explicit responses a view
documents itself are kept as they are.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Every refusal has this shape.",
    "properties": {
        "error": {"type": "string", "description": "Stable machine-readable code."},
        "detail": {"description": "Human-readable text in the requester's language."},
        "fields": {
            "type": "object",
            "description": "Per-field messages, keyed by dotted path (applicant.nik).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["error", "detail"],
}

ERRORS = "x-tangguh-errors"

_DESCRIPTIONS = {
    "400": "Bad input: nothing was changed.",
    "401": "Credentials missing or invalid.",
    "403": "Authenticated, but not allowed to do this.",
    "404": "Nothing here, or not yours to see (the same answer for both).",
    "409": "Refused in the current state (for example an illegal status change).",
    "410": "This upload expired; start it again.",
    "411": "A Content-Length is required.",
    "412": "Send Tus-Resumable: 1.0.0.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "422": "The content cannot be used (an Idempotency-Key reused with a different body, an "
           "empty or damaged file).",
    "429": "Too many requests: retry after the Retry-After header.",
    "460": "The chunk does not match its Upload-Checksum (tus checksum extension).",
    "503": "The database is unreachable: nothing was changed; retry later.",
}
# tus (immigration/dossier/api.py) refuses in its own protocol's terms.
_TUS = {"403", "409", "410", "411", "412", "415", "422", "460"}
_WRITES = {"post", "put", "patch", "delete"}
_METHODS = _WRITES | {"get", "head", "options", "trace"}


def _statuses(path: str, method: str, operation: dict[str, Any]) -> set[str]:
    statuses = {"400", "429", "503"}
    if "{" in path:
        statuses.add("404")
    if "requestBody" in operation:
        statuses |= {"413", "415"}
    if {} not in operation.get("security", [{}]):
        statuses |= {"401", "403"}
    if method in _WRITES:
        statuses.add("409")
    headers = {p.get("name") for p in operation.get("parameters", []) if p.get("in") == "header"}
    if "Idempotency-Key" in headers:
        statuses.add("422")
    if "Tus-Resumable" in headers:
        statuses |= _TUS
    return statuses | {str(status) for status in operation.pop(ERRORS, [])}


def document_error_responses(result: dict[str, Any], generator: Any, request: Any,
                             public: bool) -> dict[str, Any]:
    """POSTPROCESSING_HOOKS entry: add the shared refusals to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    error_content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, operation)):
                responses.setdefault(status, {"description": _DESCRIPTIONS[status],
                                              "content": error_content})
    return result
