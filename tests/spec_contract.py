"""Hold the Jira client to Atlassian's OpenAPI specs: a test plugin that checks every request it sends.

Use it in any test that drives the client::

    contract = SpecContract("cloud")
    app = bootstrap(environ=..., extra_plugins={"spec_contract": contract})
    ...  # call tools
    contract.assert_clean()

or around a bare client: ``JiraClient(..., middlewares=[("spec_contract", contract.middleware)])``.

The plugin's ``jira_request_middleware`` is the innermost (``trylast``), so it sees each
request as it leaves for Jira (after caches, once per retry). Each request is matched to its
operation in ``../shared/specs/`` (Cloud platform + Agile for Cloud; Software DC 10.3 for
Data Center) and validated with openapi-core: path, query parameters, security and JSON
body. A multipart upload is checked for what Jira needs (a ``file`` part and
``X-Atlassian-Token: no-check``) since the spec's multipart schema is not machine-checkable.
Specs are parsed once per process. Notes on the specs: ``/work/shared/specs/SOURCES.md``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from werkzeug.datastructures import Headers, ImmutableMultiDict

from jiraplug import hookimpl
from tests.shared_inputs import shared_specs

SPECS = shared_specs()
CLOUD_PLATFORM = "jira-cloud-platform.swagger-v3.v3.json"
CLOUD_AGILE = "jira-software-cloud.swagger.v3.json"
DC_SOFTWARE = "jira-software-dc-10.3.openapi.json"
ADF_SCHEMA = "adf-schema-v1-full.json"

# Each spec's server URL; a captured request is re-homed onto it before matching.
_CLOUD_SERVER = "https://your-domain.atlassian.net"
_DC_SERVER = "http://localhost:8090"  # the DC spec's server is http://{baseurl}/rest, baseurl=localhost:8090
_DC_FILE = re.compile(r"/secure/attachment/\d+/[^/]+$")


def require_specs() -> Path:
    """The specs folder, or skip the calling test with the reason."""
    if not (SPECS / CLOUD_PLATFORM).is_file():
        from tests.conftest import missing_shared_input

        missing_shared_input(f"Atlassian specs not found at {SPECS} (see SOURCES.md there)")
    return SPECS


@functools.cache
def spec_document(name: str) -> dict[str, Any]:
    """A spec file as parsed JSON (once per process)."""
    return json.loads((require_specs() / name).read_text(encoding="utf-8"))


@functools.cache
def openapi(name: str) -> Any:
    """An openapi-core ``OpenAPI`` for a spec file (once per process; no spec validation, see SOURCES.md)."""
    from openapi_core import Config, OpenAPI

    document = spec_document(name)
    if name == DC_SOFTWARE:
        # The DC spec types comma-separated query lists (Jira's Java ``StringList``: ``fields``,
        # ``expand``, ``state``...) as an empty object; on the wire they are strings.
        document = {**document, "components": {**document["components"], "schemas": {
            **document["components"]["schemas"], "StringList": {"type": "string"}}}}
    if name == CLOUD_PLATFORM:
        # The bulk move's schemas require properties they do not have: ``targetToMultipleSourceMapping``
        # and ``issueIdOrKeys``; their properties and example (and Jira) say ``targetToSourcesMapping``
        # and ``issueIdsOrKeys``.
        schemas = document["components"]["schemas"]
        mapping = schemas["targetToSourcesMapping"]
        document = {**document, "components": {**document["components"], "schemas": {
            **schemas, "IssueBulkMovePayload": {**schemas["IssueBulkMovePayload"],
                                                "required": ["targetToSourcesMapping"]},
            "targetToSourcesMapping": {**mapping, "required": [
                "issueIdsOrKeys" if key == "issueIdOrKeys" else key for key in mapping["required"]]}}}}
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@functools.cache
def adf_validator() -> Any:
    """A JSON Schema (draft-04) validator for ADF documents."""
    import jsonschema

    return jsonschema.Draft4Validator(spec_document(ADF_SCHEMA))


def example(spec: str, path: str, method: str, status: str = "200", content: str = "application/json") -> Any:
    """The example response of an operation, decoded (the Cloud specs store examples as JSON strings)."""
    response = spec_document(spec)["paths"][path][method]["responses"][status]
    value = response["content"][content]["example"]
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Checked:
    """One request the contract looked at, and what it found."""

    method: str
    path: str
    spec: str
    problems: tuple[str, ...]


class _OpenAPIRequest:
    """An ``httpx2.Request`` in the shape openapi-core reads (``openapi_core.protocols.Request``)."""

    def __init__(self, request: httpx2.Request, server: str, path: str) -> None:
        self._request = request
        self.host_url = server
        self.path = path
        self.method = request.method.lower()
        query = [(k, v) for k, v in request.url.params.multi_items()]
        from openapi_core.datatypes import RequestParameters

        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(request.headers.multi_items())),
            cookie=ImmutableMultiDict(),
        )

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path

    @property
    def body(self) -> bytes | None:
        content = self._request.content
        return content or None

    @property
    def content_type(self) -> str:
        return (self._request.headers.get("content-type") or "application/json").lower()


class SpecContract:
    """Validates every outgoing Jira request against the spec of ``flavour`` (``"cloud"`` or ``"dc"``)."""

    def __init__(self, flavour: str) -> None:
        if flavour not in ("cloud", "dc"):
            raise ValueError(f"flavour must be 'cloud' or 'dc', got {flavour!r}")
        require_specs()
        self.flavour = flavour
        self.checked: list[Checked] = []

    # ------------------------------------------------------------------ plugin API

    @hookimpl(trylast=True)
    def jira_request_middleware(self, runtime: Any) -> Any:
        return self.middleware

    def middleware(self, send: Any) -> Any:
        """A ``wrap(send) -> send`` middleware that checks, then sends unchanged."""

        async def checked(request: httpx2.Request) -> httpx2.Response:
            self.check(request)
            return await send(request)

        return checked

    # ------------------------------------------------------------------ checking

    @property
    def violations(self) -> list[Checked]:
        """The requests the specs reject."""
        return [c for c in self.checked if c.problems]

    def assert_clean(self, *, at_least: int = 1) -> None:
        """Fail the test if any request was rejected, or fewer than ``at_least`` were checked."""
        if self.violations:
            lines = [f"{c.method} {c.path} ({c.spec}): {'; '.join(c.problems)}" for c in self.violations]
            pytest.fail("requests rejected by Atlassian's specs:\n" + "\n".join(lines), pytrace=False)
        assert len(self.checked) >= at_least, f"only {len(self.checked)} request(s) reached the spec contract"

    def check(self, request: httpx2.Request) -> Checked:
        """Validate one request; record and return the outcome (a failure to check is a problem too)."""
        try:
            outcome = self._check(request)
        except Exception as exc:  # noqa: BLE001 - must fail the test, not vanish in middleware isolation
            outcome = Checked(request.method, request.url.path, "-", (f"could not be checked: {exc!r}",))
        self.checked.append(outcome)
        return outcome

    def _check(self, request: httpx2.Request) -> Checked:
        if not isinstance(request.stream, httpx2.ByteStream):
            request.read()  # a multipart body is a stream until read; reading keeps it sendable
        raw_path = request.url.raw_path.decode("ascii").split("?", 1)[0]
        rest_path = _rest_path(raw_path)
        if not rest_path and request.method == "GET" and _DC_FILE.search(raw_path):
            # Data Center serves attachment files outside the REST API (not in any spec).
            outcome = Checked(request.method, raw_path, "(file download, outside the REST spec)", ())
        elif not rest_path:
            outcome = Checked(request.method, raw_path, "-", ("not a Jira REST path",))
        else:
            spec, server, spec_path = self._route(rest_path)
            outcome = Checked(request.method, rest_path, spec, tuple(self._problems(request, spec, server, spec_path)))
        return outcome

    def _route(self, rest_path: str) -> tuple[str, str, str]:
        if self.flavour == "dc":
            return DC_SOFTWARE, _DC_SERVER, rest_path
        if rest_path.startswith("/rest/agile/"):
            return CLOUD_AGILE, _CLOUD_SERVER, rest_path
        # The Cloud spec describes REST v3 only; v2 is the same API with wiki-markup bodies.
        return CLOUD_PLATFORM, _CLOUD_SERVER, re.sub(r"^/rest/api/(2|latest)/", "/rest/api/3/", rest_path)

    def _problems(self, request: httpx2.Request, spec: str, server: str, path: str) -> list[str]:
        from openapi_core.validation.request.validators import (
            V30RequestBodyValidator,
            V30RequestParametersValidator,
        )

        api = openapi(spec)
        adapted = _OpenAPIRequest(request, server, path)
        content_type = adapted.content_type
        # Security is checked by hand: the specs declare Basic (and OAuth 2.0 on Cloud), while
        # Data Center also takes personal access tokens as Bearer, which no spec lists.
        problems = _auth_problems(request)
        validators: tuple[type, ...] = (V30RequestParametersValidator,)
        if content_type.startswith("multipart/form-data"):
            problems += _multipart_problems(request)
        else:
            validators += (V30RequestBodyValidator,)
        for validator_cls in validators:
            errors = list(validator_cls(api.spec).iter_errors(adapted))
            problems += [_describe(error) for error in errors]
            if any(type(error).__name__ in ("PathNotFound", "OperationNotFound") for error in errors):
                break  # no operation to check the rest against
        if not problems and request.content and content_type.startswith("application/json"):
            problems += _adf_problems(json.loads(request.content))
        return problems


def _rest_path(raw_path: str) -> str:
    """The path from ``/rest/`` on (drops a context path or the OAuth gateway's ``/ex/jira/{id}``)."""
    index = raw_path.find("/rest/")
    return raw_path[index:] if index >= 0 else ""


def _auth_problems(request: httpx2.Request) -> list[str]:
    scheme = request.headers.get("authorization", "").partition(" ")[0].lower()
    return [] if scheme in ("basic", "bearer") else ["no Basic or Bearer Authorization header"]


def _multipart_problems(request: httpx2.Request) -> list[str]:
    problems = []
    if request.headers.get("x-atlassian-token", "").lower() != "no-check":
        problems.append("multipart upload without header X-Atlassian-Token: no-check")
    if not re.search(rb'Content-Disposition: form-data; name="file"; filename="[^"]+"', request.content):
        problems.append('multipart upload without a part named "file" with a filename')
    return problems


def _adf_problems(body: Any) -> list[str]:
    """Every ADF document inside a JSON body must validate against the ADF schema."""
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            if value.get("type") == "doc" and "content" in value:
                for error in adf_validator().iter_errors(value):
                    found.append(f"ADF at {where or 'body'} invalid: {error.message[:200]}")
                return
            for key, item in value.items():
                walk(item, f"{where}.{key}" if where else key)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{where}[{index}]")

    walk(body, "")
    return found


def _describe(error: BaseException) -> str:
    """openapi-core errors nest their reasons; show the innermost ones."""
    text = f"{type(error).__name__}: {error}"
    causes = []
    seen: BaseException | None = error.__cause__ or error.__context__
    while seen is not None and len(causes) < 4:
        detail = getattr(seen, "schema_errors", None)
        if detail:
            causes += [getattr(e, "message", str(e))[:200] for e in detail]
        else:
            causes.append(str(seen)[:200])
        seen = seen.__cause__ or seen.__context__
    return text + (f" ({'; '.join(causes)})" if causes else "")


# ---------------------------------------------------------------------------- the specs' own examples


def schema_example(spec: str, schema: Any, depth: int = 0) -> Any:
    """An instance built from a schema's ``example`` values (for specs without response examples, like DC's).

    Uses an example where the schema (or a property) gives one (JSON-string examples decoded),
    recurses into object properties and array items, and follows ``$ref``.
    """
    if depth > 8 or not isinstance(schema, dict):
        return None
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return schema_example(spec, spec_document(spec)["components"]["schemas"][name], depth + 1)
    value = _decoded(schema.get("example"))
    if value not in (None, {}, []) and not schema.get("properties"):
        return value
    if schema.get("type") == "object" or "properties" in schema or "additionalProperties" in schema:
        out = {}
        for name, sub in (schema.get("properties") or {}).items():
            item = schema_example(spec, sub, depth + 1)
            if item not in (None, {}, []):
                out[name] = item
        extra = schema.get("additionalProperties")
        if not out and isinstance(extra, dict):
            return _decoded(extra.get("example")) or {}
        return out
    if schema.get("type") == "array":
        item = schema_example(spec, schema.get("items"), depth + 1)
        return [item] if item not in (None, {}, []) else []
    return value


def _decoded(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def operation_example(spec: str, method: str, path: str) -> Any:
    """The 200 answer the spec documents for ``method path`` (a concrete path, matched to its template)."""
    paths = spec_document(spec)["paths"]
    template = _template_for(spec, method.lower(), path)
    response = paths[template][method.lower()]["responses"]["200"]
    content = (response.get("content") or {}).get("application/json") or {}
    if content.get("example") is not None:
        return _decoded(content["example"])
    return schema_example(spec, content.get("schema"))


@functools.cache
def _templates(spec: str, method: str) -> list[tuple[re.Pattern[str], str]]:
    found = []
    for template, operations in spec_document(spec)["paths"].items():
        if method in operations:
            pattern = re.escape(template)
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
            found.append((re.compile(f"^{pattern}$"), template))
    # Literal segments beat parameters: /board/filter/{id} before /board/{boardId}/{x}.
    found.sort(key=lambda item: item[1].count("{"))
    return found


def _template_for(spec: str, method: str, path: str) -> str:
    for pattern, template in _templates(spec, method):
        if pattern.match(path):
            return template
    raise KeyError(f"no {method.upper()} {path} in {spec}")


class ExampleResponder:
    """A middleware that answers each request with the spec's documented example, sending nothing.

    With it, the client's own decoding (search pages, offset pages, field lists...) runs on
    what Atlassian documents, not only on what the sandbox produces.
    """

    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.answered: list[str] = []

    def __call__(self, send: Any) -> Any:
        async def answer(request: httpx2.Request) -> httpx2.Response:
            path = _rest_path(request.url.raw_path.decode("ascii").split("?", 1)[0])
            if self.flavour == "dc":
                spec, spec_path = DC_SOFTWARE, path.removeprefix("/rest")
            elif path.startswith("/rest/agile/"):
                spec, spec_path = CLOUD_AGILE, path
            else:
                spec, spec_path = CLOUD_PLATFORM, re.sub(r"^/rest/api/(2|latest)/", "/rest/api/3/", path)
            body = operation_example(spec, request.method, spec_path)
            self.answered.append(f"{request.method} {path}")
            return httpx2.Response(200, json=body, request=request)

        return answer
