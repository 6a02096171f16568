//! What a blob carries besides its content and metadata — content headers, access tier,
//! blob index tags — and what a write or an update sets of them.

/// The standard content headers of a blob.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContentHeaders {
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
}

impl ContentHeaders {
    /// Each header with its name, for messages.
    pub fn named(&self) -> [(&'static str, Option<&str>); 5] {
        [
            ("Content-Type", self.content_type.as_deref()),
            ("Cache-Control", self.cache_control.as_deref()),
            ("Content-Encoding", self.content_encoding.as_deref()),
            ("Content-Disposition", self.content_disposition.as_deref()),
            ("Content-Language", self.content_language.as_deref()),
        ]
    }

    /// Fills each header `self` does not set from `other`.
    pub fn or(mut self, other: &ContentHeaders) -> ContentHeaders {
        let fill = |a: &mut Option<String>, b: &Option<String>| {
            if a.is_none() {
                a.clone_from(b);
            }
        };
        fill(&mut self.content_type, &other.content_type);
        fill(&mut self.cache_control, &other.cache_control);
        fill(&mut self.content_encoding, &other.content_encoding);
        fill(&mut self.content_disposition, &other.content_disposition);
        fill(&mut self.content_language, &other.content_language);
        self
    }
}

/// A block blob's access tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tier {
    /// Frequent access.
    Hot,
    /// Infrequent access (30 days).
    Cool,
    /// Rare access (90 days).
    Cold,
    /// Offline: reading it needs a rehydration first (hours).
    Archive,
}

impl Tier {
    /// The tier's name as the service spells it.
    pub fn name(self) -> &'static str {
        match self {
            Tier::Hot => "Hot",
            Tier::Cool => "Cool",
            Tier::Cold => "Cold",
            Tier::Archive => "Archive",
        }
    }

    /// Parses a tier name, ignoring case.
    pub fn parse(text: &str) -> Option<Tier> {
        match text.trim().to_ascii_lowercase().as_str() {
            "hot" => Some(Tier::Hot),
            "cool" => Some(Tier::Cool),
            "cold" => Some(Tier::Cold),
            "archive" => Some(Tier::Archive),
            _ => None,
        }
    }
}

/// What a blob carries besides its content and metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BlobProps {
    /// Its content headers.
    pub headers: ContentHeaders,
    /// Its access tier, when the service says.
    pub tier: Option<Tier>,
    /// Whether the tier is only inferred (the account default), not set on the blob.
    pub tier_inferred: bool,
    /// A rehydration in progress (`rehydrate-pending-to-hot`…).
    pub archive_status: Option<String>,
    /// Its blob index tags, sorted.
    pub tags: Vec<(String, String)>,
}

/// How soon an archived blob is brought back online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RehydratePriority {
    /// Up to 15 hours.
    #[default]
    Standard,
    /// Under an hour for small blobs; costs more.
    High,
}

impl RehydratePriority {
    /// The priority's name as the service spells it.
    pub fn name(self) -> &'static str {
        match self {
            RehydratePriority::Standard => "Standard",
            RehydratePriority::High => "High",
        }
    }
}

/// What a blob upload sets besides the content, the MD5 and the metadata. A header left
/// `None` is not sent (the service clears it); `tags: None` sends none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobSettings {
    /// Content headers.
    pub headers: ContentHeaders,
    /// Access tier (`None`: the account's default).
    pub tier: Option<Tier>,
    /// Blob index tags.
    pub tags: Option<Vec<(String, String)>>,
}

impl BlobSettings {
    /// What a blob written with these settings and `metadata` carries, for a dry run:
    /// `Content-Type: text/html; Cache-Control: no-cache; tier Cool; metadata a=1; tags t=x`.
    pub fn describe(&self, metadata: &[(String, String)]) -> String {
        let mut parts: Vec<String> = self
            .headers
            .named()
            .iter()
            .filter_map(|(name, value)| value.map(|v| format!("{name}: {v}")))
            .collect();
        if let Some(tier) = self.tier {
            parts.push(format!("tier {}", tier.name()));
        }
        let pairs = |kv: &[(String, String)]| {
            kv.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let user: Vec<(String, String)> = metadata
            .iter()
            .filter(|(k, _)| k != super::MTIME_KEY)
            .cloned()
            .collect();
        if !user.is_empty() {
            parts.push(format!("metadata {}", pairs(&user)));
        }
        if let Some(tags) = self.tags.as_deref().filter(|t| !t.is_empty()) {
            parts.push(format!("tags {}", pairs(tags)));
        }
        parts.join("; ")
    }
}

/// A change to an existing blob's properties without rewriting its content: what a
/// header-only, tier-only, metadata-only or tags-only difference needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobUpdate {
    /// Relative path.
    pub path: String,
    /// The listed ETag: the changes are conditional on it.
    pub etag: Option<Box<str>>,
    /// The blob name the listing gave, when it differs from the path's encoding.
    pub listed_as: Option<Box<str>>,
    /// Set Blob Properties: every content header (those left `None` are cleared) and the
    /// Content-MD5 to keep (the request clears it too when it is not sent).
    pub headers: Option<(ContentHeaders, Option<[u8; 16]>)>,
    /// Set Blob Metadata: the whole metadata (it replaces all keys).
    pub metadata: Option<Vec<(String, String)>>,
    /// Set Blob Tags: the whole tag set.
    pub tags: Option<Vec<(String, String)>>,
    /// Set Blob Tier: the new tier, and for an archived blob how soon.
    pub tier: Option<(Tier, Option<RehydratePriority>)>,
}

impl BlobUpdate {
    /// An update of the listed blob `item` that changes nothing yet.
    pub fn of(item: &super::Item) -> BlobUpdate {
        BlobUpdate {
            path: item.path.clone(),
            etag: item.etag.clone(),
            listed_as: item.listed_as.clone(),
            ..BlobUpdate::default()
        }
    }

    /// True when it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.headers.is_none()
            && self.metadata.is_none()
            && self.tags.is_none()
            && self.tier.is_none()
    }
}

/// What a delete does with a blob's snapshots (`--delete-snapshots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SnapshotPolicy {
    /// Delete the blob and its snapshots (as the portal does).
    #[default]
    Include,
    /// Delete only the snapshots; the blob stays.
    Only,
    /// Fail the delete of a blob that has snapshots.
    Fail,
}
