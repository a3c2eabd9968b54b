#!/usr/bin/env python3
"""docs/openapi.yaml against the real keepsaked.

  (a) `keepsaked --list-routes` and the spec name exactly the same operations;
  (b) on a running daemon (HTTPS, tests/fixtures/daemon.py), every documented operation
      answers (it is not the router's 404 "no such API route"), with a status code the spec
      lists for it, the documented content type and required headers, and a body that
      matches the documented schema. Each operation is probed with a default request (path
      parameters a valid name, body {} for POST/PUT) with the administrator's Bearer token
      on a fresh appliance and again once a DMS and a storage are set, plus the requests
      that reach its other answers: invalid JSON, a body over the limit, invalid fields, a
      real backup, the Initial OTP User's session, logins (form and JSON, refresh, wrong
      password, throttling), accounts, logout, cookie sessions with and without the CSRF
      header;
  (c) access: every operation the spec marks as needing a session, and every route of
      `keepsaked --list-routes` that is not public, refuses an anonymous request (and an
      invalid token or cookie) with 401, WWW-Authenticate and the Error shape; the public
      operations (exactly PUBLIC_ROUTES) do not answer 401 anonymously;
  (d) the spec's structure: OpenAPI 3.0.3, every $ref resolves, every operation has a 2xx
      answer and an operationId unique in the spec, path parameters are declared, every
      error answer uses the Error schema, the security schemes, and every session operation
      documents 401 (and, when it changes state, the CSRF 403).

Standard library, python3-yaml and python3-jsonschema. Binary: env KEEPSAKED_BIN (ctest sets
it), else <repository>/build/keepsaked. Source tree: env KEEPSAKE_SOURCE_DIR, else relative
to this file.
Run: python3 tests/integration/test_openapi.py -v
"""

import hashlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import jsonschema
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import daemon as daemon_fixture  # noqa: E402
from paths import KEEPSAKED_BIN, REPO  # noqa: E402
SPEC_PATH = os.path.join(REPO, "docs", "openapi.yaml")

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
SAMPLE_NAME = "host_20260101T000000Z.ksb"  # a syntactically valid backup file name
DMS = "openapi test domain secret"
ROUTE_LINE = re.compile(r"^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS|TRACE) (/\S*)$")

STATE_CHANGING = ("POST", "PUT", "DELETE")  # need the CSRF header with a cookie session

# Components the API description must define (the service's and Webconf access's briefs).
REQUIRED_SCHEMAS = ("Error", "Job", "Status", "Schedule", "ScheduleAnswer", "Retention", "Settings", "Storage",
                    "DmsInfo", "BackupList", "BackupDetails", "RestoreRequest", "RestoreState",
                    "TokenRequest", "TokenAnswer", "Session", "UserList", "AddUserRequest", "Message")

# The routes that need no session (Access::kPublic in src/web/api_routes.cc and auth_routes.cc,
# by design: liveness and login). Every other route needs one.
PUBLIC_ROUTES = {("GET", "/api/v1/health"), ("POST", "/oauth/token")}


def setUpModule():
    if not (os.path.isfile(KEEPSAKED_BIN) and os.access(KEEPSAKED_BIN, os.X_OK)):
        raise RuntimeError(f"keepsaked binary not found or not executable: {KEEPSAKED_BIN} "
                           "(build it, or set KEEPSAKED_BIN)")
    if not os.path.isfile(SPEC_PATH):
        raise RuntimeError(f"API description not found: {SPEC_PATH} (set KEEPSAKE_SOURCE_DIR)")


def load_spec():
    with open(SPEC_PATH) as f:
        return yaml.safe_load(f)


def operations(spec):
    """{(METHOD, path): operation object} of every operation in the spec."""
    ops = {}
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and method in item:
                ops[(method.upper(), path)] = item[method]
    return ops


def needs_session(spec, op):
    """Whether the operation's effective security requires credentials: its own `security`,
    else the document's; [] (or a requirement {} among the alternatives) means anonymous is
    allowed."""
    security = op.get("security", spec.get("security", []))
    return bool(security) and all(bool(req) for req in security)


