#!/usr/bin/env python3
"""Extracts from Keap's v2 OpenAPI (swagger.yml) the schemas the Keap fake validates against.

Run: python3 tests/fakes/keap_schemas.py [SWAGGER_YML [OUT_JSON]]
     (defaults: /work/shared/specs/keap/swagger.yml, or $KEAP_SWAGGER, and keap_schemas.json
     next to this file). --check compares instead of writing and exits 1 on a difference.

The output, committed as keap_schemas.json, is compact JSON:
  {"source": {...},
   "operations": {operationId: {"method", "path", "query": {name: {schema, required,
                   explode?}}, "request": schema|null, "responses": {status: schema|null}}},
   "schemas": {name: schema}}
Every "$ref" is resolved: operation schemas refer to components by {"$ref": "Name"} only where
the component itself is listed under "schemas" (all components reachable from the selected
operations are), so a validator can follow a ref with one dictionary lookup and recursion
(Keap's schemas are not recursive today, but nothing here assumes that). Descriptions and
examples are dropped except where they carry meaning for the fake (query parameter enums,
maximums); property order is kept.

No YAML library is available, so this file carries a parser for the block-style subset of
YAML 1.2 that swagger.yml uses: block mappings and sequences (including sequences at their
parent key's indentation and "- key: value" items), plain scalars over several lines,
single- and double-quoted scalars over several lines, literal and folded block scalars with
chomping indicators (|, |-, |+, >, >-, >+), flow collections ([...], {...}, possibly over
several lines), and comments. It does not do anchors, aliases, tags, complex keys or
multiple documents; it raises YamlError on anything it does not understand rather than
guessing.
"""

import hashlib
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SWAGGER = os.environ.get("KEAP_SWAGGER", "/work/shared/specs/keap/swagger.yml")
DEFAULT_OUT = os.path.join(HERE, "keap_schemas.json")

# The v2 operations the fake serves, by operationId (checked against method and path, so a
# renamed operation in a newer spec fails loudly instead of validating against nothing).
OPERATIONS = {
    "listContacts": ("get", "/rest/v2/contacts"),
    "createContact": ("post", "/rest/v2/contacts"),
    "getContact": ("get", "/rest/v2/contacts/{contact_id}"),
    "updateContact": ("patch", "/rest/v2/contacts/{contact_id}"),
    "deleteContact": ("delete", "/rest/v2/contacts/{contact_id}"),
    "retrieveContactModel": ("get", "/rest/v2/contacts/model"),
    "listTags": ("get", "/rest/v2/tags"),
    "createTag": ("post", "/rest/v2/tags"),
    "getTag": ("get", "/rest/v2/tags/{tag_id}"),
    "listTagCategories": ("get", "/rest/v2/tags/categories"),
    "createTagCategory": ("post", "/rest/v2/tags/categories"),
    "updateTag": ("patch", "/rest/v2/tags/{tag_id}"),
    "deleteTag": ("delete", "/rest/v2/tags/{tag_id}"),
    "getCategory": ("get", "/rest/v2/tags/categories/{tag_category_id}"),
    "updateTagCategory": ("patch", "/rest/v2/tags/categories/{tag_category_id}"),
    "applyTags": ("post", "/rest/v2/tags/{tag_id}/contacts:applyTags"),
    "removeTags": ("post", "/rest/v2/tags/{tag_id}/contacts:removeTags"),
    "listContactsWithTagId": ("get", "/rest/v2/tags/{tag_id}/contacts"),
    "listTagsForContact": ("get", "/rest/v2/contacts/{contact_id}/tags"),
    "getUserInfo": ("get", "/rest/v2/oauth/connect/userinfo"),
}

# Schema keywords kept in the output; everything else (description, example, title, ...)
# is documentation.
KEEP = ("type", "format", "enum", "const", "required", "properties", "additionalProperties",
        "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength", "pattern",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "nullable", "readOnly",
        "writeOnly", "allOf", "anyOf", "oneOf", "not", "default", "deprecated", "$ref")


# ---------------------------------------------------------------------------------------------
# YAML subset parser

class YamlError(ValueError):
    pass


_KEY_RE = re.compile(r"""^('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s'"\[\]{}#,&*!|>%@`-][^#]*?"""
                     r"""|-[^\s#][^#]*?)[ \t]*:(?:[ \t]+|$)(.*)$""")
