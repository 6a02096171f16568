"""@NAME@: a blobsync hook. It appends one line per upload, download or delete to the
output file its manifest grants (`output = "out/events.txt"`), and a line at the end of
each run."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host, output
from wit_world.imports.types import Event, Summary


def write(line: str) -> None:
    try:
        output.write_line(line)
    except Err as e:
        host.log(host.Level.WARN, f"cannot write: {e.value}")


class HookPlugin(exports.HookPlugin):
    def configure(self, config: list[tuple[str, str]]) -> None:
        for key, _ in config:
            if not key.startswith("blobsync."):
                raise Err(f"unknown config key `{key}`")

    def on_events(self, events: list[Event]) -> None:
        for e in events:
            write(f"{e.action.name.lower()} {e.path} {e.bytes}")

    def on_complete(self, summary: Summary) -> None:
        write(f"done {summary.job_id} copied={summary.copied}")