def served_routes():
    """{(METHOD, path)} of `keepsaked --list-routes`; raises AssertionError on a bad line."""
    proc = subprocess.run([KEEPSAKED_BIN, "--list-routes"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise AssertionError(f"keepsaked --list-routes failed: {proc.stderr}")
    served, bad = set(), []
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        m = ROUTE_LINE.match(line.strip())
        if m:
            served.add((m.group(1), m.group(2)))
        else:
            bad.append(line)
    if bad:
        raise AssertionError(f'lines of --list-routes that are not "METHOD PATH": {bad}')
    if not served:
        raise AssertionError("keepsaked --list-routes printed no routes")
    return served


def resolve_pointer(spec, ref):
    """The object a local $ref ("#/a/b") names; KeyError if it does not resolve."""
    if not ref.startswith("#/"):
        raise KeyError(f"{ref}: only local references are used here")
    node = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(ref)
    return node


def deref(spec, obj):
    while isinstance(obj, dict) and "$ref" in obj:
        obj = resolve_pointer(spec, obj["$ref"])
    return obj


def all_refs(node, where="#"):
    """(location, $ref) of every reference in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from all_refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, f"{where}/{i}")


# -- schemas: OpenAPI 3.0 schema objects checked by python3-jsonschema ------------------------
# An OpenAPI 3.0 schema object is JSON Schema draft 4 (exclusiveMinimum a boolean, $ref
# replacing its siblings) plus `nullable`, which JSON Schema does not know: to_json_schema()
# maps it to "also null", and keeps OpenAPI's rule that null is valid only where nullable
# says so (in JSON Schema a schema without a type would take null too). $refs
# ("#/components/schemas/X") point into the converted spec, registered under SPEC_URI.

SPEC_URI = "urn:keepsake:openapi"
# The keywords of the OpenAPI 3.0.3 Schema Object ("x-" extensions aside). jsonschema ignores
# keywords it does not know, so a misspelt one ("requird") would silently check nothing:
# test_schemas_use_only_openapi_keywords refuses any other.
OPENAPI_SCHEMA_KEYWORDS = {
    "$ref", "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties", "required",
    "enum", "type", "allOf", "oneOf", "anyOf", "not", "items", "properties", "additionalProperties",
    "description", "format", "default", "nullable", "discriminator", "readOnly", "writeOnly", "xml",
    "externalDocs", "example", "deprecated"}
# OpenAPI-only annotations that JSON Schema has no use for.
ANNOTATIONS = {"nullable", "discriminator", "readOnly", "writeOnly", "xml", "externalDocs", "example", "deprecated"}


def subschemas(schema):
    """(keyword path, subschema) of every schema directly inside `schema`."""
    for name, sub in (schema.get("properties") or {}).items():
        yield f"properties/{name}", sub
    for key in ("items", "not", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield key, schema[key]
    for key in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(key) or []):
            yield f"{key}/{i}", sub


def to_json_schema(schema):
    """The JSON Schema (draft 4) equivalent of an OpenAPI 3.0 schema object."""
    if "$ref" in schema:  # OpenAPI 3.0: the siblings of a $ref are ignored
        ref = schema["$ref"]
        return {"$ref": SPEC_URI + ref if ref.startswith("#") else ref}
    out = {k: v for k, v in schema.items() if k not in ANNOTATIONS and not k.startswith("x-")}
    for path, sub in subschemas(schema):
        parts = path.split("/")
        if parts[0] == "properties":
            out["properties"] = dict(out["properties"])
            out["properties"][parts[1]] = to_json_schema(sub)
        elif len(parts) == 1:
            out[parts[0]] = to_json_schema(sub)
        else:
            out[parts[0]] = list(out[parts[0]])
            out[parts[0]][int(parts[1])] = to_json_schema(sub)
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    if not any(k in schema for k in ("type", "allOf", "anyOf", "oneOf")):
        return {"allOf": [out, {"not": {"type": "null"}}]}
    return out


_CONVERTED = {}  # id(spec) -> (spec, the spec with every component schema converted)


def converted_spec(spec):
    if id(spec) not in _CONVERTED:
        copy = dict(spec)
        components = dict(spec.get("components") or {})
        components["schemas"] = {name: to_json_schema(s) for name, s in (components.get("schemas") or {}).items()}
        copy["components"] = components
        _CONVERTED[id(spec)] = (spec, copy)  # keeps spec alive, so its id is not reused
    return _CONVERTED[id(spec)][1]


def schema_validator(spec, schema):
    """A jsonschema validator of `schema` whose $refs resolve in `spec`."""
    target = to_json_schema(schema)
    try:  # jsonschema >= 4.18 resolves through the `referencing` library
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4
        registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(converted_spec(spec), default_specification=DRAFT4))
        return jsonschema.Draft4Validator(target, registry=registry)
    except ImportError:  # Debian 12's python3-jsonschema 4.10: a RefResolver with a store
        resolver = jsonschema.RefResolver.from_schema(target, store={SPEC_URI: converted_spec(spec)})
        return jsonschema.Draft4Validator(target, resolver=resolver)


def validate(spec, value, schema, where="$"):
    """Messages for each way `value` breaks `schema` (empty: valid)."""
    errors = []
    for e in sorted(schema_validator(spec, schema).iter_errors(value), key=lambda e: list(map(str, e.absolute_path))):
        path = where + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in e.absolute_path)
        detail = f" ({jsonschema.exceptions.best_match(e.context).message})" if e.context else ""
        errors.append(f"{path}: {e.message}{detail}")
    return errors


def all_schemas(spec):
    """(location, schema object) of every schema in the spec, nested ones included."""
    def walk(where, schema):
        if isinstance(schema, dict):
            yield where, schema
            for path, sub in subschemas(schema):
                yield from walk(f"{where}/{path}", sub)
    for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        yield from walk(f"#/components/schemas/{name}", schema)
    for (method, path), op in operations(spec).items():
        bodies = [("requestBody", deref(spec, op.get("requestBody") or {}))]
        bodies += [(f"responses/{code}", deref(spec, r)) for code, r in (op.get("responses") or {}).items()]
        params = [deref(spec, p) for p in op.get("parameters") or []]
        for where, body in bodies:
            for media, content in (body.get("content") or {}).items():
                if "schema" in content:
                    yield from walk(f"{method} {path} {where} {media}", content["schema"])
        for p in params:
            if "schema" in p:
                yield from walk(f"{method} {path} parameter {p.get('name')}", p["schema"])


class ValidatorSelfTest(unittest.TestCase):
    """The schema checks must be able to fail: wrong bodies against a small spec that uses
    what docs/openapi.yaml uses (nullable, $ref, allOf, enum, additionalProperties), and
    against the real Error schema."""

    SPEC = {"components": {"schemas": {
        "Leaf": {"type": "string", "enum": ["a", "b"]},
        "Thing": {"type": "object", "required": ["n"], "additionalProperties": False, "properties": {
            "n": {"type": "integer", "nullable": True, "minimum": 0},
            "child": {"allOf": [{"$ref": "#/components/schemas/Leaf"}], "nullable": True},
            "leaf": {"$ref": "#/components/schemas/Leaf"},
            "anything": {"description": "no type: any value but null"},
            "list": {"type": "array", "maxItems": 2, "items": {"type": "string", "pattern": "^x"}}}}}}}
    THING = {"$ref": "#/components/schemas/Thing"}

    def test_valid_bodies_pass(self):
        for body in ({"n": None, "child": None}, {"n": 3, "child": "a", "leaf": "b", "anything": [1], "list": ["x1"]}):
            self.assertEqual(validate(self.SPEC, body, self.THING), [], body)

    def test_wrong_bodies_fail(self):
        for body in ({}, {"n": -1}, {"n": "3"}, {"n": True}, {"n": 1, "child": "c"}, {"n": 1, "leaf": None},
                     {"n": 1, "anything": None}, {"n": 1, "extra": 0}, {"n": 1, "list": ["x", "y", "z"]},
                     {"n": 1, "list": ["y"]}, [], None):
            self.assertNotEqual(validate(self.SPEC, body, self.THING), [], body)

    def test_messages_name_the_field(self):
        errors = validate(self.SPEC, {"n": 1, "child": "c"}, self.THING)
        self.assertEqual(len(errors), 1, errors)
        self.assertTrue(errors[0].startswith("$.child: "), errors)

    def test_a_wrong_error_body_fails_against_the_real_spec(self):
        spec = load_spec()
        error = {"$ref": "#/components/schemas/Error"}
        self.assertEqual(validate(spec, {"error": {"code": "not_found", "message": "no such file"}}, error), [])
        for body in ({"error": {"code": "not_found"}}, {"error": "not found"}, {"message": "x"}, "not found", None):
            self.assertNotEqual(validate(spec, body, error), [], body)


# -- (c) ------------------------------------------------------------------------------------

class SpecStructureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.ops = operations(cls.spec)

    def test_version_and_info(self):
        self.assertEqual(self.spec.get("openapi"), "3.0.3")
        info = self.spec.get("info") or {}
        self.assertEqual(info.get("title"), "Keepsake API")
        self.assertEqual(str(info.get("version")), "1")
        text = " ".join(info.get("description", "").split())
        self.assertNotIn("without authentication", text, "info.description still says there is no authentication")
        for words in ("/oauth/token", "password grant", "Authorization: Bearer", "X-CSRF-Token", "keepsake_session",
                      "self-signed", "SHA-256 fingerprint", "401", "429"):
            self.assertIn(words, text, f"info.description must explain access ({words!r})")
        self.assertEqual([s.get("url") for s in self.spec.get("servers", [])], ["https://127.0.0.1:8443"])
        self.assertTrue(self.ops, "no operations in the spec")

    def test_security_schemes(self):
        schemes = (self.spec.get("components") or {}).get("securitySchemes") or {}
        bearer, cookie = schemes.get("bearerAuth") or {}, schemes.get("cookieAuth") or {}
        self.assertEqual((bearer.get("type"), str(bearer.get("scheme")).lower(), bearer.get("bearerFormat")),
                         ("http", "bearer", "opaque"), f"bearerAuth: {bearer}")
        self.assertEqual((cookie.get("type"), cookie.get("in"), cookie.get("name")),
                         ("apiKey", "cookie", "keepsake_session"), f"cookieAuth: {cookie}")
        self.assertIn("X-CSRF-Token", cookie.get("description", ""), "cookieAuth must state the CSRF header rule")
        self.assertEqual(self.spec.get("security"), [{"bearerAuth": []}, {"cookieAuth": []}],
                         "global security: bearerAuth or cookieAuth")
        problems = []
        for (method, path), op in sorted(self.ops.items()):
            for req in op.get("security", []):
                problems += [f"{method} {path}: unknown security scheme {n}" for n in req if n not in schemes]
        self.assertEqual(problems, [])

    def test_public_operations_are_the_public_routes(self):
        public = {key for key, op in self.ops.items() if not needs_session(self.spec, op)}
        self.assertEqual(sorted(public), sorted(PUBLIC_ROUTES), "operations with security: [] in the spec")
        for key in PUBLIC_ROUTES:
            self.assertEqual(self.ops[key].get("security"), [], f"{' '.join(key)}: must say security: []")

    def test_session_operations_document_401_and_csrf_403(self):
        problems = []
        for (method, path), op in sorted(self.ops.items()):
            name = f"{method} {path}"
            responses = {str(k): deref(self.spec, v) for k, v in (op.get("responses") or {}).items()}
            if not needs_session(self.spec, op):
                continue
            r401 = responses.get("401")
            if r401 is None:
                problems.append(f"{name}: needs a session but documents no 401")
            else:
                headers = {k.lower(): deref(self.spec, v) for k, v in (r401.get("headers") or {}).items()}
                if not (headers.get("www-authenticate") or {}).get("required"):
                    problems.append(f"{name}: 401 must document the required WWW-Authenticate header")
            if method in STATE_CHANGING and "X-CSRF-Token" not in (responses.get("403") or {}).get("description", ""):
                problems.append(f"{name}: changes state with a session but documents no 403 for the CSRF header")
        token = {str(k): deref(self.spec, v) for k, v in self.ops[("POST", "/oauth/token")]["responses"].items()}
        if "Retry-After" not in (token.get("429") or {}).get("headers", {}):
            problems.append("POST /oauth/token: 429 must document the Retry-After header")
        if "Set-Cookie" not in (token.get("200") or {}).get("headers", {}):
            problems.append("POST /oauth/token: 200 must document the Set-Cookie header")
        media = set(((self.ops[("POST", "/oauth/token")].get("requestBody") or {}).get("content") or {}))
        if media != {"application/x-www-form-urlencoded", "application/json"}:
            problems.append(f"POST /oauth/token: request body media types {sorted(media)}, expected form and JSON")
        self.assertEqual(problems, [])

    def test_every_ref_resolves(self):
        bad = []
        for where, ref in all_refs(self.spec):
            try:
                resolve_pointer(self.spec, ref)
            except KeyError:
                bad.append(f"{where}: {ref}")
        self.assertEqual(bad, [], "unresolved $ref")

    def test_required_schemas_exist(self):
        schemas = (self.spec.get("components") or {}).get("schemas") or {}
        self.assertEqual([n for n in REQUIRED_SCHEMAS if n not in schemas], [], "missing components/schemas")

    def test_operations_have_2xx_and_unique_operation_id(self):
        problems, seen = [], {}
        for (method, path), op in sorted(self.ops.items()):
            name = f"{method} {path}"
            if not op.get("summary"):
                problems.append(f"{name}: no summary")
            codes = [str(c) for c in (op.get("responses") or {})]
            if not any(re.fullmatch(r"2\d\d", c) for c in codes):
                problems.append(f"{name}: no 2xx response (has {codes})")
            op_id = op.get("operationId")
            if not op_id:
                problems.append(f"{name}: no operationId")
            elif op_id in seen:
                problems.append(f"{name}: operationId {op_id!r} is also used by {seen[op_id]}")
            else:
                seen[op_id] = name
        self.assertEqual(problems, [])

    def test_responses_are_complete(self):
        """Each response has a description and content with a schema; errors use Error."""
        error = "#/components/schemas/Error"
        problems = []
        for (method, path), op in sorted(self.ops.items()):
            for code, response in (op.get("responses") or {}).items():
                name = f"{method} {path} {code}"
                response = deref(self.spec, response)
                if not response.get("description"):
                    problems.append(f"{name}: no description")
                content = response.get("content") or {}
                if not content:
                    problems.append(f"{name}: no content")
                for media, body in content.items():
                    if "schema" not in body:
                        problems.append(f"{name} {media}: no schema")
                    elif str(code)[0] in "45" and (media != "application/json"
                                                   or body["schema"].get("$ref") != error):
                        problems.append(f"{name}: an error answer must be application/json with {error}")
        self.assertEqual(problems, [])

    def test_path_parameters_declared(self):
        problems = []
        for path, item in self.spec["paths"].items():
            wanted = set(re.findall(r"\{([^}]+)\}", path))
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                params = [deref(self.spec, p) for p in item.get("parameters", []) + item[method].get("parameters", [])]
                declared = {p["name"] for p in params if p.get("in") == "path"}
                if declared != wanted:
                    problems.append(f"{method.upper()} {path}: path parameters {sorted(declared)}, "
                                    f"the path has {sorted(wanted)}")
                for p in params:
                    if p.get("in") == "path" and p.get("required") is not True:
                        problems.append(f"{method.upper()} {path}: path parameter {p['name']} must be required")
                    if "schema" not in p:
                        problems.append(f"{method.upper()} {path}: parameter {p.get('name')} has no schema")
        self.assertEqual(problems, [])

    def test_schemas_use_only_openapi_keywords(self):
        """Every schema keyword is one OpenAPI 3.0 defines (jsonschema would skip others)."""
        problems = [f"{where}: schema keywords {sorted(unknown)} are not OpenAPI 3.0 schema keywords"
                    for where, schema in all_schemas(self.spec)
                    if (unknown := {k for k in schema if not k.startswith("x-")} - OPENAPI_SCHEMA_KEYWORDS)]
        self.assertEqual(problems, [])

    def test_examples_match_their_schemas(self):
        """Examples in request bodies and schemas are valid instances (a typo check)."""
        problems = []
        for (method, path), op in sorted(self.ops.items()):
            body = deref(self.spec, op.get("requestBody") or {})
            for media, content in (body.get("content") or {}).items():
                examples = [content["example"]] if "example" in content else []
                examples += [e["value"] for e in (content.get("examples") or {}).values()]
                for ex in examples:
                    problems += [f"{method} {path} example: {e}" for e in validate(self.spec, ex, content["schema"])]
        for name, schema in self.spec["components"]["schemas"].items():
            if "example" in schema:
                problems += [f"schema {name} example: {e}" for e in validate(self.spec, schema["example"], schema)]
        self.assertEqual(problems, [])


# -- (a) ------------------------------------------------------------------------------------

class RouteListTest(unittest.TestCase):
    def test_list_routes_equals_spec_operations(self):
        served = served_routes()
        documented = set(operations(load_spec()))
        undocumented = sorted(served - documented)
        unserved = sorted(documented - served)
        if undocumented or unserved:
            self.fail("routes and docs/openapi.yaml differ:\n"
                      f"  served by keepsaked, missing in docs/openapi.yaml: "
                      f"{[' '.join(r) for r in undocumented] or 'none'}\n"
                      f"  in docs/openapi.yaml, not served by keepsaked: "
                      f"{[' '.join(r) for r in unserved] or 'none'}")


# -- (b) and (c) ----------------------------------------------------------------------------

def is_router_404(status, body):
    return (status == 404 and isinstance(body, dict) and isinstance(body.get("error"), dict)
            and "no such API route" in str(body["error"].get("message", "")))


def form(**fields):
    return urllib.parse.urlencode(fields).encode()


FORM = "application/x-www-form-urlencoded"


class LiveApiTest(unittest.TestCase):
    """Every documented operation, probed on a real daemon over HTTPS."""

    @classmethod
    def setUpClass(cls):
        cls.spec = load_spec()
        cls.ops = operations(cls.spec)
        # Class cleanups, not tearDownClass: they also run when setUpClass fails half-way.
        cls.tmp = tempfile.TemporaryDirectory(prefix="ks-openapi-")
        cls.addClassCleanup(cls.tmp.cleanup)
        base = cls.tmp.name
        cls.root = os.path.join(base, "appliance")
        os.makedirs(os.path.join(cls.root, "firmware"))  # the least an appliance root has
        with open(os.path.join(cls.root, "firmware", "VERSION"), "w") as f:
            f.write("firmware=1.0.0\n")
        os.makedirs(os.path.join(cls.root, "config"))
        with open(os.path.join(cls.root, "config", "service.conf"), "w") as f:
            f.write("answer = 42\n")
        os.makedirs(os.path.join(cls.root, "db"))  # the internal database a backup snapshots
        db = sqlite3.connect(os.path.join(cls.root, "db", "internal.sqlite"))
        db.execute("CREATE TABLE t (x INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        db.close()
        cls.storage = os.path.join(base, "backups")
        os.mkdir(cls.storage)
        cls.daemon = daemon_fixture.Daemon(base, os.path.join(base, "state"), cls.root)
        cls.addClassCleanup(cls.daemon.kill)  # when stop() did not run or failed
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.start()

    def setUp(self):
        self.problems = []
        self.answered = {}  # (METHOD, path) -> set of status codes seen
        self.last_headers = None

    # -- requests ----------------------------------------------------------------------

    def request(self, method, path, body=None, raw=None, token=..., headers=None, content_type=None):
        """(status, media type, parsed JSON or text, headers) of one request over HTTPS.
        token=... sends the fixture's session (after bootstrap), None nothing."""
        self.assertTrue(self.daemon.url.startswith("https://"), f"the daemon does not serve HTTPS: {self.daemon.url}")
        status, answer, hdrs = self.daemon.request_full(method, path, body=body, raw=raw, timeout=60, token=token,
                                                        headers=headers, content_type=content_type)
        media = hdrs.get("Content-Type", "").split(";")[0].strip().lower()
        return status, media, answer, hdrs

    def login(self, username=daemon_fixture.ADMIN, password=daemon_fixture.ADMIN_PASSWORD):
        """A fresh session's token answer (not the fixture's session)."""
        status, _, answer, _ = self.request("POST", "/oauth/token", token=None, content_type=FORM,
                                            raw=form(grant_type="password", username=username, password=password))
        self.assertEqual(status, 200, f"login of {username}: {answer}")
        return answer

    # -- probing -----------------------------------------------------------------------

    @staticmethod
    def fill(path, name=SAMPLE_NAME):
        return re.sub(r"\{[^}]+\}", urllib.parse.quote(name, safe=""), path)

    def probe(self, method, template, body=None, raw=None, query="", name=SAMPLE_NAME, expect=None, token=...,
              headers=None, content_type=None, error_code=None, note=""):
        """Sends one request to the operation (method, template) and checks the answer
        against the spec; returns (status, body), and keeps the headers in last_headers.
        Problems are collected, not raised, so one run lists them all."""
        self.assertIn((method, template), self.ops, f"probe of an undocumented operation {method} {template}")
        op = self.ops[(method, template)]
        url = self.fill(template, name) + query
        who = note or ("" if token is ... else "anonymous" if token is None else "another session")
        who = f" ({who})" if who else ""
        label = f"{method} {url}{who}" + (f" {json.dumps(body)[:60]}" if body is not None else "") + \
            (f" <{len(raw)} raw bytes>" if raw is not None else "")
        status, media, answer, hdrs = self.request(method, url, body=body, raw=raw, token=token, headers=headers,
                                                   content_type=content_type)
        self.last_headers = hdrs
        self.answered.setdefault((method, template), set()).add(status)
        excerpt = json.dumps(answer)[:300] if not isinstance(answer, str) else answer[:300]
        if is_router_404(status, answer):
            self.problems.append(f"{label}: the router has no such route (404 no such API route)")
            return status, answer
        if status >= 500 and status not in (503, 507):
            self.problems.append(f"{label}: answered {status} (a server bug): {excerpt}")
        if expect is not None and status != expect:
            self.problems.append(f"{label}: expected {expect}, got {status}: {excerpt}")
        if error_code is not None and status >= 400 and (not isinstance(answer, dict) or not isinstance(
                answer.get("error"), dict) or answer["error"].get("code") != error_code):
            self.problems.append(f"{label}: expected error code {error_code}: {excerpt}")
        responses = {str(k): v for k, v in (op.get("responses") or {}).items()}
        response = responses.get(str(status), responses.get("default"))
        if response is None:
            self.problems.append(f"{label}: answered {status}, which docs/openapi.yaml does not list for "
                                 f"{method} {template} (it lists {sorted(responses)}): {excerpt}")
            return status, answer
        response = deref(self.spec, response)
        for header, spec_header in (response.get("headers") or {}).items():
            if deref(self.spec, spec_header).get("required") and hdrs.get(header) is None:
                self.problems.append(f"{label}: {status} lacks the documented header {header}")
        content = response.get("content") or {}
        if media not in content:
            self.problems.append(f"{label}: {status} answered {media!r}, documented {sorted(content)}")
            return status, answer
        if media == "application/json" and isinstance(answer, str):
            self.problems.append(f"{label}: {status} body is not JSON: {excerpt}")
            return status, answer
        for err in validate(self.spec, answer, content[media]["schema"]):
            self.problems.append(f"{label}: {status} body does not match the spec: {err}  (body: {excerpt})")
        return status, answer

    def default_probes(self):
        """Every documented operation with its plain request and the fixture's session: path
        parameters a valid name, {} as the body of POST and PUT. Logout gets a session of
        its own (it would end the fixture's)."""
        for method, template in sorted(self.ops):
            token = self.login()["access_token"] if (method, template) == ("POST", "/oauth/revoke") else ...
            self.probe(method, template, body={} if method in ("POST", "PUT") else None, token=token)

    def body_error_probes(self):
        """Invalid JSON and an oversized body for every operation that takes a body."""
        for (method, template), op in sorted(self.ops.items()):
            if "application/json" not in (op.get("requestBody") or {}).get("content", {}):
                continue  # none, or a file (an upload: up to 1 TiB, streamed to disk)
            self.probe(method, template, raw=b"{not json", expect=400)
            self.probe(method, template, raw=b"x" * (1 << 20), expect=413)

    def wait_idle(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, _, body, _ = self.request("GET", "/api/v1/status")
            if status == 200 and body.get("state") == "NOT RUNNING":
                return body
            time.sleep(0.05)
        self.fail(f"a job still runs after {timeout} s")

    def report(self):
        if self.problems:
            self.fail(f"{len(self.problems)} problem(s) between docs/openapi.yaml and keepsaked:\n  "
                      + "\n  ".join(self.problems) + f"\n(daemon log: {self.daemon.log_path})")

    def check_unauthenticated(self, label, status, answer, hdrs):
        """A 401 with the Error shape, code unauthenticated and the Bearer challenge."""
        if status != 401:
            self.problems.append(f"{label}: expected 401, got {status}: {json.dumps(answer)[:200]}")
            return
        errors = validate(self.spec, answer, {"$ref": "#/components/schemas/Error"})
        if errors:
            self.problems.append(f"{label}: 401 body is not an Error: {errors} ({json.dumps(answer)[:200]})")
        elif answer["error"]["code"] != "unauthenticated":
            self.problems.append(f"{label}: 401 with code {answer['error']['code']!r}, expected unauthenticated")
        if not (hdrs.get("WWW-Authenticate") or "").startswith("Bearer"):
            self.problems.append(f"{label}: 401 without a WWW-Authenticate: Bearer challenge")

    # -- the tests ---------------------------------------------------------------------

    def test_anonymous_requests_are_refused(self):
        """(c) Every operation that needs a session (by the spec, and by --list-routes less
        the public routes) refuses an anonymous request, an invalid Bearer token and an
        invalid session cookie with 401; the public ones do not answer 401."""
        secured_in_spec = {key for key, op in self.ops.items() if needs_session(self.spec, op)}
        secured_served = served_routes() - PUBLIC_ROUTES
        self.assertTrue(secured_served, "no route needs a session?")
        for method, template in sorted(secured_in_spec | secured_served):
            url = self.fill(template)
            body = {} if method in ("POST", "PUT") else None
            attempts = [("anonymous", dict(body=body, token=None)),
                        ("invalid Bearer token", dict(body=body, token="not-a-valid-token")),
                        ("invalid session cookie", dict(body=body, token=None,
                                                        headers={"Cookie": "keepsake_session=not-a-valid-token"})),
                        ("cookie of another name", dict(body=body, token=None, headers={"Cookie": "session=x"}))]
            if body is not None:  # the session is checked before the body is parsed
                attempts.append(("anonymous, invalid JSON", dict(raw=b"{not json", token=None)))
            for what, kwargs in attempts:
                label = f"{method} {url} ({what})"
                if (method, template) in self.ops:
                    # Also checks that 401 is documented and the answer matches it.
                    status, answer = self.probe(method, template, expect=401, error_code="unauthenticated",
                                                note=what, **kwargs)
                    hdrs = self.last_headers
                else:  # served but undocumented (test_list_routes_equals_spec_operations reports it)
                    status, _, answer, hdrs = self.request(method, url, **kwargs)
                self.check_unauthenticated(label, status, answer, hdrs)
        for method, template in sorted(PUBLIC_ROUTES):
            self.assertIn((method, template), self.ops, f"public route {method} {template} is not documented")
            status, answer = self.probe(method, template, body={} if method in ("POST", "PUT") else None, token=None)
            if status == 401 or is_router_404(status, answer):
                self.problems.append(f"{method} {template} is public but answered {status} anonymously: {answer}")
        self.report()

    def test_every_operation_answers_as_documented(self):
        # The router's own 404, which no documented route may give (with or without a session).
        status, _, body, _ = self.request("GET", "/api/v1/no-such-route", token=None)
        self.assertTrue(is_router_404(status, body), f"unknown routes should answer the router's 404: {body}")

        # 0. The Initial OTP User, before the first account exists.
        if self.daemon.token is None:
            otp_password = self.daemon.otp_password()
            status, otp = self.probe("POST", "/oauth/token", token=None, content_type=FORM, expect=200,
                                     raw=form(grant_type="password", username="otp-admin", password=otp_password))
            self.assertEqual(status, 200, f"OTP login: {otp}")
            self.assertTrue(otp["otp_user"], otp)
            self.probe("GET", "/api/v1/session", token=otp["access_token"], expect=200)
            self.probe("GET", "/api/v1/users", token=otp["access_token"], expect=200)
            status, answer = self.probe("POST", "/api/v1/backups", body={}, token=otp["access_token"], expect=409,
                                        error_code="failed_precondition")
            if status == 409 and "OTP" not in answer["error"]["message"]:
                self.problems.append(f"POST /api/v1/backups as the OTP User: 409 does not name the OTP User: {answer}")
            self.probe("DELETE", "/api/v1/users/{name}", name="otp-admin", token=otp["access_token"], expect=409,
                       error_code="failed_precondition")  # its own account
            self.daemon.bootstrap()  # OTP login, add "admin", admin login, remove the OTP User

        # 1. A fresh appliance: no DMS, no storage, no schedule.
        self.default_probes()
        self.body_error_probes()
        self.access_probes()
        self.probe("GET", "/api/v1/jobs", query="?limit=abc", expect=400)
        self.probe("GET", "/api/v1/jobs", query="?limit=1001", expect=400)
        self.probe("GET", "/api/v1/jobs", query="?limit=1000", expect=200)
        self.probe("POST", "/api/v1/backups", expect=409)  # no body at all
        self.probe("POST", "/api/v1/backups", body={"now": True}, expect=400)
        self.probe("PUT", "/api/v1/settings", body={"colour": "blue"}, expect=400)
        self.probe("PUT", "/api/v1/settings", body={"prefix": "a/b"}, expect=400)
        self.probe("PUT", "/api/v1/settings", body={"retention": {"keep_last": 1001}}, expect=400)
        self.probe("PUT", "/api/v1/settings", body={"prefix": "nightly", "retention": {"keep_daily": 7}}, expect=200)
        self.probe("PUT", "/api/v1/schedule", body={"kind": "daily", "hour": 24}, expect=400)
        self.probe("PUT", "/api/v1/schedule", body={"kind": "daily", "hour": 2, "minute": 30,
                                                    "time_zone": "Europe/Berlin"}, expect=200)
        self.probe("GET", "/api/v1/schedule", expect=200)
        for schedule in ({"kind": "none"}, {"kind": "hourly", "minute": 5},
                         {"kind": "weekly", "day_of_week": 6, "hour": 0, "minute": 0, "time_zone": "UTC"},
                         {"kind": "monthly", "day_of_month": -1, "hour": 23, "minute": 59},
                         {"kind": "cron", "cron": "0 0 0 ? * FRI", "time_zone": "UTC"}):
            self.probe("POST", "/api/v1/schedule/preview", body=schedule, expect=200)
        self.probe("POST", "/api/v1/schedule/preview", body={"kind": "cron", "cron": "0 0 25 ? * *"}, expect=400)
        self.probe("PUT", "/api/v1/storage", body={"type": "ftp"}, expect=400)
        self.probe("PUT", "/api/v1/storage", body={"type": "local", "path": "relative"}, expect=400)
        self.probe("PUT", "/api/v1/storage", body={"type": "local", "path": self.storage + "/missing"}, expect=404)
        self.probe("PUT", "/api/v1/storage", body={"type": "none"}, expect=200)
        self.probe("POST", "/api/v1/restore", body={"file": SAMPLE_NAME}, expect=409)
        self.probe("POST", "/api/v1/restore", body={"file": "../../etc/passwd"}, expect=400)
        self.probe("GET", "/api/v1/audit", expect=200)
        status, event = self.probe("GET", "/api/v1/events", expect=200)
        if status == 200:
            data = [line[5:] for line in event.splitlines() if line.startswith("data:")]
            self.assertEqual(len(data), 1, event)
            self.assertIn(json.loads(data[0])["state"], ("NOT RUNNING", "BACKUP IN PROGRESS", "RESTORE IN PROGRESS"))
        self.probe("GET", "/api/v1/events", token=None, expect=401)
        self.probe("GET", "/api/v1/audit", query="?limit=0", expect=400)
        self.probe("GET", "/api/v1/audit", query="?limit=5&offset=1&filter=login", expect=200)
        self.probe("GET", "/api/v1/restore/rollback", expect=200)
        self.probe("POST", "/api/v1/restore/rollback", body={}, expect=404)
        self.probe("POST", "/api/v1/restore/rollback", body={"now": True}, expect=400)
        self.probe("DELETE", "/api/v1/restore/rollback", expect=404)
        self.probe("POST", "/api/v1/dms", body={"dms": "short", "confirmation": "short"}, expect=400)
        self.probe("POST", "/api/v1/dms/strength", body={"dms": "Password1"}, expect=200)
        self.probe("POST", "/api/v1/dms/strength", body={"dms": DMS}, expect=200)
        self.probe("POST", "/api/v1/dms/strength", body={"dms": "tab\tinside"}, expect=400)

        # 2. DMS and storage set.
        self.probe("POST", "/api/v1/dms", body={"dms": DMS, "confirmation": DMS, "keep_restore_key": "yes"}, expect=400)
        # The restore key kept: the restores below run without the DMS.
        self.probe("POST", "/api/v1/dms", body={"dms": DMS, "confirmation": DMS, "keep_restore_key": True}, expect=201)
        self.probe("POST", "/api/v1/dms", body={"dms": DMS, "confirmation": DMS}, expect=409)
        self.probe("PUT", "/api/v1/storage", body={"type": "local", "path": self.storage}, expect=200)
        self.probe("GET", "/api/v1/storage", expect=200)
        self.probe("GET", "/api/v1/backups", expect=200)
        self.probe("GET", "/api/v1/backups/{name}", expect=404)
        self.probe("GET", "/api/v1/backups/{name}", name="passwd", expect=400)
        self.probe("POST", "/api/v1/restore", body={"file": SAMPLE_NAME}, expect=404)
        with open(os.path.join(self.storage, "other_20250101T000000Z.ksb"), "wb") as f:
            f.write(b"not a backup\n")  # listed, with details null and an error
        self.probe("GET", "/api/v1/backups/{name}", name="other_20250101T000000Z.ksb", expect=422)

        # 3. A real backup, then a dry-run restore of it.
        status, answer = self.probe("POST", "/api/v1/backups", body={}, expect=202)
        if status == 202 and answer["job"]["requester"] != daemon_fixture.ADMIN:
            self.problems.append(f"POST /api/v1/backups: requester {answer['job']['requester']!r}, "
                                 f"expected the session's account {daemon_fixture.ADMIN!r}")
        self.probe("POST", "/api/v1/backups", body={})  # 202, or 409 while the first one runs
        self.probe("GET", "/api/v1/status", expect=200)
        self.wait_idle()
        self.probe("GET", "/api/v1/jobs", expect=200)
        status, listing = self.probe("GET", "/api/v1/backups", expect=200)
        made = [b for b in (listing.get("backups", []) if status == 200 else []) if b.get("details")]
        if not made:
            self.problems.append(f"no readable backup on the storage after POST /api/v1/backups "
                                 f"(jobs: {self.request('GET', '/api/v1/jobs')[2]})")
        else:
            name = made[0]["name"]
            self.probe("GET", "/api/v1/backups/{name}", name=name, expect=200)
            self.probe("POST", "/api/v1/restore", body={"file": name, "dry_run": True}, expect=202)
            self.probe("GET", "/api/v1/restore", expect=200)
            self.wait_idle()
            status, state = self.probe("GET", "/api/v1/restore", expect=200)
            if status == 200 and not state.get("last"):
                self.problems.append(f"GET /api/v1/restore: no last restore after one ran: {state}")
            # A real restore leaves a rollback point: rolled back, then discarded.
            self.probe("POST", "/api/v1/restore", body={"file": name, "keep": ["network"]}, expect=202)
            self.wait_idle()
            status, point = self.probe("GET", "/api/v1/restore/rollback", expect=200)
            if status == 200 and not point.get("rollback_point"):
                self.problems.append(f"GET /api/v1/restore/rollback: no rollback point after a restore: {point}")
            self.probe("POST", "/api/v1/restore/rollback", body={}, expect=202)
            self.wait_idle()
            self.probe("DELETE", "/api/v1/restore/rollback", expect=200)
            self.probe("DELETE", "/api/v1/restore/rollback", expect=404)
        self.probe("GET", "/api/v1/status", expect=200)
        self.default_probes()  # every operation again, now with a DMS, a storage and backups
        self.probe("GET", "/api/v1/status", expect=200)  # likely while the backup just started runs
        self.wait_idle()

        not_probed = sorted(set(self.ops) - set(self.answered))
        self.assertEqual(not_probed, [], "documented operations the test did not probe")
        self.report()

    def access_probes(self):
        """Logins, refresh, throttling, the session, accounts, cookie sessions and CSRF,
        logout (the fixture's session is left alive)."""
        admin, password = daemon_fixture.ADMIN, daemon_fixture.ADMIN_PASSWORD

        # The token endpoint: a form and JSON, each answering the tokens and the cookies.
        for kwargs in (dict(raw=form(grant_type="password", username=admin, password=password), content_type=FORM),
                       dict(body={"grant_type": "password", "username": admin.upper(), "password": password})):
            status, answer = self.probe("POST", "/oauth/token", token=None, expect=200, **kwargs)
            if status != 200:
                continue
            if (answer["username"], answer["otp_user"], answer["token_type"]) != (admin, False, "Bearer"):
                self.problems.append(f"POST /oauth/token: unexpected answer {answer}")
            if answer["csrf_token"] != hashlib.sha256(b"keepsake-csrf:" + answer["access_token"].encode()).hexdigest():
                self.problems.append("POST /oauth/token: csrf_token is not the one that goes with the access token")
            cookies = self.last_headers.get_all("Set-Cookie") or []
            session = [c for c in cookies if c.startswith(f"keepsake_session={answer['access_token']};")]
            csrf = [c for c in cookies if c.startswith(f"keepsake_csrf={answer['csrf_token']};")]
            if len(session) != 1 or not all(a in session[0] for a in ("HttpOnly", "Secure", "SameSite=Strict")):
                self.problems.append(f"POST /oauth/token: keepsake_session cookie not HttpOnly+Secure+SameSite=Strict: "
                                     f"{cookies}")
            if len(csrf) != 1 or "HttpOnly" in csrf[0] or not all(a in csrf[0] for a in ("Secure", "SameSite=Strict")):
                self.problems.append(f"POST /oauth/token: keepsake_csrf cookie must be readable, Secure, "
                                     f"SameSite=Strict: {cookies}")
            status, session_answer = self.probe("GET", "/api/v1/session", token=answer["access_token"], expect=200)
            if status == 200 and session_answer != {"username": admin, "otp_user": False}:
                self.problems.append(f"GET /api/v1/session: {session_answer}")
        # Refresh: rotates; a spent refresh token is refused (and ends that session).
        pair = self.login()
        status, fresh = self.probe("POST", "/oauth/token", token=None, content_type=FORM, expect=200,
                                   raw=form(grant_type="refresh_token", refresh_token=pair["refresh_token"]))
        if status == 200 and fresh["refresh_token"] == pair["refresh_token"]:
            self.problems.append("POST /oauth/token: the refresh token was not rotated")
        self.probe("POST", "/oauth/token", token=None, expect=401, error_code="unauthenticated",
                   body={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]})
        self.probe("POST", "/oauth/token", token=None, expect=401, error_code="unauthenticated",
                   body={"grant_type": "refresh_token", "refresh_token": "not-a-token"})
        self.probe("POST", "/oauth/token", token=None, expect=400, error_code="invalid_argument",
                   raw=form(grant_type="client_credentials"), content_type=FORM)
        self.probe("POST", "/oauth/token", token=None, expect=400, error_code="invalid_argument",
                   body={"grant_type": "password", "username": admin})
        # Wrong passwords until the throttle refuses (429 + Retry-After), then wait it out.
        status = None
        for _ in range(8):
            status, answer = self.probe("POST", "/oauth/token", token=None, content_type=FORM,
                                        raw=form(grant_type="password", username="nobody", password="wrong password"))
            if status != 401:
                break
        if status != 429:
            self.problems.append(f"POST /oauth/token: no 429 after 8 failed logins (last: {status} {answer})")
        else:
            if answer["error"]["code"] != "too_many_attempts":
                self.problems.append(f"POST /oauth/token: 429 with code {answer['error']['code']!r}")
            wait = int(self.last_headers.get("Retry-After", "0"))
            if not 1 <= wait <= 300:
                self.problems.append(f"POST /oauth/token: 429 with Retry-After {wait}")
            time.sleep(min(max(wait, 1), 10) + 0.2)
        self.login()  # a success clears this client's failures

        # Accounts.
        status, users = self.probe("GET", "/api/v1/users", expect=200)
        if status == 200 and [(u["username"], u["removable"], u["remove_refusal"]) for u in users["users"]] != \
                [(admin, False, "you cannot remove your own account")]:
            self.problems.append(f"GET /api/v1/users: {users}")
        new = {"username": "operator", "password": "operator password", "confirmation": "operator password"}
        self.probe("POST", "/api/v1/users", body=new, expect=201)
        self.probe("POST", "/api/v1/users", body=dict(new, username="OPERATOR"), expect=409, error_code="already_exists")
        self.probe("POST", "/api/v1/users", body=dict(new, username="ab"), expect=400, error_code="invalid_argument")
        self.probe("POST", "/api/v1/users", body=dict(new, username="a b c"), expect=400)
        self.probe("POST", "/api/v1/users", body=dict(new, username="viewer", password="short", confirmation="short"),
                   expect=400)
        self.probe("POST", "/api/v1/users", body=dict(new, username="viewer", confirmation="another password"),
                   expect=400)
        self.probe("POST", "/api/v1/users", body=dict(new, username="viewer", role="admin"), expect=400)
        status, users = self.probe("GET", "/api/v1/users", expect=200)
        if status == 200 and [(u["username"], u["removable"]) for u in users["users"]] != \
                [(admin, False), ("operator", True)]:
            self.problems.append(f"GET /api/v1/users after adding operator: {users}")
        self.probe("DELETE", "/api/v1/users/{name}", name=admin, expect=409, error_code="failed_precondition")
        self.probe("DELETE", "/api/v1/users/{name}", name="nobody", expect=404, error_code="not_found")
        operator = self.login("operator", "operator password")
        self.probe("DELETE", "/api/v1/users/{name}", name="Operator", expect=200)
        self.probe("GET", "/api/v1/session", token=operator["access_token"], expect=401,
                   error_code="unauthenticated")  # a session ends with its account

        # A cookie session: GET needs no CSRF token; a state-changing request needs it.
        browser = self.login()
        cookie = {"Cookie": f"keepsake_session={browser['access_token']}; keepsake_csrf={browser['csrf_token']}"}
        self.probe("GET", "/api/v1/session", token=None, headers=cookie, expect=200)
        self.probe("POST", "/api/v1/schedule/preview", body={"kind": "none"}, token=None, expect=200,
                   headers=dict(cookie, **{"X-CSRF-Token": browser["csrf_token"]}))
        for (method, template), op in sorted(self.ops.items()):
            if method in STATE_CHANGING and needs_session(self.spec, op):
                for csrf in ({}, {"X-CSRF-Token": "0" * 64}):
                    self.probe(method, template, body={} if method != "DELETE" else None, name="nobody", token=None,
                               headers=dict(cookie, **csrf), expect=403, error_code="permission_denied")

        # Logout ends the session it is called with (cookie session: with the CSRF header).
        self.probe("POST", "/oauth/revoke", token=None, expect=200,
                   headers=dict(cookie, **{"X-CSRF-Token": browser["csrf_token"]}))
        cleared = self.last_headers.get_all("Set-Cookie") or []
        if not any(c.startswith("keepsake_session=;") and "Max-Age=0" in c for c in cleared):
            self.problems.append(f"POST /oauth/revoke: the session cookie is not cleared: {cleared}")
        self.probe("GET", "/api/v1/session", token=None, headers=cookie, expect=401)
        self.probe("POST", "/oauth/revoke", token=browser["access_token"], expect=401)
        self.probe("POST", "/oauth/token", token=None, expect=401,  # the session's refresh token died with it
                   body={"grant_type": "refresh_token", "refresh_token": browser["refresh_token"]})
        self.probe("GET", "/api/v1/session", expect=200)  # the fixture's session is not affected


if __name__ == "__main__":
    unittest.main()