_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
            "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
            "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _strip_comment(s):
    """s without a trailing ' # comment' (plain scalars only)."""
    m = re.search(r"(^|[ \t])#", s)
    return s[:m.start()].rstrip() if m else s.rstrip()


def _plain(s):
    """The value of a plain scalar (YAML 1.2 core schema)."""
    if s in ("", "~", "null", "Null", "NULL"):
        return None
    if s in ("true", "True", "TRUE"):
        return True
    if s in ("false", "False", "FALSE"):
        return False
    if _INT_RE.match(s):
        return int(s)
    if _FLOAT_RE.match(s) and any(c.isdigit() for c in s):
        return float(s)
    if s.startswith(("0x", "0o")):
        try:
            return int(s, 0)
        except ValueError:
            pass
    return s


def _fold(lines):
    """Line folding of a flow scalar written over several lines: the lines are trimmed, a
    single line break becomes a space and each empty line becomes a newline."""
    if len(lines) == 1:
        return lines[0]
    lines = [lines[0].rstrip(" \t")] + [ln.strip(" \t") for ln in lines[1:-1]] + \
        [lines[-1].lstrip(" \t")]
    out, empties = lines[0], 0
    for ln in lines[1:]:
        if ln == "":
            empties += 1
            continue
        out += ("\n" * empties if empties else " ") + ln
        empties = 0
    return out + "\n" * empties


