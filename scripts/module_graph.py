"""Print natsobj's module graph by layer: each module and the natsobj modules it imports.

    python scripts/module_graph.py

The layer order is import-linter's contract in pyproject.toml; tests/test_layout.py checks
that no cycle remains.
"""

from __future__ import annotations

import grimp

LAYERS = ["_wire", "_natspy", "_jetstream", "_transfer", "_store"]


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else "shells"


def main() -> None:
    graph = grimp.build_graph("natsobj", cache_dir=None)
    for layer in [*LAYERS, "shells"]:
        print(f"[{layer}]")
        for module in sorted(m for m in graph.modules if layer_of(m) == layer):
            imported = sorted(
                m for m in graph.find_modules_directly_imported_by(module) if m != module
            )
            print(f"  {module} -> {', '.join(imported) or '-'}")


if __name__ == "__main__":
    main()
