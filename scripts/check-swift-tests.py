#!/usr/bin/env python3
"""Checks the XCTests against the generated Swift bindings, without a Swift compiler.

    scripts/check-swift-tests.py GENERATED.swift... -- TEST.swift...

Not a type checker: a net for the mistakes a hand-written Swift mirror of the Kotlin tests makes
and only a Mac would catch. It checks that
  * calls of generated functions, methods, initialisers and enum cases use a declared list of
    argument labels (`readChip(transport:key:options:listener:cancel:)`, `.mrz(idNumber:...)`),
    and that patterns (`case EidError.Backend(let code, _)`) have the case's arity;
  * `Enum.member` names a case or static function of a generated type (`EidError.WrongPasscode`);
  * classes in the tests that adopt a generated protocol (ApduTransport, KeyStore, ...) implement
    every requirement with the same name, labels, parameter and return types, and no more
    effects (async, throws) than the requirement;
  * every implicit member (`.airport`) and member access (`qr.qrVersion`, `\\.kind`) names
    something the generated code or the tests declare, or a Swift/Foundation/XCTest member
    listed in STD_MEMBERS below (extend it when a test uses a new one).
"""

import re
import sys

# Members of Swift, Foundation, CryptoKit and XCTest types that the tests use.
STD_MEMBERS = {
    "all", "allSatisfy", "append", "appendingPathComponent", "availableData", "bits256",
    "combined", "components", "contains", "count", "createDirectory", "default", "derRepresentation",
    "dropFirst", "dropLast", "environment", "executableURL", "fileExists", "fileHandleForReading",
    "first", "hash", "hasPrefix", "isEmpty", "isRunning", "joined", "last", "lock", "map",
    "nullDevice", "open", "path", "prefix", "processInfo", "publicKey", "readabilityHandler",
    "reduce", "removeItem", "run", "seal", "signature", "standardError", "standardOutput",
    "temporaryDirectory", "terminate", "timeIntervalSince1970", "trimmingCharacters", "unlock",
    "uuidString", "whitespacesAndNewlines", "x963Representation", "addingTimeInterval", "sleep",
    "arguments", "tearDown", "init", "stop", "shared", "address", "exited", "lines", "message",
    "level", "stages", "steps", "apdus", "url", "adminToken", "self", "utf8",
    "pemRepresentation", "random", "waitUntilExit", "terminationStatus", "replacingOccurrences",
}

# Swift/Foundation/CryptoKit calls that share a name with a generated function.
STD_CALLS = {
    "unlock": {()},  # NSLock
    "open": {(None, "using", "authenticating")},  # AES.GCM.open
    "write": {("to", "atomically", "encoding")},  # String.write
}

KEYWORDS = {
    "if", "guard", "while", "for", "switch", "return", "throw", "catch", "try", "await", "func",
    "init", "case", "let", "var", "in", "as", "is", "super", "self", "Self", "defer", "do",
    "else", "repeat", "where", "XCTAssertEqual",
}


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    return re.sub(r"(?m)^\s*//.*$", "", src)


def strip_strings(src):
    """String literals become "" (the tests' interpolations hold no nested literals)."""
    src = re.sub(r'"""(.*?)"""', '""', src, flags=re.S)
    return re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', src)


def balanced(src, i, open_="(", close=")"):
    """The text between src[i] == open_ and its matching close, and the index after it."""
    depth, j = 0, i
    while j < len(src):
        c = src[j]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return src[i + 1 : j], j + 1
        j += 1
    raise ValueError(f"unbalanced {open_} at {i}")


def split_top(text):
    parts, depth, cur = [], 0, ""
    for c in text:
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    if cur.strip():
        parts.append(cur)
    return [p.strip() for p in parts]


def params(text):
    """[(external label, type)] of a declaration's parameter list."""
    out = []
    for p in split_top(text):
        names, _, typ = p.partition(":")
        label = names.split()[0]
        out.append((None if label == "_" else label, re.sub(r"\s+", "", typ.split("=")[0])))
    return out


