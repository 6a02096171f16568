//! Blob properties through the independent REST client: content headers, access tiers,
//! snapshots and blob index tags, read and set as another tool would.

use std::collections::BTreeMap;

use crate::Blobs;
use crate::blob_client::percent;

/// The service version for these calls (Cold tier, tags).
const VERSION: &str = "2021-12-02";

impl Blobs {
    fn blob_url(&self, container: &str, name: &str, query: &str) -> String {
        self.url(&format!("/{container}/{}", percent(name)), query)
    }

    /// A blob's response headers to a HEAD request, lower-case names.
    pub fn head(&self, container: &str, name: &str) -> BTreeMap<String, String> {
        let r = self
            .agent
            .head(&self.blob_url(container, name, ""))
            .header("x-ms-version", VERSION)
            .call()
            .expect("head blob");
        assert_eq!(r.status(), 200, "head {container}/{name}");
        r.headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// A blob's response headers to a plain GET (the body read and dropped), lower-case
    /// names: what a browser or CDN is served.
    pub fn get_headers(&self, container: &str, name: &str) -> BTreeMap<String, String> {
        let mut r = self
            .agent
            .get(&self.blob_url(container, name, ""))
            .header("x-ms-version", VERSION)
            .call()
            .expect("get blob");
        assert_eq!(r.status(), 200, "get {container}/{name}");
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let _ = r.body_mut().read_to_vec();
        headers
    }

    /// Uploads a blob with one Put Blob and extra request headers (`x-ms-access-tier`,
    /// `x-ms-blob-cache-control`, `x-ms-meta-*`, `x-ms-tags`…).
    pub fn put_with(&self, container: &str, name: &str, data: &[u8], headers: &[(&str, &str)]) {
        let mut req = self
            .agent
            .put(&self.blob_url(container, name, ""))
            .header("x-ms-version", VERSION)
            .header("x-ms-blob-type", "BlockBlob");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send(data).expect("put blob");
        assert_eq!(r.status(), 201, "put {container}/{name}");
    }

    /// Sets a blob's access tier (Set Blob Tier).
    pub fn set_tier(&self, container: &str, name: &str, tier: &str) {
        let r = self
            .agent
            .put(&self.blob_url(container, name, "comp=tier"))
            .header("x-ms-version", VERSION)
            .header("x-ms-access-tier", tier)
            .send_empty()
            .expect("set tier");
        assert!(
            r.status() == 200 || r.status() == 202,
            "set tier {container}/{name}: {}",
            r.status()
        );
    }

    /// A blob's access tier, as HEAD reports it.
    pub fn tier(&self, container: &str, name: &str) -> String {
        self.head(container, name)
            .get("x-ms-access-tier")
            .cloned()
            .unwrap_or_default()
    }

    /// Takes a snapshot of a blob; returns its timestamp.
    pub fn snapshot(&self, container: &str, name: &str) -> String {
        let r = self
            .agent
            .put(&self.blob_url(container, name, "comp=snapshot"))
            .header("x-ms-version", VERSION)
            .send_empty()
            .expect("snapshot");
        assert_eq!(r.status(), 201, "snapshot {container}/{name}");
        r.headers()
            .get("x-ms-snapshot")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// How many snapshots the container holds, of every blob.
    pub fn snapshot_count(&self, container: &str) -> usize {
        let mut r = self
            .agent
            .get(&self.url(
                &format!("/{container}"),
                "restype=container&comp=list&include=snapshots",
            ))
            .header("x-ms-version", VERSION)
            .call()
            .expect("list snapshots");
        let body = r.body_mut().read_to_string().unwrap();
        assert_eq!(r.status(), 200, "{body}");
        body.matches("<Snapshot>").count()
    }

    /// A blob's index tags, sorted.
    pub fn tags(&self, container: &str, name: &str) -> Vec<(String, String)> {
        let mut r = self
            .agent
            .get(&self.blob_url(container, name, "comp=tags"))
            .header("x-ms-version", VERSION)
            .call()
            .expect("get tags");
        let body = r.body_mut().read_to_string().unwrap();
        assert_eq!(r.status(), 200, "{body}");
        let mut tags = Vec::new();
        for tag in body.split("<Tag>").skip(1) {
            let text = |t: &str| {
                let open = format!("<{t}>");
                tag.find(&open).and_then(|s| {
                    let start = s + open.len();
                    tag[start..]
                        .find(&format!("</{t}>"))
                        .map(|e| tag[start..start + e].to_string())
                })
            };
            tags.push((
                text("Key").unwrap_or_default(),
                text("Value").unwrap_or_default(),
            ));
        }
        tags.sort();
        tags
    }
}
