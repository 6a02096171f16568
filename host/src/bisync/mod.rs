//! Two-way sync: the decisions of `blobsync bisync`, made path by path from the state of
//! the last run and both sides' listings (the session walks the state beside the
//! one-way merge, `sync/bisync_plan.rs`). Each side's change since the last run ([`decide::change`]) decides what
//! happens to the path ([`decide::decide`]); a path changed on both sides to different
//! content is a conflict, settled by policy ([`conflict`]).

pub mod conflict;
pub mod decide;
pub mod facts;
pub mod plan;
pub mod renames;
pub mod spool;

/// One of the two locations of a two-way sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Which {
    /// The first location given.
    Path1,
    /// The second location given.
    Path2,
}

impl Which {
    /// The other location.
    pub fn other(self) -> Which {
        match self {
            Which::Path1 => Which::Path2,
            Which::Path2 => Which::Path1,
        }
    }

    /// `path1` or `path2`, as messages and conflict names spell it.
    pub fn name(self) -> &'static str {
        match self {
            Which::Path1 => "path1",
            Which::Path2 => "path2",
        }
    }
}
