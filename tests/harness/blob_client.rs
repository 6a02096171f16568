//! An independent Blob REST client (account SAS over plain HTTP, no Azure SDK) to check
//! what blobsync wrote.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;

use crate::{Azurite, SAS_VERSION, account_sas};

/// One listed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    /// The name.
    pub name: String,
    /// Content-Length.
    pub size: u64,
    /// Content-MD5 as hex ("" when absent).
    pub md5: String,
    /// ETag.
    pub etag: String,
    /// Content-Type.
    pub content_type: String,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

/// An independent Blob REST client (account SAS over plain HTTP), for checking results.
pub struct Blobs {
    pub(crate) agent: ureq::Agent,
    endpoint: String,
    sas: String,
}

/// A blob name as a URL path: each segment percent-encoded, and `.` and `..` segments
/// spelled `%2E` so that nothing on the way resolves them (the service stores them as
/// they are).
pub(crate) fn percent(name: &str) -> String {
    name.split('/')
        .map(|seg| match seg {
            "." => "%2E".to_string(),
            ".." => "%2E%2E".to_string(),
            _ => url::form_urlencoded::byte_serialize(seg.as_bytes())
                .collect::<String>()
                .replace('+', "%20"),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(&xml[start..end])
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

impl Blobs {
    /// A client for `azurite`.
    pub fn new(azurite: &Azurite) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        Blobs {
            agent,
            endpoint: azurite.endpoint(),
            sas: account_sas(),
        }
    }

    pub(crate) fn url(&self, path: &str, query: &str) -> String {
        let q = if query.is_empty() {
            self.sas.clone()
        } else {
            format!("{query}&{}", self.sas)
        };
        format!("{}{path}?{q}", self.endpoint)
    }

    pub(crate) fn list_containers_ok(&self) -> bool {
        matches!(
            self.agent.get(&self.url("", "comp=list")).header("x-ms-version", SAS_VERSION).call(),
            Ok(r) if r.status() == 200
        )
    }

    /// Creates a container (no error if it exists).
    pub fn create_container(&self, container: &str) {
        let r = self
            .agent
            .put(&self.url(&format!("/{container}"), "restype=container"))
            .header("x-ms-version", SAS_VERSION)
            .send_empty()
            .expect("create container");
        assert!(
            r.status() == 201 || r.status() == 409,
            "create {container}: {}",
            r.status()
        );
    }

    /// True if the container exists.
    pub fn container_exists(&self, container: &str) -> bool {
        let r = self
            .agent
            .get(&self.url(&format!("/{container}"), "restype=container"))
            .header("x-ms-version", SAS_VERSION)
            .call()
            .expect("get container properties");
        r.status() == 200
    }

    /// Lists every blob with metadata, in service order.
    pub fn list(&self, container: &str) -> Vec<BlobInfo> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query =
                "restype=container&comp=list&include=metadata&maxresults=5000".to_string();
            if !marker.is_empty() {
                query.push_str("&marker=");
                query.push_str(
                    &url::form_urlencoded::byte_serialize(marker.as_bytes()).collect::<String>(),
                );
            }
            let mut r = self
                .agent
                .get(&self.url(&format!("/{container}"), &query))
                .header("x-ms-version", SAS_VERSION)
                .call()
                .expect("list");
            let body = r
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .expect("list body");
            assert_eq!(r.status(), 200, "list {container}: {body}");
            for part in body.split("<Blob>").skip(1) {
                let name = xml_unescape(xml_text(part, "Name").unwrap_or_default());
                let md5b64 = xml_text(part, "Content-MD5").unwrap_or_default().trim();
                let md5 = if md5b64.is_empty() {
                    String::new()
                } else {
                    hex::encode(
                        base64::engine::general_purpose::STANDARD
                            .decode(md5b64)
                            .unwrap(),
                    )
                };
                let mut metadata = BTreeMap::new();
                if let Some(meta) = xml_text(part, "Metadata") {
                    for item in meta.split("</").filter_map(|s| s.rsplit_once('<')) {
                        if let Some((key, value)) = item.1.split_once('>') {
                            metadata.insert(key.to_ascii_lowercase(), xml_unescape(value));
                        }
                    }
                }
                out.push(BlobInfo {
                    name,
                    size: xml_text(part, "Content-Length")
                        .unwrap_or("0")
                        .parse()
                        .unwrap(),
                    md5,
                    etag: xml_text(part, "Etag").unwrap_or_default().to_string(),
                    content_type: xml_text(part, "Content-Type")
                        .unwrap_or_default()
                        .to_string(),
                    metadata,
                });
            }
            marker = xml_text(&body, "NextMarker")
                .unwrap_or_default()
                .to_string();
            if marker.is_empty() {
                return out;
            }
        }
    }

    /// Blob names, sorted.
    pub fn names(&self, container: &str) -> Vec<String> {
        let mut v: Vec<String> = self.list(container).into_iter().map(|b| b.name).collect();
        v.sort();
        v
    }

    /// Downloads a blob.
    pub fn get(&self, container: &str, name: &str) -> Vec<u8> {
        let mut r = self
            .agent
            .get(&self.url(&format!("/{container}/{}", percent(name)), ""))
            .header("x-ms-version", SAS_VERSION)
            .call()
            .expect("get blob");
        assert_eq!(r.status(), 200, "get {container}/{name}");
        r.body_mut()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .expect("blob body")
    }

    /// Uploads a blob with one Put Blob (the service computes its Content-MD5), with
    /// optional metadata.
    pub fn put(&self, container: &str, name: &str, data: &[u8], metadata: &[(&str, &str)]) {
        let mut req = self
            .agent
            .put(&self.url(&format!("/{container}/{}", percent(name)), ""))
            .header("x-ms-version", SAS_VERSION)
            .header("x-ms-blob-type", "BlockBlob");
        for (k, v) in metadata {
            req = req.header(format!("x-ms-meta-{k}"), *v);
        }
        let r = req.send(data).expect("put blob");
        assert_eq!(r.status(), 201, "put {container}/{name}");
    }

    /// Uploads a blob in two blocks without a Content-MD5 (as tools that do not set it do).
    pub fn put_without_md5(&self, container: &str, name: &str, data: &[u8]) {
        let path = format!("/{container}/{}", percent(name));
        let half = data.len() / 2;
        let ids = ["YmxvY2stMDAwMQ==", "YmxvY2stMDAwMg=="];
        for (id, chunk) in ids.iter().zip([&data[..half], &data[half..]]) {
            let q = format!(
                "comp=block&blockid={}",
                url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>()
            );
            let r = self
                .agent
                .put(&self.url(&path, &q))
                .header("x-ms-version", SAS_VERSION)
                .send(chunk)
                .expect("put block");
            assert_eq!(r.status(), 201);
        }
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{}</Latest><Latest>{}</Latest></BlockList>",
            ids[0], ids[1]
        );
        let r = self
            .agent
            .put(&self.url(&path, "comp=blocklist"))
            .header("x-ms-version", SAS_VERSION)
            .send(body.as_bytes())
            .expect("put block list");
        assert_eq!(r.status(), 201);
    }

    /// Deletes a blob.
    pub fn delete(&self, container: &str, name: &str) {
        let r = self
            .agent
            .delete(&self.url(&format!("/{container}/{}", percent(name)), ""))
            .header("x-ms-version", SAS_VERSION)
            .call()
            .expect("delete blob");
        assert_eq!(r.status(), 202, "delete {container}/{name}");
    }
}

