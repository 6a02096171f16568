//! Test harness: a real Azurite on a free loopback port, an independent Blob REST client
//! (account SAS + plain HTTP, no Azure SDK) to check what blobsync wrote, helpers to build
//! local trees, and a runner for the `blobsync` binary.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::Digest;

/// The emulator's public development account and key.
pub const ACCOUNT: &str = "devstoreaccount1";
/// The emulator's well-known key.
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const SAS_VERSION: &str = "2021-08-06";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A running Azurite blob service.
pub struct Azurite {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process id.
    pub pid: u32,
}

impl Azurite {
    /// `http://127.0.0.1:PORT/devstoreaccount1`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{ACCOUNT}", self.port)
    }

    /// A container URL without credentials (blobsync then uses the dev key).
    pub fn url(&self, container: &str) -> String {
        format!("{}/{container}", self.endpoint())
    }

    /// A container URL with a container SAS.
    pub fn sas_url(&self, container: &str, perms: &str) -> String {
        format!(
            "{}?{}",
            self.url(container),
            container_sas(container, perms)
        )
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// The Azurite executable: `BLOBSYNC_AZURITE`, else `.tools/node_modules/.bin/azurite-blob`.
pub fn azurite_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BLOBSYNC_AZURITE") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".tools/node_modules/.bin/azurite-blob");
    assert!(
        p.exists(),
        "Azurite is not installed at {}: run scripts/setup.sh (the README's test command does)",
        p.display()
    );
    p
}

pub mod entra;

/// Starts an Azurite with `args` on a free port; it is killed when the test process exits.
pub fn start_azurite(extra: &[&str]) -> Azurite {
    start_azurite_with(extra, false)
}

/// Starts an Azurite; with `https`, readiness is checked by connecting only.
pub fn start_azurite_with(extra: &[&str], https: bool) -> Azurite {
    for _ in 0..5 {
        if let Some(azurite) = try_start_azurite(free_port(), extra, https) {
            return azurite;
        }
    }
    panic!("Azurite did not start (tried 5 ports)");
}

