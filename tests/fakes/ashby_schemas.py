#!/usr/bin/env python3
"""Extracts from the Ashby OpenAPI description the schemas the Ashby fake validates against.

Run: python3 tests/fakes/ashby_schemas.py [OPENAPI_YML [OUT_JSON]]
     (defaults: /work/shared/specs/ats/ashby-openapi.yml, or $ASHBY_OPENAPI, and
     ashby_schemas.json next to this file). --check compares instead of writing and exits 1 on a
     difference.

Only facts are taken from the description: paths, operation ids, property names, types,
formats, enums and required lists. Descriptions, examples and titles are dropped (the copy
states no licence; see shared/specs/ats/SOURCE.txt).

The output, committed as ashby_schemas.json, is compact JSON:
  {"source": {...},
   "operations": {operationId: {"method", "path", "permission" (the API key permission the
                                operation's description names, or null),
                                "request": {"required", "schema"} | null,
                                "responses": {status: schema | null}}},
   "schemas": {name: schema}}
The Ashby description refers to shared pieces by JSON pointers into other operations
("#/paths/~1job.info/post/responses/200/...", "#/webhooks/pushToHRIS/..."), not only into
components. Every pointer target reachable from the selected operations becomes one entry of
"schemas", named after its pointer in a shorter form (see short_name), and every "$ref" becomes
{"$ref": NAME}; a validator follows a ref with one dictionary lookup. Nothing assumes the
schemas are not recursive.

The YAML is read with keap_schemas.load_yaml (the block-style subset parser written for Keap's
description, which this file also fits); it raises on anything it does not understand.
"""

import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from keap_schemas import load_yaml  # noqa: E402

DEFAULT_SPEC = os.environ.get("ASHBY_OPENAPI", "/work/shared/specs/ats/ashby-openapi.yml")
DEFAULT_OUT = os.path.join(HERE, "ashby_schemas.json")

# The RPC operations the fake serves, by operationId (checked against the path, so a renamed
# operation in a newer description fails loudly instead of validating against nothing).
OPERATIONS = {
    "apiKeyInfo": "/apiKey.info",
    "candidateList": "/candidate.list",
    "candidateInfo": "/candidate.info",
    "applicationList": "/application.list",
    "applicationInfo": "/application.info",
    "jobList": "/job.list",
}

# Schema keywords kept; everything else (description, example, title, ...) is documentation.
KEEP = ("type", "format", "enum", "const", "required", "properties", "additionalProperties",
        "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "nullable", "readOnly",
        "writeOnly", "allOf", "anyOf", "oneOf", "not", "default", "deprecated", "$ref")


def unescape(part):
    return part.replace("~1", "/").replace("~0", "~")


def resolve_pointer(spec, ref):
    if not ref.startswith("#/"):
        raise ValueError("unsupported $ref %r (only local JSON pointers)" % ref)
    node = spec
    for part in ref[2:].split("/"):
        part = unescape(part)
        if isinstance(node, list):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise ValueError("$ref %r does not resolve (at %r)" % (ref, part))
    return node


# Pointer segments that carry no meaning in a name.
_NOISE = {"content", "application/json", "schema", "post", "properties", "paths"}


def short_name(ref):
    """'#/paths/~1interviewerPool.addUser/post/requestBody/content/application~1json/schema/
    properties/userId' -> 'interviewerPool.addUser/request/userId'."""
    parts = [unescape(p) for p in ref[2:].split("/")]
    out = []
    for p in parts:
        if p in _NOISE:
            continue
        if p == "requestBody":
            p = "request"
        elif p == "responses":
            continue
        elif p == "webhooks":
            p = "webhook"
        out.append(p.lstrip("/"))
    return "/".join(out)


class Extractor:
    def __init__(self, spec):
        self.spec = spec
        self.names = {}     # pointer -> name
        self.schemas = {}   # name -> compact schema
        self.todo = []

    def name_of(self, ref):
        if ref in self.names:
            return self.names[ref]
        base = short_name(ref)
        name, n = base, 1
        taken = set(self.names.values())
        while name in taken:
            n += 1
            name = "%s~%d" % (base, n)
        self.names[ref] = name
        self.todo.append(ref)
        return name

    def compact(self, schema):
        if isinstance(schema, list):
            return [self.compact(s) for s in schema]
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema:
            # Siblings of $ref in this description are descriptions only (checked).
            extra = set(schema) - {"$ref", "description", "example", "examples", "title"}
            if extra:
                raise ValueError("$ref with sibling keywords %s" % ", ".join(sorted(extra)))
            return {"$ref": self.name_of(schema["$ref"])}
        out = {}
        for k in KEEP:
            if k not in schema:
                continue
            v = schema[k]
            if k == "properties":
                out[k] = {p: self.compact(s) for p, s in v.items()}
            elif k in ("items", "not") or (k == "additionalProperties" and isinstance(v, dict)):
                out[k] = self.compact(v)
            elif k in ("allOf", "anyOf", "oneOf"):
                out[k] = [self.compact(s) for s in v]
            else:
                out[k] = v
        return out

    def finish(self):
        while self.todo:
            ref = self.todo.pop()
            name = self.names[ref]
            if name not in self.schemas:
                self.schemas[name] = None  # placeholder: recursion reaches here again
                self.schemas[name] = self.compact(resolve_pointer(self.spec, ref))
        return {k: self.schemas[k] for k in sorted(self.schemas)}


def _json_schema(content):
    c = (content or {}).get("application/json")
    return None if c is None else c.get("schema")


def extract(spec):
    ex = Extractor(spec)
    ops = {}
    for op_id, path in OPERATIONS.items():
        op = (spec["paths"].get(path) or {}).get("post")
        if op is None or op.get("operationId") != op_id:
            raise ValueError("operation %s (POST %s) not found in the description" % (op_id, path))
        body = op.get("requestBody")
        request = None
        if body is not None:
            request = {"required": bool(body.get("required", False)),
                       "schema": ex.compact(_json_schema(body.get("content")) or {})}
        responses = {}
        for status, r in (op.get("responses") or {}).items():
            s = _json_schema(r.get("content"))
            responses[str(status)] = None if s is None else ex.compact(s)
        m = re.search(r"Requires the \[`([A-Za-z]+)`\]", op.get("description") or "")
        ops[op_id] = {"method": "POST", "path": path,
                      "permission": m.group(1) if m else None, "request": request,
                      "responses": responses}
    schemas = ex.finish()
    return ops, schemas


def generate(spec_path):
    with open(spec_path, "rb") as f:
        raw = f.read()
    spec = load_yaml(raw.decode("utf-8"))
    ops, schemas = extract(spec)
    out = {
        "source": {"file": os.path.basename(spec_path),
                   "md5": hashlib.md5(raw).hexdigest(),
                   "openapi": spec.get("openapi"),
                   "version": (spec.get("info") or {}).get("version"),
                   "generator": "tests/fakes/ashby_schemas.py"},
        "operations": ops,
        "schemas": schemas,
    }
    return json.dumps(out, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    src = args[0] if args else DEFAULT_SPEC
    dst = args[1] if len(args) > 1 else DEFAULT_OUT
    text = generate(src)
    if check:
        try:
            with open(dst, encoding="utf-8") as f:
                same = f.read() == text
        except OSError:
            same = False
        print("%s is %s" % (dst, "up to date" if same else "OUT OF DATE"))
        return 0 if same else 1
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, dst)
    print("wrote %s (%d bytes)" % (dst, len(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
