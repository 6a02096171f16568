//! End-to-end Entra ID without Azure: a test CA, an Azurite serving HTTPS with OAuth
//! ("basic": any well-formed token with the storage audience is accepted, the signature is
//! not checked), and a local token endpoint that plays the Entra authority (HTTPS) and an
//! App Service managed-identity endpoint (HTTP).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;

use crate::{Azurite, start_azurite_with};

/// The tenant the tests use.
pub const TENANT: &str = "8f4c0d4e-3a0b-4c8e-9f6d-6a4f2b1e7c11";
/// The client id the tests use.
pub const CLIENT_ID: &str = "0a1b2c3d-1111-2222-3333-444455556666";
/// The client secret the token endpoint accepts.
pub const CLIENT_SECRET: &str = "s3cr3t-client-value-never-printed";
/// The header value the managed-identity endpoint requires.
pub const IDENTITY_HEADER: &str = "test-identity-header-value";

/// Certificates for 127.0.0.1 / localhost, signed by a test CA.
pub struct Tls {
    /// The CA certificate (what SSL_CERT_FILE points to).
    pub ca_pem: PathBuf,
    /// The server certificate.
    pub cert_pem: PathBuf,
    /// The server key.
    pub key_pem: PathBuf,
    server: Arc<rustls::ServerConfig>,
}

/// The test TLS material, created once per process.
pub fn tls() -> &'static Tls {
    static TLS: OnceLock<Tls> = OnceLock::new();
    TLS.get_or_init(|| {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
        let dir = tempfile::tempdir().unwrap().keep();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "blobsync test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.subject_alt_names
            .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
        leaf.distinguished_name
            .push(DnType::CommonName, "127.0.0.1");
        let cert = leaf.signed_by(&key, &issuer).unwrap();
        let (ca_pem, cert_pem, key_pem) = (
            dir.join("ca.pem"),
            dir.join("cert.pem"),
            dir.join("key.pem"),
        );
        std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
        std::fs::write(&cert_pem, cert.pem()).unwrap();
        std::fs::write(&key_pem, key.serialize_pem()).unwrap();
        let _ = rustls::crypto::ring::default_provider().install_default();
        let server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        Tls {
            ca_pem,
            cert_pem,
            key_pem,
            server: Arc::new(server),
        }
    })
}

/// An Azurite serving HTTPS and accepting OAuth bearer tokens (besides SAS and Shared Key).
pub fn https_azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| {
        let t = tls();
        let (cert, key) = (
            t.cert_pem.display().to_string(),
            t.key_pem.display().to_string(),
        );
        start_azurite_with(&["--cert", &cert, "--key", &key, "--oauth", "basic"], true)
    })
}

/// An https URL of a container on the HTTPS Azurite.
pub fn https_url(container: &str) -> String {
    format!(
        "https://127.0.0.1:{}/devstoreaccount1/{container}",
        https_azurite().port
    )
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A token Azurite's basic OAuth check accepts: storage audience, an Entra issuer, valid
/// for an hour. Its signature is not real.
pub fn jwt() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
    let claims = serde_json::json!({
        "aud": "https://storage.azure.com",
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "oid": "11111111-2222-3333-4444-555555555555", "tid": TENANT,
    });
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes()),
        b64url(b"not-a-signature")
    )
}

/// The local token endpoint.
pub struct TokenServer {
    /// HTTPS port (the Entra authority: `AZURE_AUTHORITY_HOST=https://127.0.0.1:PORT`).
    pub https_port: u16,
    /// HTTP port (the managed-identity endpoint: `IDENTITY_ENDPOINT=http://127.0.0.1:PORT/msi/token`).
    pub http_port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    /// Every request so far, as `METHOD PATH?QUERY BODY`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    /// `AZURE_AUTHORITY_HOST`.
    pub fn authority(&self) -> String {
        format!("https://127.0.0.1:{}", self.https_port)
    }

    /// `IDENTITY_ENDPOINT`.
    pub fn identity_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/msi/token", self.http_port)
    }
}

/// The token endpoint shared by this process's tests.
pub fn token_server() -> &'static TokenServer {
    static SERVER: OnceLock<TokenServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let https = TcpListener::bind("127.0.0.1:0").unwrap();
        let http = TcpListener::bind("127.0.0.1:0").unwrap();
        let (https_port, http_port) = (
            https.local_addr().unwrap().port(),
            http.local_addr().unwrap().port(),
        );
        for (listener, secure) in [(https, true), (http, false)] {
            let requests = requests.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let requests = requests.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, secure, &requests);
                    });
                }
            });
        }
        TokenServer {
            https_port,
            http_port,
            requests,
        }
    })
}

fn serve(stream: TcpStream, secure: bool, requests: &Mutex<Vec<String>>) -> std::io::Result<()> {
    if secure {
        let conn =
            rustls::ServerConnection::new(tls().server.clone()).map_err(std::io::Error::other)?;
        let mut tls_stream = rustls::StreamOwned::new(conn, stream);
        respond(&mut tls_stream, requests)
    } else {
        let mut stream = stream;
        respond(&mut stream, requests)
    }
}

fn respond<S: Read + Write>(stream: &mut S, requests: &Mutex<Vec<String>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body).to_string();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default().to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    requests
        .lock()
        .unwrap()
        .push(format!("{method} {target} {body}"));

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (status, json) = if target.contains("/oauth2/v2.0/token") {
        let wrong_secret = body.contains("client_secret=")
            && !body.contains(&format!("client_secret={CLIENT_SECRET}"));
        if wrong_secret {
            (
                "401 Unauthorized",
                serde_json::json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}),
            )
        } else {
            (
                "200 OK",
                serde_json::json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": jwt()}),
            )
        }
    } else if target.starts_with("/msi/token") {
        let authorised = headers
            .iter()
            .any(|(k, v)| k == "x-identity-header" && v == IDENTITY_HEADER);
        if authorised {
            (
                "200 OK",
                serde_json::json!({"access_token": jwt(), "expires_on": (now + 3600).to_string(), "resource": "https://storage.azure.com", "token_type": "Bearer"}),
            )
        } else {
            (
                "401 Unauthorized",
                serde_json::json!({"error": "missing or wrong X-IDENTITY-HEADER"}),
            )
        }
    } else {
        ("404 Not Found", serde_json::json!({"error": "not found"}))
    };
    let payload = json.to_string();
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )?;
    stream.flush()
}

/// A directory with a fake `az` that prints a token, as `az account get-access-token`
/// does; put it first on PATH.
pub fn fake_azure_cli() -> PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let json = serde_json::json!({
        "accessToken": jwt(), "expiresOn": "2099-01-01 00:00:00.000000", "expires_on": now + 3600,
        "subscription": "00000000-0000-0000-0000-000000000000", "tenant": TENANT, "tokenType": "Bearer",
    });
    let script = format!("#!/bin/sh\n# Fake Azure CLI for tests: $@\necho '{json}'\n");
    let path = dir.join("az");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}