impl Azurite {
    /// Kills this Azurite (for tests of outages); everything it stored is lost.
    pub fn kill(&self) {
        // SAFETY: kill(2) on a process this test started.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
        }
        wait_for(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
        });
    }

    /// Starts a new, empty Azurite on the same port.
    pub fn restart(&mut self) {
        for _ in 0..50 {
            if let Some(a) = try_start_azurite(self.port, &[], false) {
                self.pid = a.pid;
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("Azurite did not restart on port {}", self.port);
    }
}

fn try_start_azurite(port: u16, extra: &[&str], https: bool) -> Option<Azurite> {
    let binary = azurite_binary();
    {
        let workdir = tempfile::tempdir().expect("temp dir").keep();
        let mut args: Vec<String> = [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--silent",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let (tx, rx) = std::sync::mpsc::channel();
        let binary = binary.clone();
        // The child is spawned from a thread that lives as long as the process, with
        // PR_SET_PDEATHSIG, so Azurite dies with the test binary however it ends.
        std::thread::spawn(move || {
            use std::os::unix::process::CommandExt;
            let mut cmd = Command::new(&binary);
            cmd.args(&args)
                .current_dir(&workdir)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped());
            // SAFETY: prctl is async-signal-safe and touches no Rust state.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            match cmd.spawn() {
                Ok(mut child) => {
                    let _ = tx.send(Ok(child.id()));
                    let stderr = child.stderr.take();
                    if let Some(stderr) = stderr {
                        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                            eprintln!("azurite: {line}");
                        }
                    }
                    let _ = child.wait();
                    loop {
                        std::thread::park();
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let pid = rx
            .recv()
            .expect("spawn thread reports")
            .expect("start azurite");
        let azurite = Azurite { port, pid };
        let ready = if https {
            wait_for(Duration::from_secs(30), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            })
        } else {
            wait_ready(&azurite)
        };
        if ready {
            return Some(azurite);
        }
        azurite.kill();
        None
    }
}

fn wait_ready(azurite: &Azurite) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", azurite.port)).is_ok() {
            let blobs = Blobs::new(azurite);
            if blobs.list_containers_ok() {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The Azurite shared by the tests of this process.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| start_azurite(&[]))
}

/// A container name unique to this test process.
pub fn unique_container(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    format!("{}-{}-{n}", &p[..p.len().min(40)], std::process::id())
}

fn sign(string_to_sign: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(KEY)
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn sas_times() -> (String, String) {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let now = time::OffsetDateTime::now_utc();
    let start = (now - time::Duration::minutes(15)).format(&fmt).unwrap();
    let expiry = (now + time::Duration::hours(48)).format(&fmt).unwrap();
    (start, expiry)
}

fn encode(q: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(q)
        .finish()
}

/// A service SAS for one container (sv 2021-08-06 layout).
pub fn container_sas(container: &str, perms: &str) -> String {
    let (st, se) = sas_times();
    let canonical = format!("/blob/{ACCOUNT}/{container}");
    let fields = [
        perms,
        &st,
        &se,
        &canonical,
        "",
        "",
        "http,https",
        SAS_VERSION,
        "c",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    let sig = sign(&fields.join("\n"));
    encode(&[
        ("sv", SAS_VERSION),
        ("spr", "http,https"),
        ("st", &st),
        ("se", &se),
        ("sr", "c"),
        ("sp", perms),
        ("sig", &sig),
    ])
}

/// An account SAS for blobs (services, containers, objects).
pub fn account_sas() -> String {
    let (st, se) = sas_times();
    let perms = "racwdl";
    let fields = [
        ACCOUNT,
        perms,
        "b",
        "sco",
        &st,
        &se,
        "",
        "http,https",
        SAS_VERSION,
        "",
        "",
    ];
    let sig = sign(&fields.join("\n"));
    encode(&[
        ("sv", SAS_VERSION),
        ("ss", "b"),
        ("srt", "sco"),
        ("sp", perms),
        ("st", &st),
        ("se", &se),
        ("spr", "http,https"),
        ("sig", &sig),
    ])
}

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
    agent: ureq::Agent,
    endpoint: String,
    sas: String,
}

fn percent(name: &str) -> String {
    name.split('/')
        .map(|seg| {
            url::form_urlencoded::byte_serialize(seg.as_bytes())
                .collect::<String>()
                .replace('+', "%20")
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

    fn url(&self, path: &str, query: &str) -> String {
        let q = if query.is_empty() {
            self.sas.clone()
        } else {
            format!("{query}&{}", self.sas)
        };
        format!("{}{path}?{q}", self.endpoint)
    }

    fn list_containers_ok(&self) -> bool {
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

/// MD5 as hex.
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(md5::Md5::digest(data))
}

/// Writes `data` to `root/rel`, creating parent folders.
pub fn write(root: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

/// Sets a file's modification time to `secs` seconds (plus `nanos`) since the epoch.
pub fn set_mtime(path: &Path, secs: u64, nanos: u32) {
    let t = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_modified(t))
        .unwrap();
}

/// A file's modification time in ns.
pub fn mtime_ns(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

/// Deterministic pseudo-random bytes.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The `blobsync` binary built by `cargo test` (or `BLOBSYNC_BIN`).
pub fn blobsync_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("BLOBSYNC_BIN") {
        return PathBuf::from(p);
    }
    // tests/…/target/debug/deps/all-HASH → target/debug/blobsync
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let p = dir.join("blobsync");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        p.display()
    );
    p
}

/// The result of running blobsync.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// A line of the text summary, e.g. `summary("Copied:")` → "3 (1.00 KiB)".
    pub fn summary(&self, label: &str) -> String {
        self.stdout
            .lines()
            .find_map(|l| {
                l.trim_start()
                    .strip_prefix(label)
                    .map(|v| v.trim().to_string())
            })
            .unwrap_or_else(|| {
                panic!(
                    "no {label:?} in the output:\n{}\n{}",
                    self.stdout, self.stderr
                )
            })
    }

    /// The count at the start of a summary line.
    pub fn count(&self, label: &str) -> u64 {
        let v = self.summary(label);
        v.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// Asserts a zero exit code, printing the output otherwise.
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "blobsync failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

/// A `blobsync` command with a clean, isolated environment.
pub fn blobsync_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(blobsync_binary());
    cmd.args(args)
        .stdin(Stdio::null())
        .env_remove("AZURE_STORAGE_KEY")
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env_remove("AZCOPY_CONCURRENCY_VALUE")
        .env_remove("BLOBSYNC_LOG")
        .env("BLOBSYNC_CACHE_DIR", cache_dir())
        .env("BLOBSYNC_DATA_DIR", data_dir());
    cmd
}

/// The data directory (database, job logs) of this test process's runs.
pub fn data_dir() -> PathBuf {
    cache_dir().with_file_name(format!("blobsync-data-{}", std::process::id()))
}

/// Runs `blobsync ARGS`.
pub fn blobsync(args: &[&str]) -> Run {
    blobsync_command(args)
        .output()
        .expect("run blobsync")
        .into()
}

/// The compiled-plugin cache shared by the tests of this run (under the target dir).
pub fn cache_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/all-HASH → target/tmp/blobsync-cache
    let target = exe.ancestors().nth(3).unwrap_or(Path::new("."));
    target.join("tmp").join("blobsync-cache")
}

/// A component of any WIT world (functions trap if called): for plugins that must fail to
/// load, such as one built against another interface version.
pub fn component_for_wit(wit: &str, world: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("plugin.wit", wit).expect("valid WIT");
    let world = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    let mut module =
        wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .expect("embed metadata");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module")
        .validate(true)
        .encode()
        .expect("encode component")
}

/// The plugin contract's WIT text.
pub fn plugin_wit() -> String {
    std::fs::read_to_string(repo_root().join("plugin-sdk/wit/plugin.wit")).unwrap()
}

/// A committed component under the repository root.
pub fn component_path(rel: &str) -> PathBuf {
    let p = repo_root().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-plugins.sh",
        p.display()
    );
    p
}

/// The committed list of blocks of a blob (`comp=blocklist`): how many blocks it has.
pub fn committed_blocks(azurite: &Azurite, container: &str, name: &str) -> usize {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!(
        "{}/{container}/{}?comp=blocklist&blocklisttype=committed&{}",
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
    assert_eq!(r.status(), 200, "{body}");
    body.matches("<Block>").count()
}

/// A path as &str.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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

/// Runs blobsync with stdin on a pseudo-terminal (so it may prompt), with `answers`
/// already typed.
pub fn blobsync_with_terminal(args: &[&str], answers: &str) -> Run {
    use std::io::Write as _;
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors were just created and are owned here.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let child = blobsync_command(args)
        .stdin(Stdio::from(slave))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn blobsync");
    let mut writer = std::fs::File::from(master);
    writer.write_all(answers.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(writer);
    out.into()
}

/// Starts blobsync in the background.
pub fn spawn_blobsync(args: &[&str]) -> std::process::Child {
    blobsync_command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn blobsync")
}

/// Waits up to `timeout` for `condition`.
pub fn wait_for(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Files under `root` (relative paths, sorted), including hidden ones.
pub fn files(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The azcopy binary that scripts/setup.sh installs (npm `@azure-tools/azcopy-linux`).
pub fn azcopy_binary() -> PathBuf {
    let p = repo_root()
        .join(".tools/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64");
    assert!(
        p.exists(),
        "azcopy is not installed at {}: run scripts/setup.sh",
        p.display()
    );
    p
}

/// Runs azcopy with its logs and plans in a scratch folder, and stdin an open pipe that
/// is never written (with stdin at end of file azcopy busy-waits).
pub fn azcopy(args: &[&str]) -> Run {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = Command::new(azcopy_binary())
        .args(args)
        .env("AZCOPY_LOG_LOCATION", scratch.path().join("logs"))
        .env("AZCOPY_JOB_PLAN_LOCATION", scratch.path().join("plans"))
        .env("AZCOPY_DISABLE_SYSLOG", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run azcopy");
    let stdin = child.stdin.take();
    let out = child.wait_with_output().expect("azcopy output");
    drop(stdin);
    out.into()
}

/// The `sig=` value of a SAS URL, to check that it never appears in output.
pub fn sas_signature(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("a SAS URL has a signature")
        .to_string()
}

/// Parses JSON-lines output (one object per line); a line that is not JSON fails the test
/// and shows it.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect()
}
