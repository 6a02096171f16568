"""@NAME@: a blobsync filter. It excludes files whose names end with `suffix` (config;
default `.tmp`), on both sides: they are neither uploaded nor deleted."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import Entries, EntryFields, Side

DIRECTORY = 1  # bit 0 of an entry's attributes

# componentize-py makes a new export-class instance per call: keep state in globals.
SUFFIX = ".tmp"


class FilterPlugin(exports.FilterPlugin):
    def configure(self, config: list[tuple[str, str]]) -> EntryFields:
        global SUFFIX
        for key, value in config:
            if key == "suffix":
                SUFFIX = value
            elif not key.startswith("blobsync."):
                raise Err(f"unknown config key `{key}` (known: suffix)")
        host.log(host.Level.INFO, f"@NAME@ excludes *{SUFFIX}")
        return EntryFields.PATH

    def filter(self, side: Side, entries: Entries) -> list[str | None]:
        verdicts: list[str | None] = []
        for path, attributes in zip(entries.paths.split("\0"), entries.attributes):
            if not attributes & DIRECTORY and path.endswith(SUFFIX):
                verdicts.append(f"ends with {SUFFIX}")
            else:
                verdicts.append(None)
        return verdicts
