"""A blobsync filter in Python: keeps files modified in the last `max-age-days` days
(counted from the run's start) and skips editor and OS clutter.

Config:
  max-age-days   files older than this are not synced (default: no limit)
  exclude-names  `;`-separated fnmatch globs over file names
                 (default: *.swp;*~;.DS_Store;Thumbs.db)

Directories always pass, so the filter never prunes a tree by its folder's age.
"""

from fnmatch import fnmatchcase

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host
from wit_world.imports.types import Entries, EntryFields, Side

DIRECTORY = 1  # bit 0 of an entry's attributes byte
NS_PER_DAY = 86_400 * 1_000_000_000

# componentize-py makes a new instance of the export class for every call, so the
# configuration lives in module globals.
CUTOFF_NS: int | None = None
EXCLUDED: list[str] = ["*.swp", "*~", ".DS_Store", "Thumbs.db"]


def parse(config: list[tuple[str, str]]) -> None:
    global CUTOFF_NS, EXCLUDED
    values = dict(config)
    started_ms = int(values.get("blobsync.run-started-ms", "0") or 0)
    for key, value in config:
        if key == "max-age-days":
            try:
                days = float(value)
            except ValueError:
                raise Err(f"config `max-age-days`: {value!r} is not a number of days")
            if days <= 0:
                raise Err("config `max-age-days` must be more than 0")
            CUTOFF_NS = started_ms * 1_000_000 - int(days * NS_PER_DAY)
        elif key == "exclude-names":
            EXCLUDED = [glob for glob in value.split(";") if glob]
        elif not key.startswith("blobsync."):
            raise Err(f"unknown config key `{key}` (known keys: max-age-days, exclude-names)")


class FilterPlugin(exports.FilterPlugin):
    def configure(self, config: list[tuple[str, str]]) -> EntryFields:
        parse(config)
        host.log(
            host.Level.DEBUG,
            f"age-filter: cutoff {CUTOFF_NS} ns, excluded names {EXCLUDED}",
        )
        return EntryFields.PATH

    def filter(self, side: Side, entries: Entries) -> list[str | None]:
        verdicts: list[str | None] = []
        paths = entries.paths.split("\0")
        for path, attributes, mtime in zip(paths, entries.attributes, entries.mtimes_ns):
            if attributes & DIRECTORY:
                verdicts.append(None)
                continue
            name = path.rsplit("/", 1)[-1]
            glob = next((g for g in EXCLUDED if fnmatchcase(name, g)), None)
            if glob is not None:
                verdicts.append(f"name matches {glob}")
            elif CUTOFF_NS is not None and mtime < CUTOFF_NS:
                verdicts.append("older than max-age-days")
            else:
                verdicts.append(None)
        return verdicts