class _Parser:
    def __init__(self, text):
        if "\t" in "".join(l[:_indent(l) + 1] for l in text.split("\n")):
            raise YamlError("tab in indentation")
        self.lines = text.split("\n")
        self.i = 0

    def err(self, msg, i=None):
        i = self.i if i is None else i
        return YamlError("line %d: %s" % (i + 1, msg))

    def skip_blank(self):
        """Moves to the next line with content; returns its index or None at the end."""
        while self.i < len(self.lines):
            s = self.lines[self.i].strip()
            if s and not s.startswith("#") and s not in ("---",):
                return self.i
            if s == "...":
                return None
            self.i += 1
        return None

    def parse(self):
        if self.skip_blank() is None:
            return None
        node = self.node(_indent(self.lines[self.i]))
        if self.skip_blank() is not None:
            raise self.err("unexpected content at indentation %d" % _indent(self.lines[self.i]))
        return node

    def node(self, indent):
        """A block node whose first line (current) is indented exactly `indent`."""
        line = self.lines[self.i]
        body = line[indent:]
        if body == "-" or body.startswith("- "):
            return self.sequence(indent)
        if _KEY_RE.match(body):
            return self.mapping(indent)
        # a lone scalar at block level (e.g. a flow collection or quoted string)
        return self.scalar_value(body, indent - 1, self.i)

    def mapping(self, indent):
        out = {}
        while True:
            i = self.skip_blank()
            if i is None or _indent(self.lines[i]) < indent:
                return out
            line = self.lines[i]
            if _indent(line) > indent:
                raise self.err("bad indentation %d in a mapping at %d" % (_indent(line), indent))
            body = line[indent:]
            if body == "-" or body.startswith("- "):
                return out  # a sequence at the parent's indentation ends this mapping
            m = _KEY_RE.match(body)
            if m is None:
                raise self.err("expected 'key: value'")
            key = self.key(m.group(1).rstrip())
            if key in out:
                raise self.err("duplicate key %r" % key)
            out[key] = self.value(m.group(2), indent)

    def key(self, k):
        if k[0] == "'":
            return k[1:-1].replace("''", "'")
        if k[0] == '"':
            return self.double(k[1:-1])
        return k

    def value(self, rest, indent):
        """The value after 'key:' on the current line, for a key at `indent`."""
        start = self.i
        rest_nc = _strip_comment(rest) if rest[:1] not in ("'", '"') else rest
        if rest_nc == "":
            self.i += 1
            j = self.skip_blank()
            if j is None:
                return None
            n = _indent(self.lines[j])
            body = self.lines[j][n:]
            if n > indent:
                return self.node(n)
            if n == indent and (body == "-" or body.startswith("- ")):
                return self.sequence(n)
            return None
        return self.scalar_value(rest, indent, start)

    def scalar_value(self, rest, indent, start):
        """A scalar or flow collection starting with `rest` on line `start`, owned by a node at
        `indent` (continuation lines must be indented more)."""
        c = rest[:1]
        if c in ("|", ">"):
            return self.block_scalar(rest, indent)
        if c in ("'", '"'):
            return self.quoted(rest, indent)
        if c in ("[", "{"):
            return self.flow(rest, indent)
        if c in ("&", "*", "!"):
            raise self.err("anchors, aliases and tags are not supported")
        # plain scalar, possibly continued on more-indented lines
        parts = [_strip_comment(rest)]
        self.i += 1
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if ln.strip() == "":
                parts.append("")
                self.i += 1
                continue
            if _indent(ln) <= indent or ln.strip().startswith("#"):
                break
            parts.append(_strip_comment(ln.strip()))
            self.i += 1
        while parts and parts[-1] == "":
            parts.pop()
            self.i -= 1
        # back up over trailing blank lines so the caller sees them again (harmless)
        while self.i > start + 1 and self.lines[self.i - 1].strip() == "":
            self.i -= 1
        if len(parts) == 1:
            return _plain(parts[0])
        return _fold(parts)

    def block_scalar(self, header, indent):
        m = re.match(r"^([|>])([-+]?)([1-9]?)([-+]?)\s*(#.*)?$", header)
        if m is None:
            raise self.err("bad block scalar header %r" % header)
        style, chomp = m.group(1), m.group(2) or m.group(4)
        explicit = m.group(3)
        self.i += 1
        raw = []
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if ln.strip() == "" or _indent(ln) > indent:
                raw.append(ln)
                self.i += 1
            else:
                break
        # trailing blank lines belong to the scalar (for chomping) but not to the next node
        content_indent = int(explicit) + indent if explicit else None
        if content_indent is None:
            for ln in raw:
                if ln.strip():
                    content_indent = _indent(ln)
                    break
            else:
                content_indent = indent + 1
        lines = []
        for ln in raw:
            if ln.strip() == "":
                lines.append(ln[content_indent:] if len(ln) > content_indent else "")
            elif _indent(ln) < content_indent:
                raise self.err("block scalar line less indented than its first line")
            else:
                lines.append(ln[content_indent:])
        n_trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            n_trailing += 1
        if style == "|":
            text = "\n".join(lines)
        else:
            text, prev_more = "", False
            for k, ln in enumerate(lines):
                more = ln.startswith((" ", "\t"))
                if k == 0:
                    text = ln
                elif ln == "":
                    text += "\n"
                elif more or prev_more or lines[k - 1] == "":
                    text += ("\n" if lines[k - 1] != "" or more else "") + ln
                else:
                    text += " " + ln
                prev_more = more
        if not lines:
            return "" if chomp != "+" else "\n" * n_trailing
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" + "\n" * n_trailing
        return text + "\n"

    def quoted(self, rest, indent):
        q = rest[0]
        buf = rest[1:]
        chunks = []
        start = self.i
        while True:
            end = self.find_close(buf, q)
            if end is not None:
                chunks.append(buf[:end])
                tail = buf[end + 1:].strip()
                if tail and not tail.startswith("#"):
                    raise self.err("text after a closing quote: %r" % tail)
                self.i += 1
                break
            chunks.append(buf)
            self.i += 1
            if self.i >= len(self.lines):
                raise self.err("unterminated quoted scalar", start)
            buf = self.lines[self.i]
        if q == "'":
            return _fold([c.replace("''", "'") for c in chunks]) if len(chunks) > 1 \
                else chunks[0].replace("''", "'")
        # double quotes: an escaped line break joins two lines without a space
        merged = [chunks[0]]
        for c in chunks[1:]:
            prev = merged[-1]
            if len(prev) - len(prev.rstrip("\\")) & 1:
                merged[-1] = prev[:-1] + c.lstrip(" \t")
            else:
                merged.append(c)
        return self.double(_fold(merged))

    @staticmethod
    def find_close(s, q):
        k = 0
        while k < len(s):
            ch = s[k]
            if q == "'" and ch == "'":
                if s[k + 1:k + 2] == "'":
                    k += 2
                    continue
                return k
            if q == '"':
                if ch == "\\":
                    k += 2
                    continue
                if ch == '"':
                    return k
            k += 1
        return None

    def double(self, s):
        out, k = [], 0
        while k < len(s):
            ch = s[k]
            if ch != "\\":
                out.append(ch)
                k += 1
                continue
            e = s[k + 1:k + 2]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                k += 2
            elif e in ("x", "u", "U"):
                n = {"x": 2, "u": 4, "U": 8}[e]
                out.append(chr(int(s[k + 2:k + 2 + n], 16)))
                k += 2 + n
            else:
                raise self.err("bad escape \\%s" % e)
        return "".join(out)

    def flow(self, rest, indent):
        text = _strip_comment(rest)
        start = self.i
        self.i += 1
        while not self.flow_balanced(text):
            if self.i >= len(self.lines):
                raise self.err("unterminated flow collection", start)
            text += " " + _strip_comment(self.lines[self.i].strip())
            self.i += 1
        value, pos = self.flow_node(text, 0)
        if text[pos:].strip():
            raise self.err("text after a flow collection: %r" % text[pos:], start)
        return value

    @staticmethod
    def flow_balanced(text):
        depth, q, k = 0, None, 0
        while k < len(text):
            ch = text[k]
            if q:
                if ch == "\\" and q == '"':
                    k += 1
                elif ch == q:
                    q = None
            elif ch in "'\"":
                q = ch
            elif ch in "[{":
                depth += 1
            elif ch in "]}":
                depth -= 1
            k += 1
        return depth == 0

    def flow_node(self, t, k):
        while k < len(t) and t[k] == " ":
            k += 1
        if t[k] in "[{":
            close = "]" if t[k] == "[" else "}"
            is_map = t[k] == "{"
            out = {} if is_map else []
            k += 1
            while True:
                while k < len(t) and t[k] in " ,":
                    k += 1
                if t[k] == close:
                    return out, k + 1
                if is_map:
                    key, k = self.flow_node(t, k)
                    while t[k] == " ":
                        k += 1
                    if t[k] != ":":
                        raise self.err("flow mapping without ':'")
                    val, k = self.flow_node(t, k + 1)
                    out[key] = val
                else:
                    val, k = self.flow_node(t, k)
                    out.append(val)
        if t[k] in "'\"":
            end = self.find_close(t[k + 1:], t[k])
            raw = t[k + 1:k + 1 + end]
            val = raw.replace("''", "'") if t[k] == "'" else self.double(raw)
            return val, k + end + 2
        m = re.match(r"[^,\[\]{}]*?(?=\s*(?:[,\]}]|:\s|:$))", t[k:])
        if m is None:
            raise self.err("bad flow scalar")
        return _plain(m.group(0).strip()), k + m.end()

    def sequence(self, indent):
        out = []
        while True:
            i = self.skip_blank()
            if i is None or _indent(self.lines[i]) != indent:
                if i is not None and _indent(self.lines[i]) > indent:
                    raise self.err("bad indentation in a sequence")
                return out
            body = self.lines[i][indent:]
            if not (body == "-" or body.startswith("- ")):
                return out
            rest = body[2:] if body != "-" else ""
            if _strip_comment(rest) == "" and rest[:1] not in ("'", '"'):
                self.i += 1
                j = self.skip_blank()
                if j is None or _indent(self.lines[j]) <= indent:
                    out.append(None)
                else:
                    out.append(self.node(_indent(self.lines[j])))
                continue
            sub = indent + 2 + (len(rest) - len(rest.lstrip(" ")))
            rest = rest.lstrip(" ")
            if rest.startswith("- ") or rest == "-" or _KEY_RE.match(rest) and \
                    rest[:1] not in ("'", '"', "[", "{") or \
                    (rest[:1] in ("'", '"') and _KEY_RE.match(rest) and
                     self.find_close(rest[1:], rest[0]) is not None and
                     rest[self.find_close(rest[1:], rest[0]) + 2:].lstrip().startswith(":")):
                # "- key: value" or "- - x": the item is a block node at the column after "- "
                self.lines[i] = " " * sub + rest
                out.append(self.node(sub))
            else:
                out.append(self.scalar_value(rest, indent, i))


