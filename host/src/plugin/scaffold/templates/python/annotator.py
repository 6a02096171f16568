"""@NAME@: a blobsync annotator. HTML files are uploaded with Cache-Control set to
`cache-control` (config; default `no-cache`), and every file gets the metadata
`annotated_by = @NAME@`."""

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports.types import Annotation, ContentHeaders, Entries, EntryFields

CACHE_CONTROL = "no-cache"


class AnnotatorPlugin(exports.AnnotatorPlugin):
    def configure(self, config: list[tuple[str, str]]) -> EntryFields:
        global CACHE_CONTROL
        for key, value in config:
            if key == "cache-control":
                CACHE_CONTROL = value
            elif not key.startswith("blobsync."):
                raise Err(f"unknown config key `{key}` (known: cache-control)")
        return EntryFields.PATH

    def annotate(self, entries: Entries) -> list[Annotation]:
        annotations = []
        for path in entries.paths.split("\0"):
            cache = CACHE_CONTROL if path.endswith(".html") else None
            headers = ContentHeaders(None, cache, None, None, None)
            annotations.append(Annotation(headers, None, [("annotated_by", "@NAME@")], []))
        return annotations
