//! The local file system as a sync endpoint: a folder, walked in order ([`walk`]), read
//! for uploads ([`read`]) and written through temporary files for downloads ([`write`]).

mod names;
mod partial;
mod read;
mod walk;
mod write;

use std::fs;
use std::path::PathBuf;

pub(crate) use names::check_local_name;
pub(crate) use partial::PARTIAL_SUFFIX;

use crate::endpoint::{
    Capabilities, DeleteTarget, Endpoint, EndpointError, EndpointKind, ErrorClass, Item,
    ListRequest, Lister, Reader, WriteTarget, Writer, mtime_ns,
};

/// A local folder.
#[derive(Debug)]
pub struct LocalEndpoint {
    root: PathBuf,
    follow_symlinks: bool,
    clean_partials: bool,
}

impl LocalEndpoint {
    /// A folder endpoint at `root`. With `clean_partials`, listings remove temporary files
    /// left by downloads whose process no longer runs (a crash or a kill).
    pub fn new(root: PathBuf, follow_symlinks: bool, clean_partials: bool) -> Self {
        LocalEndpoint {
            root,
            follow_symlinks,
            clean_partials,
        }
    }

    fn full_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}

pub(super) fn join_error(e: tokio::task::JoinError) -> EndpointError {
    EndpointError::new(
        ErrorClass::Other,
        format!("internal error: a file task failed: {e}"),
    )
}

#[async_trait::async_trait]
impl Endpoint for LocalEndpoint {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            kind: EndpointKind::Local,
            listed_md5: false,
            order: None,
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn describe_path(&self, path: &str) -> String {
        self.full_path(path).display().to_string()
    }

    fn list(&self, request: &ListRequest) -> Result<Box<dyn Lister>, EndpointError> {
        Ok(Box::new(walk::LocalLister::new(
            self.root.clone(),
            self.follow_symlinks,
            self.clean_partials,
            request.order,
            &request.scopes,
        )))
    }

    async fn open_reader(&self, item: &Item) -> Result<Box<dyn Reader>, EndpointError> {
        Ok(Box::new(read::LocalReader::new(
            self.full_path(&item.path),
            item.size,
            item.mtime_ns,
        )))
    }

    async fn prepare_for_writes(&self) -> Result<(), EndpointError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            fs::create_dir_all(&root)
                .map_err(|e| EndpointError::io("cannot create folder", &root, e))
        })
        .await
        .map_err(join_error)?
    }

    async fn open_writer(&self, target: &WriteTarget) -> Result<Box<dyn Writer>, EndpointError> {
        check_local_name(&target.path)?;
        Ok(Box::new(write::LocalWriter::new(
            self.full_path(&target.path),
            target.size,
            target.shape,
            target.replaces.clone(),
            target.resume_tag.clone(),
        )))
    }

    async fn delete(&self, target: &DeleteTarget) -> Result<(), EndpointError> {
        let path = self.full_path(&target.path);
        let (size, mtime) = (target.version.size, target.version.mtime_ns);
        tokio::task::spawn_blocking(move || {
            // Only the version that was listed is deleted; one already gone is done.
            let meta = match fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(EndpointError::io("cannot delete", &path, e)),
            };
            if meta.len() != size || mtime_ns(&meta) != mtime {
                return Err(EndpointError::new(
                    ErrorClass::Changed,
                    format!(
                        "{} changed since it was listed; it was not deleted",
                        path.display()
                    ),
                )
                .at(path.display()));
            }
            fs::remove_file(&path).map_err(|e| EndpointError::io("cannot delete", &path, e))
        })
        .await
        .map_err(join_error)?
    }
}
