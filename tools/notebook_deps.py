"""What a notebook's execution depends on, for the cache key of tools/execute.py.

    python tools/execute.py --explain book/04_fully_connected_to_convolution.ipynb

A notebook's key is a hash of

* the notebook file itself;
* the source of every module of this repository's packages (cnnlib) that it imports,
  transitively: every ``import`` / ``from ... import`` statement anywhere in a code cell
  or in an imported module (inside functions too), the packages above each module
  (their ``__init__`` runs on import), ``importlib.import_module("literal")`` and
  ``f"{__name__}.{name}"`` patterns (the second takes the whole package), and string
  constants that name a module (``_require("mlxtend.data", ...)``);
* the data files those packages hold (any non-Python file in a package folder or in a
  data folder inside it), and files a code cell names by a relative path that exists;
* the versions of the installed distributions those imports reach, with everything
  they require, plus the kernel machinery (ipykernel, nbclient, ...), and Python's;
* ``CACHE_VERSION`` of tools/execute.py.

Editing chapter 5's checks therefore re-executes only the notebooks that import
``cnnlib.checks.ch05`` (and those that import a module which imports it).

Not followed: an ``importlib.import_module(name)`` whose name is computed from a
variable. :func:`dynamic_imports` lists such places in the repository's packages; the
test suite keeps that list known, so a new one is a decision, not an accident.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Always part of a notebook's environment: what runs it and what draws its outputs.
MACHINERY = ("ipykernel", "jupyter_client", "nbclient", "nbformat", "pyzmq", "ipywidgets",
             "matplotlib-inline", "ipython")
MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@dataclass
class Found:
    """What one piece of source imports."""
    modules: set[str] = field(default_factory=set)     # dotted names, absolute
    packages: set[str] = field(default_factory=set)    # whole packages (dynamic names)
    strings: set[str] = field(default_factory=set)     # string constants that may be modules
    dynamic: list[str] = field(default_factory=list)   # unresolved dynamic imports (lines)


def _resolve_relative(module: str | None, level: int, package: str) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[:len(parts) - level + 1]
    return ".".join(base + ([module] if module else []))


def _literal_prefix(node: ast.AST, module_name: str) -> str | None:
    """'pkg.' for f"{__name__}.{x}" or "pkg." + x; None when nothing static leads."""
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
        if isinstance(first, ast.FormattedValue) and isinstance(first.value, ast.Name) \
                and first.value.id in ("__name__", "__package__"):
            rest = node.values[1] if len(node.values) > 1 else None
            dot = rest.value if isinstance(rest, ast.Constant) else ""
            return f"{module_name}{dot}"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) \
            and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
        return node.left.value
    return None


def find_imports(tree: ast.AST, module_name: str = "", package: str = "",
                 where: str = "") -> Found:
    """Every import in ``tree``, however deeply nested. ``module_name``/``package`` give
    the context of relative imports and of ``__name__``."""
    found = Found()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(node.module, node.level, package)
            found.modules.add(base)
            # `from pkg import sub` imports the submodule pkg.sub when there is one.
            found.modules.update(f"{base}.{alias.name}" for alias in node.names
                                 if alias.name != "*")
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            if name not in ("import_module", "__import__"):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.modules.add(arg.value)
            elif (prefix := _literal_prefix(arg, module_name)) is not None:
                found.packages.add(prefix.rstrip("."))
            else:
                found.dynamic.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and MODULE_NAME.match(node.value):
            found.strings.add(node.value)
    return found


def cell_python(source: str) -> str:
    """A code cell as plain Python (IPython's magics and ``!`` lines translated)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class Repository:
    """The local packages of a repository (top-level folders with an ``__init__.py``)
    and the imports of their modules, parsed once."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.packages = {p.name for p in self.root.iterdir()
                         if (p / "__init__.py").is_file()}

    def is_local(self, module: str) -> bool:
        return module.split(".")[0] in self.packages

    def module_file(self, module: str) -> Path | None:
        path = self.root.joinpath(*module.split("."))
        for candidate in (path / "__init__.py", path.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def package_modules(self, package: str) -> set[str]:
        """``package`` and every module below it."""
        folder = self.root.joinpath(*package.split("."))
        if not (folder / "__init__.py").is_file():
            return set()
        out = set()
        for path in folder.rglob("*.py"):
            rel = path.relative_to(self.root).with_suffix("")
            parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
            if "__pycache__" not in parts:
                out.add(".".join(parts))
        return out

    def imports_of(self, module: str) -> Found:
        path = self.module_file(module)
        assert path is not None
        return _parse_module(path, path.stat().st_mtime_ns, module,
                             module if path.name == "__init__.py" else
                             module.rpartition(".")[0],
                             path.relative_to(self.root).as_posix())

    def closure(self, found: Found) -> tuple[set[str], set[str], list[str]]:
        """(local modules, other top-level module names, unresolved dynamic imports)
        reached from ``found``, transitively."""
        local, other, dynamic = set(), set(), list(found.dynamic)
        todo = [found]
        while todo:
            item = todo.pop()
            names = set(item.modules)
            for package in item.packages:
                names |= self.package_modules(package) if self.is_local(package) else {package}
            names |= {s for s in item.strings if self.is_local(s) or _is_installed(s)}
            for name in names:
                if not name:
                    continue
                if not self.is_local(name):
                    other.add(name.split(".")[0])
                    continue
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # the packages above run on import
                    sub = ".".join(parts[:i])
                    if sub not in local and self.module_file(sub) is not None:
                        local.add(sub)
                        more = self.imports_of(sub)
                        dynamic += more.dynamic
                        todo.append(more)
        return local, other, sorted(set(dynamic))

    def data_files(self, modules: set[str]) -> list[Path]:
        """Non-Python files in the folders of ``modules`` and in data folders (no
        ``__init__.py``) below them."""
        files = set()
        for module in modules:
            path = self.module_file(module)
            if path is None:
                continue
            folder = path.parent
            for item in folder.iterdir():
                if item.is_file() and item.suffix not in (".py", ".pyc"):
                    files.add(item)
                elif item.is_dir() and item.name != "__pycache__" and \
                        not (item / "__init__.py").is_file():
                    files.update(p for p in item.rglob("*") if p.is_file()
                                 and "__pycache__" not in p.parts)
        return sorted(files)


@functools.lru_cache(maxsize=None)
def _parse_module(path: Path, mtime_ns: int, module: str, package: str, where: str) -> Found:
    return find_imports(ast.parse(path.read_bytes(), filename=str(path)), module, package,
                        where)


@functools.cache
def _top_level_distributions() -> dict[str, list[str]]:
    return importlib.metadata.packages_distributions()


def _is_installed(module: str) -> bool:
    top = module.split(".")[0]
    return top in _top_level_distributions() and top not in sys.stdlib_module_names


def distribution_versions(top_level_names: set[str]) -> dict[str, str]:
    """{distribution: version} for the distributions providing these import names, the
    kernel machinery, and everything they require (extras left out)."""
    return dict(_distribution_versions(frozenset(top_level_names)))


@functools.lru_cache(maxsize=None)
def _distribution_versions(top_level_names: frozenset[str]) -> tuple[tuple[str, str], ...]:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    mapping = _top_level_distributions()
    todo = [d for name in top_level_names if name not in sys.stdlib_module_names
            for d in mapping.get(name, [])] + list(MACHINERY)
    versions: dict[str, str] = {}
    while todo:
        name = canonicalize_name(todo.pop())
        if name in versions:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
            continue
        versions[name] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return tuple(sorted(versions.items()))


def notebook_dependencies(notebook: Path, repo: Path) -> dict:
    """Everything the key of ``notebook`` is made of, as a JSON-able dict (hashes)."""
    import nbformat

    sha = lambda data: hashlib.sha256(data).hexdigest()  # noqa: E731
    repository = Repository(repo)
    nb = nbformat.read(notebook, as_version=4)
    found, unparsable = Found(), []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell_python(cell.source))
        except SyntaxError:
            unparsable.append(index)
            continue
        part = find_imports(tree, "__main__", "", f"{notebook.name} cell {index}")
        found.modules |= part.modules
        found.packages |= part.packages
        found.strings |= part.strings
        found.dynamic += part.dynamic
    if unparsable:  # cannot tell what such a cell imports: depend on everything local
        found.packages |= repository.packages
    local, other, dynamic = repository.closure(found)
    cell_files = sorted(p for s in found.strings | _path_strings(nb)
                        if (p := notebook.parent / s).is_file())
    return {
        "notebook": sha(notebook.read_bytes()),
        "modules": {m: sha(repository.module_file(m).read_bytes()) for m in sorted(local)},
        "data": {p.relative_to(repo).as_posix() if p.is_relative_to(repo) else str(p):
                 sha(p.read_bytes()) for p in repository.data_files(local) + cell_files},
        "packages": distribution_versions(other),
        "python": sys.version,
        "unresolved_dynamic_imports": dynamic,
        "unparsable_cells": unparsable,
    }


def _path_strings(nb) -> set[str]:
    """String constants of the code cells that look like relative file paths."""
    out = set()
    for cell in nb.cells:
        if cell.cell_type == "code":
            out.update(re.findall(r"""["']([\w.\-]+(?:/[\w.\-]+)+)["']""", cell.source))
    return out


def dependency_key(parts: dict, version: str) -> str:
    """The hash of ``parts`` (from :func:`notebook_dependencies`) and a cache version."""
    payload = json.dumps({"version": version, **parts}, sort_keys=True).encode()
    return hashlib.sha256(payload).hexdigest()


def dynamic_imports(repo: Path) -> list[str]:
    """Every unresolved dynamic import in the repository's packages (file:line: call)."""
    repository = Repository(repo)
    out = []
    for package in sorted(repository.packages):
        for module in sorted(repository.package_modules(package)):
            out += repository.imports_of(module).dynamic
    return out