def load_yaml(text):
    """Parses the YAML subset described in the module docstring; raises YamlError."""
    return _Parser(text).parse()


# ---------------------------------------------------------------------------------------------
# Extraction

def _ref_name(ref):
    prefix = "#/components/schemas/"
    if not ref.startswith(prefix):
        raise ValueError("unsupported $ref %r" % ref)
    return ref[len(prefix):]


def _compact(schema, wanted):
    """schema with documentation dropped; component refs become {"$ref": Name} and their
    names are added to `wanted`."""
    if isinstance(schema, list):
        return [_compact(s, wanted) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        wanted.add(name)
        return {"$ref": name}
    out = {}
    for k in KEEP:
        if k not in schema:
            continue
        v = schema[k]
        if k == "properties":
            out[k] = {p: _compact(s, wanted) for p, s in v.items()}
        elif k in ("items", "not") or (k == "additionalProperties" and isinstance(v, dict)):
            out[k] = _compact(v, wanted)
        elif k in ("allOf", "anyOf", "oneOf"):
            out[k] = [_compact(s, wanted) for s in v]
        else:
            out[k] = v
    return out


def _documented_values(name, text):
    """Value lists that the spec gives only in a parameter's description:
      fields   -> {"available": [...]}   from "(Available fields are: a,b,...)"
      order_by -> {"order_fields": [...], "order_directions": [...]} from the `backticked` items
      filter   -> {"filter_fields": [...]} from the "- (Type) `name`" lines
    """
    if name == "fields":
        m = re.search(r"Available fields are:\s*([^)]*)\)", text)
        if m:
            return {"available": [f.strip() for f in m.group(1).replace("\n", "").split(",")
                                  if f.strip()]}
    elif name == "order_by":
        items = re.findall(r"^\s*-\s*`([^`]+)`", text, re.M)
        dirs = [i for i in items if i in ("asc", "desc")]
        return {"order_fields": [i for i in items if i not in dirs], "order_directions": dirs}
    elif name == "filter":
        return {"filter_fields": re.findall(r"^\s*-\s*\([^)]*\)\s*`([A-Za-z0-9_]+)`", text,
                                            re.M)}
    return {}


def _json_schema(content):
    c = (content or {}).get("application/json")
    return None if c is None else c.get("schema")


def extract(spec):
    paths = spec["paths"]
    components = spec["components"]["schemas"]
    wanted = set()
    ops = {}
    for op_id, (method, path) in OPERATIONS.items():
        op = (paths.get(path) or {}).get(method)
        if op is None or op.get("operationId") != op_id:
            raise ValueError("operation %s (%s %s) not found in the spec"
                             % (op_id, method.upper(), path))
        query = {}
        for p in op.get("parameters") or []:
            if p.get("in") != "query":
                continue
            q = {"schema": _compact(p.get("schema") or {}, wanted),
                 "required": bool(p.get("required", False))}
            if "explode" in p:
                q["explode"] = p["explode"]
            if "style" in p:
                q["style"] = p["style"]
            q.update(_documented_values(p["name"], p.get("description") or ""))
            query[p["name"]] = q
        body = op.get("requestBody")
        request = None
        if body is not None:
            request = {"required": bool(body.get("required", False)),
                       "schema": _compact(_json_schema(body.get("content")) or {}, wanted)}
        responses = {}
        for status, r in (op.get("responses") or {}).items():
            s = _json_schema(r.get("content"))
            responses[str(status)] = None if s is None else _compact(s, wanted)
        ops[op_id] = {"method": method.upper(), "path": path, "query": query,
                      "request": request, "responses": responses}
    schemas, todo = {}, sorted(wanted)
    while todo:
        name = todo.pop()
        if name in schemas:
            continue
        if name not in components:
            raise ValueError("schema %s referenced but not defined" % name)
        more = set()
        schemas[name] = _compact(components[name], more)
        todo.extend(sorted(more - set(schemas)))
    return ops, {k: schemas[k] for k in sorted(schemas)}


def generate(swagger_path):
    with open(swagger_path, "rb") as f:
        raw = f.read()
    spec = load_yaml(raw.decode("utf-8"))
    ops, schemas = extract(spec)
    out = {
        "source": {"file": os.path.basename(swagger_path),
                   "md5": hashlib.md5(raw).hexdigest(),
                   "openapi": spec.get("openapi"),
                   "version": (spec.get("info") or {}).get("version"),
                   "generator": "tests/fakes/keap_schemas.py"},
        "operations": ops,
        "schemas": schemas,
    }
    return json.dumps(out, indent=1, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv):
    check = "--check" in argv
    args = [a for a in argv if a != "--check"]
    src = args[0] if args else DEFAULT_SWAGGER
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
