//! Integration tests against a real Azurite, one module per feature. Each test uses its
//! own container in a shared Azurite started on a free loopback port.

mod annotators;
mod auth;
mod backups;
mod blob_settings;
mod blob_to_blob;
mod capabilities;
mod check;
mod clocks;
mod compare_md5;
mod compat;
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
mod languages;
mod metadata;
mod names;
mod operate;
mod plugin_new;
mod plugins;
mod resilience;
mod sandbox;
mod scopes;
mod shards;
mod static_site;
mod tiers;
mod upload;
mod watch;