class Api:
    def __init__(self):
        self.funcs = {}  # name -> set of label tuples
        self.inits = {}  # type -> set of label tuples
        self.cases = {}  # enum -> {case: label tuple}
        self.statics = {}  # type -> set of static func names
        self.protocols = {}  # protocol -> {name: (labels, types, effects, ret)}
        self.names = set()  # every declared member, field, case and label

    def load(self, src):
        src = strip_comments(src)
        types = [(m.start(), m.group(2), m.group(1)) for m in re.finditer(
            r"(?m)^(?:public|open)\s+(struct|class|enum|protocol)\s+(\w+)", src)]

        def owner(pos):
            before = [t for t in types if t[0] < pos]
            return before[-1] if before else (0, None, None)

        for m in re.finditer(r"(?:(public|open)\s+)?(static\s+)?func\s+`?(\w+)`?\s*\(", src):
            args, end = balanced(src, m.end() - 1)
            ps = params(args)
            name = m.group(3)
            self.funcs.setdefault(name, set()).add(tuple(l for l, _ in ps))
            self.names.add(name)
            self.names.update(l for l, _ in ps if l)
            _, typ, kind = owner(m.start())
            if m.group(2) and typ:
                self.statics.setdefault(typ, set()).add(name)
            if kind == "protocol" and not m.group(1):
                sig = re.match(r"\s*(async)?\s*(throws)?\s*(?:->\s*([^\n{]+))?", src[end:])
                self.protocols.setdefault(typ, {})[name] = (
                    tuple(l for l, _ in ps), tuple(t for _, t in ps),
                    {e for e in sig.group(1, 2) if e}, re.sub(r"\s+", "", sig.group(3) or ""))
        for m in re.finditer(r"(?:public\s+)?(?:convenience\s+)?init\s*\(", src):
            _, typ, kind = owner(m.start())
            if kind in ("struct", "class") and typ and "NoHandle {" not in src[m.start() - 60 : m.start()]:
                args, _ = balanced(src, m.end() - 1)
                self.inits.setdefault(typ, set()).add(tuple(l for l, _ in params(args)))
        for m in re.finditer(r"(?m)^\s*case\s+(\w+)(\()?", src):
            _, typ, kind = owner(m.start())
            if kind != "enum" or not typ:
                continue
            labels = ()
            if m.group(2):
                args, _ = balanced(src, m.end() - 1)
                labels = tuple(l for l, _ in params(args))
            self.cases.setdefault(typ, {})[m.group(1)] = labels
            self.names.add(m.group(1))
            self.names.update(l for l in labels if l)
        for m in re.finditer(r"(?:public|open)\s+(?:var|let)\s+(\w+)", src):
            self.names.add(m.group(1))


def line_of(src, pos):
    return src.count("\n", 0, pos) + 1


