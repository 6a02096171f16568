//! How another account's service is allowed to read a blob of this endpoint for a
//! server-side copy (Put Block From URL, Put Blob From URL). The source must authorise the
//! read itself — the destination's credentials do not, even within one account:
//!
//! - a SAS in the URL authorises it as it is;
//! - a Shared Key source signs a short-lived, read-only service SAS for the one blob with
//!   its key (the key itself never leaves blobsync);
//! - an Entra ID source sends a bearer token for Azure Storage with the request
//!   (`x-ms-copy-source-authorization`);
//! - an anonymous (public) source needs nothing.

use std::time::Duration;

use azure_core::credentials::Secret;
use azure_core::time::OffsetDateTime;

use super::auth::{Auth, STORAGE_SCOPE};
use super::location::BlobLocation;
use crate::endpoint::{CopySource, EndpointError, ErrorClass, Item};

/// The service SAS version signed (the layout of its string-to-sign).
const SAS_VERSION: &str = "2021-08-06";

/// How long a signed SAS stays valid: an hour, plus an hour per 100 GiB (a server-side
/// copy of a huge blob reads its last block late).
fn validity(size: u64) -> Duration {
    Duration::from_secs(3600 * (1 + size / (100 << 30)))
}

/// The copy source for `item`, whose blob is at `url` (the blob client's URL: the blob
/// name percent-encoded, and the location's SAS, if any, as the query).
pub(super) async fn copy_source(
    location: &BlobLocation,
    auth: &Auth,
    mut url: url::Url,
    item: &Item,
    described: String,
) -> Result<CopySource, EndpointError> {
    let authorization = match auth {
        Auth::Sas | Auth::Anonymous => None,
        Auth::SharedKey { account, key, .. } => {
            let now = OffsetDateTime::now_utc();
            let sas = blob_read_sas(
                account,
                key,
                location,
                &location.blob_name_as(&item.path, item.listed_as.as_deref()),
                now,
                validity(item.size),
            )
            .map_err(|e| {
                EndpointError::with_source(
                    ErrorClass::Other,
                    "cannot sign a read SAS for the server-side copy of",
                    &described,
                    e,
                )
            })?;
            url.set_query(Some(&sas));
            None
        }
        Auth::Token { credential, from } => {
            let token = credential
                .get_token(&[STORAGE_SCOPE], None)
                .await
                .map_err(|e| {
                    EndpointError::with_source(
                        ErrorClass::Auth,
                        &format!("cannot get a token ({from}) to copy"),
                        &described,
                        e,
                    )
                })?;
            Some(format!("Bearer {}", token.token.secret()))
        }
    };
    Ok(CopySource {
        url: url.to_string(),
        authorization,
        etag: item.etag.clone(),
        described,
    })
}

/// A service SAS that lets its bearer read one blob (`sp=r`, `sr=b`) from `start` (less a
/// quarter of an hour, for clock skew) for `valid_for`: the query string.
fn blob_read_sas(
    account: &str,
    key: &Secret,
    location: &BlobLocation,
    blob_name: &str,
    start: OffsetDateTime,
    valid_for: Duration,
) -> azure_core::Result<String> {
    let st = sas_time(start - Duration::from_secs(15 * 60));
    let se = sas_time(start + valid_for);
    let protocol = if location.endpoint.scheme() == "https" {
        "https"
    } else {
        "https,http"
    };
    let resource = format!("/blob/{account}/{}/{blob_name}", location.container);
    // sp, st, se, resource, si, sip, spr, sv, sr, snapshot, ses, rscc, rscd, rsce, rscl, rsct
    let fields = [
        "r",
        &st,
        &se,
        &resource,
        "",
        "",
        protocol,
        SAS_VERSION,
        "b",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ];
    let signature = azure_core::hmac::hmac_sha256(&fields.join("\n"), key)?;
    Ok(url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("sv", SAS_VERSION),
            ("spr", protocol),
            ("st", &st),
            ("se", &se),
            ("sr", "b"),
            ("sp", "r"),
            ("sig", &signature),
        ])
        .finish())
}

/// `2024-01-31T12:00:00Z`, as a SAS spells times.
fn sas_time(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::azure::shared_key::DEV_KEY;

    #[test]
    fn a_read_sas_for_one_blob_is_signed_as_the_service_checks_it() {
        let location =
            BlobLocation::parse("http://127.0.0.1:1/devstoreaccount1/cont/folder").unwrap();
        let start = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let sas = blob_read_sas(
            "devstoreaccount1",
            &Secret::new(DEV_KEY),
            &location,
            "folder/a b.txt",
            start,
            validity(1),
        )
        .unwrap();
        let pairs: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(sas.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(pairs["sp"], "r");
        assert_eq!(pairs["sr"], "b");
        assert_eq!(pairs["st"], "2023-11-14T21:58:20Z");
        assert_eq!(pairs["se"], "2023-11-14T23:13:20Z");
        assert_eq!(pairs["spr"], "https,http");
        // The signature over the documented string-to-sign, spelled out.
        let expected = azure_core::hmac::hmac_sha256(
            "r\n2023-11-14T21:58:20Z\n2023-11-14T23:13:20Z\n\
             /blob/devstoreaccount1/cont/folder/a b.txt\n\n\nhttps,http\n2021-08-06\nb\n\n\n\n\n\n\n",
            &Secret::new(DEV_KEY),
        )
        .unwrap();
        assert_eq!(pairs["sig"], expected);
        assert_eq!(validity(250 << 30), Duration::from_secs(3 * 3600));
    }
}
