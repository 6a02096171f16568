//! Shared access signatures, signed with the emulator's well-known key, built here without
//! the Azure SDK (so they check blobsync independently).

use base64::Engine as _;
use hmac::{Hmac, Mac};

use crate::{ACCOUNT, KEY, SAS_VERSION};

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

/// An account SAS for blobs (services, containers, objects), blob index tags included.
pub fn account_sas() -> String {
    let (st, se) = sas_times();
    let perms = "racwdlt";
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

/// The `sig=` value of a SAS URL, to check that it never appears in output.
pub fn sas_signature(url: &str) -> String {
    let query = url.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("sig="))
        .expect("a SAS URL has a signature")
        .to_string()
}
