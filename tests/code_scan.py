"""Every result code the engine and the gateway can emit, found in their source.

A code is a snake_case string literal in one of the places the source emits
codes from:
  * the `code` argument of any function of these packages that has a
    parameter named `code` (result.error/warning/note, gs1_dl._fail,
    gs1_lint._hms, ...), by position or by keyword;
  * the value assigned to a variable named `code`;
  * the first item of a (code, message) or (code, message, at) tuple, the
    form the linters and the message-level rules return.
Literals are looked for through conditional expressions
(`"too_short" if s == "" else "too_long"`).
"""

import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("udi_codes", "gateway")
CODE_RE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def source_files(packages=PACKAGES):
    out = []
    for pkg in packages:
        d = os.path.join(ROOT, pkg)
        for name in sorted(os.listdir(d)):
            if name.endswith(".py"):
                out.append(os.path.join(d, name))
    return out


def _trees(files):
    return [(f, ast.parse(open(f, encoding="utf-8").read(), f)) for f in files]


def _code_params(trees):
    # function name -> positional indexes of a parameter named "code"
    params = {}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if "code" in names:
                    params.setdefault(node.name, set()).add(names.index("code"))
    return params


def _literals(node):
    # Code-like string literals an expression can evaluate to.
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if CODE_RE.match(node.value) else []
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    if isinstance(node, ast.BoolOp):
        out = []
        for v in node.values:
            out += _literals(v)
        return out
    return []


def _is_message(node):
    # Prose, not another identifier: ("read", "print") is not (code, message).
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and not CODE_RE.match(node.value)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_message(node.left) or _is_message(node.right)
    return False


def _func_name(call):
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute):
        return f.attr
    return None


def emitted_codes(packages=PACKAGES, files=None):
    """{code: [(file relative to the repo, line), ...]}"""
    # Functions with a `code` parameter are looked up in every package, so
    # that scanning one module still knows result.error(res, code, ...).
    params = _code_params(_trees(source_files()))
    trees = _trees(files if files is not None else source_files(packages))
    found = {}

    def add(codes, path, node):
        for c in codes:
            found.setdefault(c, []).append((os.path.relpath(path, ROOT), node.lineno))

    for path, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for i in params.get(_func_name(node), ()):
                    if i < len(node.args):
                        add(_literals(node.args[i]), path, node)
                for kw in node.keywords:
                    if kw.arg == "code":
                        add(_literals(kw.value), path, node)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    if isinstance(t, ast.Name) and t.id == "code":
                        add(_literals(node.value), path, node)
            elif isinstance(node, ast.Tuple) and len(node.elts) in (2, 3) and _is_message(node.elts[1]):
                add(_literals(node.elts[0]), path, node)
    return found


def module_codes(*names):
    """Codes emitted by the given udi_codes modules ("hibc", "gs1_lint", ...)."""
    files = [os.path.join(ROOT, "udi_codes", n + ".py") for n in names]
    return set(emitted_codes(files=files))
