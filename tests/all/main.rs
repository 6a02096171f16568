//! Integration tests against a real Azurite, one module per feature. Each test uses its
//! own container in a shared Azurite started on a free loopback port.

mod annotators;
mod auth;
mod capabilities;
mod compare_md5;
mod compat;
mod conformance;
mod delete;
mod download;
mod dry_run;
mod examples;
mod filters;
mod interop;
mod languages;
mod names;
mod operate;
mod plugin_new;
mod plugins;
mod resilience;
mod sandbox;
mod upload;
mod watch;
