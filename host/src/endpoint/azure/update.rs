//! Changing a blob without rewriting its content: Set Blob Properties (every content
//! header, and the Content-MD5 it would otherwise clear), Set Blob Metadata, Set Blob Tags
//! and Set Blob Tier (with a rehydration priority for an archived blob). Headers and
//! metadata are conditional on the listed ETag, each on the one the previous step left;
//! tags and tier do not change the ETag.

use std::collections::HashMap;

use azure_core::http::headers::HeaderName;
use azure_core::http::{Etag, RequestContent, StatusCode, XmlFormat};
use azure_storage_blob::BlobClient;
use azure_storage_blob::models::{
    AccessTier, BlobClientSetMetadataOptions, BlobClientSetPropertiesOptions,
    BlobClientSetTierOptions, BlobTags,
};

use super::errors::azure_error;
use crate::endpoint::{BlobUpdate, EndpointError, ErrorClass, RehydratePriority, Tier};

/// The SDK's name for a tier.
pub(super) fn access_tier(tier: Tier) -> AccessTier {
    match tier {
        Tier::Hot => AccessTier::Hot,
        Tier::Cool => AccessTier::Cool,
        Tier::Cold => AccessTier::Cold,
        Tier::Archive => AccessTier::Archive,
    }
}

/// Replaces a blob's tags.
pub(super) async fn set_tags(
    client: &BlobClient,
    tags: &HashMap<String, String>,
    described: &str,
) -> Result<(), EndpointError> {
    let body: RequestContent<BlobTags, XmlFormat> = BlobTags::from(tags.clone())
        .try_into()
        .map_err(|e| azure_error("cannot encode the tags of", described, e))?;
    client
        .set_tags(body, None)
        .await
        .map(|_| ())
        .map_err(|e| azure_error("cannot set the tags of", described, e))
}

/// The ETag a response carries.
fn etag_of<T, F>(response: &azure_core::http::Response<T, F>) -> Option<Etag> {
    response
        .headers()
        .get_optional_str(&HeaderName::from_static("etag"))
        .map(Etag::from)
}

/// A failed condition: the blob changed since it was listed.
fn changed(e: &azure_core::Error, described: &str) -> Option<EndpointError> {
    (e.http_status() == Some(StatusCode::PreconditionFailed)).then(|| {
        EndpointError::new(
            ErrorClass::Changed,
            format!(
                "{described} changed since it was listed; its properties were not changed, \
                 and the next run compares it again"
            ),
        )
        .at(described)
    })
}

/// Applies `update` to the blob `client` names.
pub(super) async fn update(
    client: &BlobClient,
    update: &BlobUpdate,
    described: &str,
) -> Result<(), EndpointError> {
    let mut etag = update.etag.as_deref().map(Etag::from);
    if let Some((headers, md5)) = &update.headers {
        let options = BlobClientSetPropertiesOptions {
            blob_content_type: headers.content_type.clone(),
            blob_cache_control: headers.cache_control.clone(),
            blob_content_encoding: headers.content_encoding.clone(),
            blob_content_disposition: headers.content_disposition.clone(),
            blob_content_language: headers.content_language.clone(),
            blob_content_md5: md5.map(|m| m.to_vec()),
            if_match: etag.clone(),
            ..Default::default()
        };
        match client.set_properties(Some(options)).await {
            Ok(response) => etag = etag_of(&response).or(etag),
            Err(e) => {
                return Err(changed(&e, described).unwrap_or_else(|| {
                    azure_error("cannot set the content headers of", described, e)
                }));
            }
        }
    }
    if let Some(metadata) = &update.metadata {
        let metadata: HashMap<String, String> = metadata.iter().cloned().collect();
        let options = BlobClientSetMetadataOptions {
            if_match: etag.clone(),
            ..Default::default()
        };
        if let Err(e) = client.set_metadata(&metadata, Some(options)).await {
            return Err(changed(&e, described)
                .unwrap_or_else(|| azure_error("cannot set the metadata of", described, e)));
        }
    }
    if let Some(tags) = &update.tags {
        set_tags(client, &tags.iter().cloned().collect(), described).await?;
    }
    if let Some((tier, priority)) = update.tier {
        let options = BlobClientSetTierOptions {
            rehydrate_priority: priority.map(|p| match p {
                RehydratePriority::Standard => {
                    azure_storage_blob::models::RehydratePriority::Standard
                }
                RehydratePriority::High => azure_storage_blob::models::RehydratePriority::High,
            }),
            ..Default::default()
        };
        client
            .set_tier(access_tier(tier), Some(options))
            .await
            .map_err(|e| azure_error("cannot change the access tier of", described, e))?;
    }
    Ok(())
}
