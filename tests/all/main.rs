//! Integration tests against a real Azurite, one module per feature. Each test uses its
//! own container in a shared Azurite started on a free loopback port.

mod auth;
mod backups;
mod blob_to_blob;
mod check;
mod clocks;
mod compare_md5;
mod conformance;
mod crash;
mod delete;
mod download;
mod dry_run;
mod examples;
mod faults;
mod filters;
mod headers;
mod inputs;
mod interop;
mod metadata;
mod names;
mod operate;
mod plugins;
mod resilience;
mod scopes;
mod shards;
mod tiers;
mod upload;
mod watch;
