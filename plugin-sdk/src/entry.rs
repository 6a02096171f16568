//! Helpers shared by the `Entry` type of every plugin kind. Each kind's bindings carry
//! their own copy of the WIT types, so these are stamped onto each copy by a macro.

/// Implements the convenience methods on a generated `Entry` type.
macro_rules! entry_helpers {
    ($entry:ty) => {
        impl $entry {
            /// The last path segment: the file or directory name.
            pub fn name(&self) -> &str {
                self.path.rsplit('/').next().unwrap_or(&self.path)
            }

            /// The value of a metadata key (blob entries only; keys are lower-case).
            pub fn metadata_value(&self, key: &str) -> Option<&str> {
                self.metadata
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str())
            }

            /// The source file's modification time that blobsync (or rclone) stored in the
            /// blob's metadata, in nanoseconds since the Unix epoch. `None` for local
            /// entries, for blobs written by other tools, and for unparsable values.
            pub fn stored_mtime_ns(&self) -> Option<i64> {
                self.metadata_value($crate::MTIME_METADATA_KEY)
                    .and_then($crate::parse_rfc3339_ns)
            }

            /// The content MD5 as lower-case hex, if known.
            pub fn md5_hex(&self) -> Option<String> {
                self.md5
                    .as_ref()
                    .map(|d| d.iter().map(|b| format!("{b:02x}")).collect())
            }
        }
    };
}
pub(crate) use entry_helpers;
