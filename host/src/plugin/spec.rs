//! What a run asks for: each plugin's kind, source, limits, failure policy, configuration
//! and granted capabilities ([`PluginSpec`]), and the set of them ([`PluginSet`]).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::http::Origin;

/// The four kinds of plugin, one per WIT world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PluginKind {
    /// Includes or excludes entries (`[[filter]]`).
    Filter,
    /// Decides which pairs are copied (`[comparator]`).
    Comparator,
    /// Says what headers, tier, metadata and tags uploads get (`[[annotator]]`).
    Annotator,
    /// Settles a two-way sync's conflicts (`[[resolver]]`).
    Resolver,
    /// Observes what was done (`[[hook]]`).
    Hook,
}

impl PluginKind {
    /// The manifest section that lists plugins of this kind.
    pub fn manifest_section(self) -> &'static str {
        match self {
            PluginKind::Filter => "[[filter]]",
            PluginKind::Comparator => "[comparator]",
            PluginKind::Annotator => "[[annotator]]",
            PluginKind::Resolver => "[[resolver]]",
            PluginKind::Hook => "[[hook]]",
        }
    }

    /// The default failure policy: filters, comparators and annotators decide what is
    /// copied, deleted or how it is stored, so their failure stops the run; a hook only
    /// observes.
    pub fn default_failure(self) -> FailurePolicy {
        match self {
            PluginKind::Filter
            | PluginKind::Comparator
            | PluginKind::Annotator
            | PluginKind::Resolver => FailurePolicy::FailClosed,
            PluginKind::Hook => FailurePolicy::FailOpen,
        }
    }

    /// The WIT world (and interface prefix) of this kind.
    pub fn world(self) -> &'static str {
        match self {
            PluginKind::Filter => "filter",
            PluginKind::Comparator => "comparator",
            PluginKind::Annotator => "annotator",
            PluginKind::Resolver => "resolver",
            PluginKind::Hook => "hook",
        }
    }

    /// Every kind.
    pub const ALL: [PluginKind; 5] = [
        PluginKind::Filter,
        PluginKind::Comparator,
        PluginKind::Annotator,
        PluginKind::Resolver,
        PluginKind::Hook,
    ];
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.world())
    }
}

/// What happens when a plugin fails during a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Stop the run (nothing further is copied or deleted).
    FailClosed,
    /// Log and count the failure and go on: a failed filter batch is included, a failed
    /// comparator batch is transferred, a failed annotator batch gets no annotation from
    /// that annotator, a failed hook batch is dropped.
    FailOpen,
}

/// Resource limits for one plugin instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum linear memory, in bytes.
    pub memory_bytes: usize,
    /// Maximum wall time of one call (a batch).
    pub call_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            call_timeout: Duration::from_secs(5),
        }
    }
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// One of the components built into blobsync (`builtin:NAME`).
    Builtin(&'static str),
    /// A `.wasm` file.
    File(PathBuf),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::Builtin(name) => write!(f, "builtin:{name}"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Capabilities a manifest grants one plugin. Nothing is granted by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    /// For hooks: the file the `output` capability appends to.
    pub output: Option<PathBuf>,
    /// Environment variables the plugin sees (WASI `environment`) and that its
    /// configuration may use as `${env:NAME}`.
    pub env: Vec<String>,
    /// For filters and annotators: how many bytes from the start of a local source file
    /// the `content` interface may read.
    pub read_content: Option<u64>,
    /// For hooks: the origins (scheme, host, port) wasi:http requests may go to.
    pub outbound: Vec<Origin>,
}

impl Grants {
    /// The grants as a manifest would spell them, one per line, for `plugin inspect`.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(path) = &self.output {
            out.push(format!("output = {}", path.display()));
        }
        if !self.env.is_empty() {
            out.push(format!("env = [{}]", self.env.join(", ")));
        }
        if let Some(n) = self.read_content {
            out.push(format!("read-content = {{ max-bytes = {n} }}"));
        }
        if !self.outbound.is_empty() {
            let origins: Vec<String> = self.outbound.iter().map(Origin::to_string).collect();
            out.push(format!("allowed-outbound-hosts = [{}]", origins.join(", ")));
        }
        out
    }
}

/// Everything needed to load one plugin.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// The name used in messages, logs and job records.
    pub name: String,
    /// The kind the manifest (or flag) says it is; the component must agree.
    pub kind: PluginKind,
    /// Where the component comes from.
    pub source: PluginSource,
    /// A pinned sha256 of the component; a mismatch refuses to load.
    pub sha256: Option<[u8; 32]>,
    /// What a failure during the run does.
    pub failure: FailurePolicy,
    /// Memory and time limits.
    pub limits: Limits,
    /// The configuration passed to `configure`, as written: `${env:NAME}` references are
    /// resolved only when the plugin is loaded, and their values never stored here.
    pub config: Vec<(String, String)>,
    /// Granted capabilities.
    pub grants: Grants,
    /// Where the spec came from, for error messages ("manifest x.toml", "--include-pattern").
    pub origin: String,
}

impl PluginSpec {
    /// A plugin that ships inside the binary, with its kind's default failure policy and
    /// limits; `origin` names what asked for it ("command-line flags", "--compare-hash=MD5").
    pub fn builtin(
        kind: PluginKind,
        name: &'static str,
        config: Vec<(String, String)>,
        origin: impl Into<String>,
    ) -> Self {
        PluginSpec {
            name: name.to_string(),
            kind,
            source: PluginSource::Builtin(name),
            sha256: None,
            failure: kind.default_failure(),
            limits: Limits::default(),
            config,
            grants: Grants::default(),
            origin: origin.into(),
        }
    }
}

/// The plugins of one run.
#[derive(Debug, Clone)]
pub struct PluginSet {
    /// Filters, applied in order; an entry excluded by any of them is excluded.
    pub filters: Vec<PluginSpec>,
    /// The comparator.
    pub comparator: PluginSpec,
    /// Annotators, applied in order to files about to be uploaded; a later one overrides
    /// an earlier one field by field.
    pub annotators: Vec<PluginSpec>,
    /// Resolvers of a two-way sync's conflicts, asked in order: the first with an
    /// opinion on a conflict settles it.
    pub resolvers: Vec<PluginSpec>,
    /// Hooks, each on its own worker.
    pub hooks: Vec<PluginSpec>,
}

impl PluginSet {
    /// Every spec, in the order they are loaded.
    pub fn specs(&self) -> impl Iterator<Item = &PluginSpec> {
        self.filters
            .iter()
            .chain(std::iter::once(&self.comparator))
            .chain(&self.annotators)
            .chain(&self.resolvers)
            .chain(&self.hooks)
    }

    /// Whether the annotators may set blob index tags, so the destination's tags must be
    /// listed to tell whether an up-to-date blob has them: any annotator of one's own, or
    /// the built-in one configured with tags.
    pub fn may_set_tags(&self) -> bool {
        self.annotators.iter().any(|spec| match spec.source {
            PluginSource::Builtin(_) => spec
                .config
                .iter()
                .any(|(k, _)| k == "blob-tags" || (k.starts_with("rule.") && k.ends_with(".tags"))),
            PluginSource::File(_) => true,
        })
    }
}
