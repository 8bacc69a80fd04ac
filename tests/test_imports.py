"""The import directions of ARCHITECTURE.md, checked on every ``import`` in the package.

Why statically (``ast``), every import including those inside functions: a lazy import is
still a dependency, and importing at test time would only see the module-level ones.

- applications (``translate``, ``sentinel``, ``chat``) never import each other;
- ``serve`` never imports an application;
- the lower layers (``models``, ``store``, ``config``, ...) import no application, no
  ``serve``, no shell;
- ``cli`` and ``web`` never import an HTTP module (``*.routes``): they call services.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "llmapps"
APPS = {"translate", "sentinel", "chat"}
SHELLS = {"cli", "web", "app"}
LOWER = {"models", "store", "config", "errors", "scrub", "access", "uploads"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source`` (relative ones resolved)."""
    found: list[tuple[int, str]] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def violations(module: str, imports: list[tuple[int, str]]) -> list[str]:
    """The direction rules broken by ``module``'s imports."""
    parts = module.split(".")
    area = parts[1] if len(parts) > 1 else ""
    problems = []
    for line, name in imports:
        target = name.split(".")
        if target[0] != "llmapps" or len(target) < 2:
            continue
        other = target[1]
        where = f"{module}:{line} imports {name}"
        if area in APPS and other in APPS and other != area:
            problems.append(f"{where}: an application imports another application")
        if area == "serve" and other in APPS:
            problems.append(f"{where}: serve imports an application")
        if area in LOWER and (other in APPS or other == "serve" or other in SHELLS):
            problems.append(f"{where}: a lower layer imports an upper one")
        if area in ("cli", "web") and (target[-1] == "routes" or "routes" in target[2:]):
            problems.append(f"{where}: a shell imports an HTTP module (call the service)")
    return problems


def test_the_package_keeps_its_import_directions() -> None:
    problems: list[str] = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        source = path.read_text(encoding="utf-8")
        found = imports_of(source, module, is_package=path.name == "__init__.py")
        problems += violations(module, found)
    assert problems == [], "\n".join(problems)


def test_the_checker_catches_each_kind_of_violation() -> None:
    cases = {
        ("llmapps.chat.service", "from llmapps.sentinel import service"): "another application",
        ("llmapps.serve.http", "import llmapps.translate.jobs"): "serve imports",
        ("llmapps.cli.sentinel", "from llmapps.sentinel.routes import x"): "HTTP module",
        ("llmapps.web.ui", "from llmapps.serve import routes"): "HTTP module",
        ("llmapps.models.guard", "from llmapps.chat import service"): "lower layer",
        ("llmapps.translate.service", "from ..chat import service"): "another application",
    }
    for (module, source), expected in cases.items():
        found = violations(module, imports_of(f"def f():\n    {source}\n", module))
        assert found and expected in found[0], (module, source, found)
    fine = imports_of("from llmapps.models import get_chat_model\n", "llmapps.chat.service")
    assert violations("llmapps.chat.service", fine) == []
