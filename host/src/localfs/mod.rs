//! The local file system, safely: paths resolved beneath the synced folder without
//! following links ([`beneath`]), listed files opened only if they are still what was
//! listed ([`listed`]), and file names that are not valid UTF-8 carried in paths as rclone
//! carries them ([`raw_names`]). It knows nothing of endpoints or plugins; both use it.

pub mod beneath;
pub mod listed;
pub mod raw_names;

pub use beneath::{Beneath, Parent, Refused};
pub use listed::{Listed, OpenError, open_listed};
