//! Kubernetes manifests read strictly into the real API types (k8s-openapi): a field the
//! API does not have — a misspelling, a field at the wrong level — is an error, where the
//! types on their own would ignore it and the API server would drop it.

use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, ServiceAccount};
use serde::Deserialize as _;

/// A manifest's objects, one per YAML document.
#[derive(Debug)]
pub enum KubeObject {
    /// A CronJob.
    CronJob(Box<CronJob>),
    /// A Job.
    Job(Box<Job>),
    /// A ServiceAccount.
    ServiceAccount(Box<ServiceAccount>),
    /// A PersistentVolumeClaim.
    PersistentVolumeClaim(Box<PersistentVolumeClaim>),
}

/// Every object of a multi-document YAML manifest, each read strictly; the errors name
/// the document and the path of each unknown field.
pub fn parse_manifest(text: &str) -> Result<Vec<KubeObject>, Vec<String>> {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for (i, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let value = match serde_yaml_ng::Value::deserialize(document) {
            Ok(serde_yaml_ng::Value::Null) => continue,
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("document {}: not YAML: {e}", i + 1));
                continue;
            }
        };
        let kind = value
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("")
            .to_string();
        let parsed = match kind.as_str() {
            "CronJob" => strict(value).map(|o| KubeObject::CronJob(Box::new(o))),
            "Job" => strict(value).map(|o| KubeObject::Job(Box::new(o))),
            "ServiceAccount" => strict(value).map(|o| KubeObject::ServiceAccount(Box::new(o))),
            "PersistentVolumeClaim" => {
                strict(value).map(|o| KubeObject::PersistentVolumeClaim(Box::new(o)))
            }
            other => Err(vec![format!(
                "kind {other:?} is not one the examples use (add it to the harness)"
            )]),
        };
        match parsed {
            Ok(object) => objects.push(object),
            Err(e) => errors.extend(
                e.into_iter()
                    .map(|e| format!("document {} ({kind}): {e}", i + 1)),
            ),
        }
    }
    if errors.is_empty() {
        Ok(objects)
    } else {
        Err(errors)
    }
}

fn strict<T: serde::de::DeserializeOwned>(value: serde_yaml_ng::Value) -> Result<T, Vec<String>> {
    let mut unknown = Vec::new();
    let parsed = serde_ignored::deserialize(value, |path| {
        // serde_ignored writes `?` for each optional level: metadata.?.lables.
        let path = path.to_string().replace("?.", "").replace(".?", "");
        unknown.push(format!("unknown field {path}"));
    });
    match parsed {
        Ok(object) if unknown.is_empty() => Ok(object),
        Ok(_) => Err(unknown),
        Err(e) => {
            unknown.push(e.to_string());
            Err(unknown)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelled_field_is_an_error() {
        let good = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n";
        assert_eq!(parse_manifest(good).unwrap().len(), 1);
        let bad = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n  lables: {}\n";
        let errors = parse_manifest(bad).unwrap_err().join("\n");
        assert!(errors.contains("metadata.lables"), "{errors}");
        let wrong_kind = "apiVersion: v1\nkind: Job\nmetadata:\n  name: a\n";
        assert!(parse_manifest(wrong_kind).is_err());
    }
}