/// The committed list of blocks of a blob (`comp=blocklist`): how many blocks it has.
pub fn committed_blocks(azurite: &Azurite, container: &str, name: &str) -> usize {
    block_list(azurite, container, name, "committed").unwrap_or_else(|| panic!("no blob {name}"))
}

/// How many uncommitted blocks a blob has staged (0 if none, or no such blob).
pub fn uncommitted_blocks(azurite: &Azurite, container: &str, name: &str) -> usize {
    block_list(azurite, container, name, "uncommitted").unwrap_or(0)
}

/// The number of blocks of `kind` (`committed`, `uncommitted`); `None` if there is no blob.
fn block_list(azurite: &Azurite, container: &str, name: &str, kind: &str) -> Option<usize> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "{}/{container}/{}?comp=blocklist&blocklisttype={kind}&{}",
        azurite.endpoint(),
        percent(name),
        account_sas()
    );
    let mut r = agent
        .get(&url)
        .header("x-ms-version", SAS_VERSION)
        .call()
        .expect("get block list");
    let body = r.body_mut().read_to_string().unwrap();
    if r.status() == 404 {
        return None;
    }
    assert_eq!(r.status(), 200, "{body}");
    Some(body.matches("<Block>").count())
}

impl Blobs {
    /// Sets a blob's stored Content-MD5 without checking it (Set Blob Properties), to make
    /// a blob whose MD5 does not match its data.
    pub fn set_content_md5(&self, container: &str, name: &str, md5: &[u8]) {
        let r = self
            .agent
            .put(&self.url(
                &format!("/{container}/{}", percent(name)),
                "comp=properties",
            ))
            .header("x-ms-version", SAS_VERSION)
            .header(
                "x-ms-blob-content-md5",
                base64::engine::general_purpose::STANDARD.encode(md5),
            )
            .send_empty()
            .expect("set properties");
        assert_eq!(r.status(), 200, "set properties {container}/{name}");
    }

    /// Takes an infinite lease on a blob: deleting it without the lease then fails.
    /// Names who holds `name`'s lock as blobsync does (in its metadata) — another
    /// machine's run — then takes an infinite lease on it.
    pub fn lease_as_another_machine(&self, container: &str, name: &str) {
        let r = self
            .agent
            .put(&self.url(&format!("/{container}/{}", percent(name)), "comp=metadata"))
            .header("x-ms-version", SAS_VERSION)
            .header(
                "x-ms-meta-holder",
                "blobsync bisync on elsewhere, process 1",
            )
            .header("x-ms-meta-host", "elsewhere")
            .header("x-ms-meta-pid", "1")
            .send_empty()
            .expect("set metadata");
        assert_eq!(r.status(), 200, "set metadata {container}/{name}");
        self.lease(container, name);
    }

    pub fn lease(&self, container: &str, name: &str) {
        let r = self
            .agent
            .put(&self.url(&format!("/{container}/{}", percent(name)), "comp=lease"))
            .header("x-ms-version", SAS_VERSION)
            .header("x-ms-lease-action", "acquire")
            .header("x-ms-lease-duration", "-1")
            .send_empty()
            .expect("lease");
        assert_eq!(r.status(), 201, "lease {container}/{name}");
    }
}