def check(api, path, raw, local_names, local_sigs, errors):
    src = strip_strings(strip_comments(raw))
    err = lambda pos, msg: errors.append(f"{path}:{line_of(src, pos)}: {msg}")
    all_cases = {c: (e, l) for e, cs in api.cases.items() for c, l in cs.items()}

    # Calls: name(...), Type.name(...), .name(...)
    for m in re.finditer(r"(\b\w+\s*\.\s*|\.)?\b(\w+)\s*\(", src):
        qual, name = (m.group(1) or "").replace(" ", ""), m.group(2)
        if name in KEYWORDS or re.search(r"\b(func|init)\s*$", src[: m.start(2)]):
            continue
        args, _ = balanced(src, m.end() - 1)
        parts = split_top(args)
        pattern = bool(re.search(r"\bcase\s+$", src[: m.start()])) or any(
            re.match(r"(let|var)\b|_$", p) for p in parts)
        labels = tuple((re.match(r"(\w+)\s*:(?!:)", p).group(1) if re.match(r"\w+\s*:(?!:)", p)
                        and not re.match(r"\w+\s*:\s*$", p) else None) for p in parts)
        typ = qual[:-1] if qual.endswith(".") and qual != "." else None
        if typ in api.cases and typ is not None:
            if name not in api.cases[typ] and name not in api.statics.get(typ, ()):
                err(m.start(2), f"{typ}.{name} is not a case or static function of {typ}")
                continue
        if qual == "." and name in all_cases or (typ in api.cases and name in api.cases[typ]):
            want = api.cases[typ][name] if typ in api.cases else all_cases[name][1]
            if pattern:
                if len(parts) != len(want):
                    err(m.start(2), f"pattern .{name} with {len(parts)} values, the case has {len(want)}")
            elif labels != want:
                err(m.start(2), f".{name}({':'.join(map(str, labels))}) but the case is .{name}({':'.join(map(str, want))})")
            continue
        if not qual and name in api.inits:
            if labels not in api.inits[name]:
                err(m.start(2), f"{name}({fmt(labels)}): no such initialiser; declared: {alts(api.inits[name])}")
            continue
        if name in api.funcs:
            if labels not in api.funcs[name] | local_sigs.get(name, set()) | STD_CALLS.get(name, set()):
                err(m.start(2), f"{name}({fmt(labels)}): declared as {alts(api.funcs[name], name)}")

    # Type.member without a call.
    for m in re.finditer(r"\b([A-Z]\w*)\.(\w+)\b(?!\s*\()", src):
        typ, name = m.groups()
        if typ in api.cases and name not in api.cases[typ] and name not in api.statics.get(typ, ()):
            err(m.start(2), f"{typ}.{name} is not a case of {typ}")

    # Implicit members and member accesses.
    known = api.names | local_names | STD_MEMBERS
    for m in re.finditer(r"(?<![\w)\]?!])\.([a-z]\w*)|(?<=[\w)\]?!])\.([a-z_]\w*)|\\\.(\w+)", src):
        name = m.group(1) or m.group(2) or m.group(3)
        if name.isdigit() or name in known:
            continue
        err(m.start(), f".{name}: neither generated nor declared in the tests nor in STD_MEMBERS")

    # Conformances to generated protocols.
    for m in re.finditer(r"\bclass\s+(\w+)\s*:\s*([^{]+)\{", src):
        protos = [p.strip() for p in m.group(2).split(",") if p.strip() in api.protocols]
        if not protos:
            continue
        body, _ = balanced(src, m.end() - 1, "{", "}")
        impl = {}
        for f in re.finditer(r"\bfunc\s+(\w+)\s*\(", body):
            args, end = balanced(body, f.end() - 1)
            sig = re.match(r"\s*(async)?\s*(throws)?\s*(?:->\s*([^{]+))?\{", body[end:])
            ps = params(args)
            impl[f.group(1)] = (tuple(l for l, _ in ps), tuple(t for _, t in ps),
                                {e for e in sig.group(1, 2) if e}, re.sub(r"\s+", "", sig.group(3) or ""))
        for proto in protos:
            for name, (labels, types, effects, ret) in api.protocols[proto].items():
                got = impl.get(name)
                where = f"{m.group(1)}: {proto}.{name}"
                if got is None:
                    err(m.start(), f"{where} is not implemented")
                elif got[:2] != (labels, types) or got[3] != ret:
                    err(m.start(), f"{where}: {sig_text(name, got)} but the protocol has {sig_text(name, (labels, types, effects, ret))}")
                elif not got[2] <= effects:
                    err(m.start(), f"{where}: {sorted(got[2])} where the protocol allows {sorted(effects)}")


def fmt(labels):
    return "".join(f"{l or '_'}:" for l in labels)


def alts(options, name=""):
    return " or ".join(f"{name}({fmt(o)})" for o in sorted(options, key=str))


def sig_text(name, sig):
    labels, types, effects, ret = sig
    ps = ", ".join(f"{l or '_'}: {t}" for l, t in zip(labels, types))
    return f"func {name}({ps}) {' '.join(sorted(effects))} -> {ret or 'Void'}"


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    i = argv.index("--")
    generated, tests = argv[:i], argv[i + 1 :]
    api = Api()
    for p in generated:
        api.load(open(p, encoding="utf-8").read())
    if not api.funcs or not tests:
        print("check-swift-tests: nothing to check", file=sys.stderr)
        return 2
    sources = {p: open(p, encoding="utf-8").read() for p in tests}
    local, local_sigs = set(), {}
    for raw in sources.values():
        s = strip_strings(strip_comments(raw))
        for f in re.finditer(r"\bfunc\s+(\w+)\s*\(", s):
            args, _ = balanced(s, f.end() - 1)
            local_sigs.setdefault(f.group(1), set()).add(tuple(l for l, _ in params(args)))
        local |= set(re.findall(r"\b(?:func|class|struct|enum|var|let|case)\s+(\w+)", s))
        local |= set(re.findall(r"\((\w+)\s*:\s*\w", s))  # tuple labels and parameters
    errors = []
    for p, raw in sources.items():
        check(api, p, raw, local, local_sigs, errors)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"check-swift-tests: {len(errors)} problem(s) against the generated Swift", file=sys.stderr)
        return 1
    print(f"check-swift-tests: {len(tests)} test file(s) agree with {len(generated)} generated file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
