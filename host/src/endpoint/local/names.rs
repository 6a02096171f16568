//! Which relative paths can be files below a local folder.

use crate::endpoint::{EndpointError, ErrorClass};

/// Refuses names that cannot be a path below the destination folder: empty segments,
/// `.` and `..` (which would escape the folder), NUL, and segments longer than a file
/// system allows.
pub(crate) fn check_local_name(path: &str) -> Result<(), EndpointError> {
    let problem = if path.is_empty() {
        Some("it is empty".to_string())
    } else if path.contains('\0') {
        Some("it contains a NUL character".to_string())
    } else {
        path.split('/').find_map(|segment| match segment {
            "" => Some(
                "it has an empty path segment (`//`, or a leading or trailing `/`)".to_string(),
            ),
            "." | ".." => Some(format!(
                "it has a `{segment}` segment, which would leave the folder"
            )),
            s if s.len() > 255 => Some(format!(
                "a segment is {} bytes long; file names are at most 255",
                s.len()
            )),
            _ => None,
        })
    };
    match problem {
        None => Ok(()),
        Some(why) => Err(EndpointError::new(
            ErrorClass::Usage,
            format!("the blob name {path:?} cannot be a local path: {why}; it was not downloaded"),
        )
        .at(path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_escape_or_cannot_exist_are_refused() {
        for bad in [
            "",
            "a//b",
            "/a",
            "a/",
            "../x",
            "a/./b",
            "a\0b",
            &"x".repeat(256),
        ] {
            assert!(check_local_name(bad).is_err(), "{bad:?}");
        }
        for good in ["a", "a/b c/d.txt", "ü/%#+", &"x".repeat(255)] {
            assert!(check_local_name(good).is_ok(), "{good:?}");
        }
    }
}
