"""The engine package stays readable: each module says what it owns, and nothing grows too long."""

import ast
import io
import tokenize
from pathlib import Path

import pytest

import sk_logloss

ENGINE = Path(sk_logloss.__file__).parent / "_engine"
MODULES = sorted(ENGINE.glob("*.py"))


def code_lines(source):
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines - docstrings


def sizes(path, kinds):
    source = path.read_text()
    code = code_lines(source)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, kinds):
            yield node.name, len(code & set(range(node.lineno, node.end_lineno + 1)))


def test_the_engine_is_a_package_of_several_modules():
    names = {p.stem for p in MODULES}
    assert {"types", "host", "model", "batches", "rules", "early_stopping", "divergence",
            "trainer", "epochs", "loop", "streaming", "lbfgs"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_module_opens_with_what_it_owns_and_stays_short(path):
    source = path.read_text()
    doc = ast.get_docstring(ast.parse(source))
    assert doc and doc.splitlines()[0].strip().endswith((".", ")"))
    assert len(code_lines(source)) <= 300
    for name, n in sizes(path, (ast.FunctionDef,)):
        assert n <= 60, f"{path.name}: {name} has {n} lines of code"
    for name, n in sizes(path, (ast.ClassDef,)):
        assert n <= 200, f"{path.name}: class {name} has {n} lines of code"


def test_types_module_loads_no_tensorflow():
    import subprocess
    import sys

    code = ("import sys, sk_logloss._engine.types, sk_logloss._engine; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
