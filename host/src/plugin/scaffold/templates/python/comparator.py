"""@NAME@: a blobsync comparator. A file present on both sides is copied when its size
differs, and left alone otherwise."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import Action, Decision, Entries, EntryFields


class ComparatorPlugin(exports.ComparatorPlugin):
    def configure(self, config: list[tuple[str, str]]) -> EntryFields:
        for key, _ in config:
            if not key.startswith("blobsync."):
                raise Err(f"unknown config key `{key}`")
        return EntryFields(0)  # sizes are always sent

    def compare(self, source: Entries, destination: Entries) -> list[Decision]:
        decisions = []
        for s, d in zip(source.sizes, destination.sizes):
            if s != d:
                decisions.append(Decision(Action.TRANSFER, f"size differs ({d} -> {s})"))
            else:
                decisions.append(Decision(Action.SKIP, "same size"))
        return decisions
