"""@NAME@: a blobsync resolver, for a two-way sync's conflicts (`blobsync bisync`). PATH2's
version wins for paths below `content/` (the `path2-owns` setting); elsewhere it has no
opinion, and `--conflict-resolve` decides."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.two_way import Choice, Conflict, Resolution

# Set by `configure`, once per instance.
owned = "content/"


class ResolverPlugin(exports.ResolverPlugin):
    def configure(self, config: list[tuple[str, str]]) -> None:
        global owned
        for key, value in config:
            if key == "path2-owns":
                owned = value
            elif not key.startswith("blobsync."):
                raise Err(f"unknown config key `{key}`")

    def resolve(self, conflicts: list[Conflict]) -> list[Resolution]:
        out = []
        for c in conflicts:
            if c.path.startswith(owned):
                out.append(Resolution(choice=Choice.PATH2, reason=f"path2 owns {owned}"))
            else:
                out.append(Resolution(choice=Choice.POLICY, reason=""))
        return out
