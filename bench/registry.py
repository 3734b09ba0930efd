"""Name -> object registries for methods, datasets and metrics.

Things register where they are defined (`@register_method("gan")` above the class). A lookup that misses
raises `UserError` with a suggestion and the full list of valid names. The registries fill themselves on
first lookup by importing the packages that define entries, so `import bench` stays light.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, Iterator, TypeVar

from bench.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, packages: tuple[str, ...]):
        self.kind = kind  # "method", "dataset", "metric": used in messages
        self._packages = packages
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        return deco

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for pkg_name in self._packages:
            pkg = importlib.import_module(pkg_name)
            if getattr(pkg, "__file__", None) is None:  # a folder without __init__.py shadowed the package
                raise ImportError(f"{pkg_name!r} resolved to the namespace folder(s) {list(pkg.__path__)}, not "
                                  f"modebench's package: run from the project root or reinstall (make install)")
            for info in pkgutil.iter_modules(pkg.__path__):
                if not info.name.startswith("_"):
                    importlib.import_module(f"{pkg_name}.{info.name}")

    def names(self) -> list[str]:
        self._load()
        return sorted(self._entries)

    def get(self, name: str) -> T:
        self._load()
        if name in self._entries:
            return self._entries[name]
        raise UserError(self.unknown_message(name))

    def unknown_message(self, name: str) -> str:
        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}{hint} available: {', '.join(names)}"

    def __contains__(self, name: str) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


METHODS: Registry = Registry("method", ("methods",))
DATASETS: Registry = Registry("dataset", ("bench.data",))
METRICS: Registry = Registry("metric", ("bench.metrics",))


def register_method(name: str):
    """Class decorator: `@register_method("mgan")`. The class also gets `name` set to it."""

    def deco(cls):
        cls.name = name
        return METHODS.register(name)(cls)

    return deco


def register_dataset(name: str):
    return DATASETS.register(name)


def register_metric(name: str):
    return METRICS.register(name)
