//! blobsync keeps a local folder and an Azure Blob Storage container in sync, moving only
//! what differs. It lists both sides, filters, compares, transfers and reports, and
//! delegates filtering, the comparison policy and post-transfer hooks to sandboxed
//! WebAssembly plugins.

pub mod plugin;
