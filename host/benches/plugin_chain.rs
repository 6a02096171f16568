//! The cost of the wasm plugin chain per entry: built-in filter and comparators called in
//! batches, as the pipeline calls them. Reports per-thread CPU time (ns per entry, median
//! of repeated runs), which noisy shared machines disturb far less than wall time.
//!
//! `cargo bench -p blobsync --bench plugin_chain`

use std::sync::Arc;

use blobsync::plugin::{
    EndpointKind, Entry, Pair, PluginHost, PluginKind, PluginSet, PluginSpec, Runtime, Side,
};

fn spec(kind: PluginKind, name: &'static str, config: &[(&str, &str)]) -> PluginSpec {
    let config = config
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    PluginSpec::builtin(kind, name, config, "bench")
}

fn entry(i: usize, endpoint: EndpointKind) -> Entry {
    let metadata = if endpoint == EndpointKind::AzureBlob {
        vec![(
            "mtime".into(),
            blobsync_plugin::format_rfc3339_ns(1_700_000_000_000_000_000 + i as i64),
        )]
    } else {
        vec![]
    };
    Entry::file(
        format!("data/part-{:03}/file-{i:07}.json", i % 100),
        4096 + i as u64 % 7,
        1_700_000_000_000_000_000 + i as i64,
        Some([i as u8; 16]),
        endpoint,
        metadata,
    )
}

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Median ns per entry of `f` over `rounds`, each processing `entries` entries.
fn measure(label: &str, entries: usize, rounds: usize, mut f: impl FnMut()) {
    for _ in 0..3 {
        f();
    }
    let mut samples: Vec<f64> = (0..rounds)
        .map(|_| {
            let start = thread_cpu_ns();
            f();
            (thread_cpu_ns() - start) as f64 / entries as f64
        })
        .collect();
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = samples[samples.len() / 2];
    println!(
        "{label:<58} {median:>9.1} ns/entry  (min {:.1}, max {:.1})",
        samples[0],
        samples[samples.len() - 1]
    );
}

fn main() {
    let runtime = Arc::new(Runtime::new(None).expect("engine"));
    let host = |filters: Vec<PluginSpec>, comparator: PluginSpec| {
        PluginHost::new(
            &runtime,
            &PluginSet {
                filters,
                comparator,
                annotators: vec![],
                hooks: vec![],
            },
        )
        .expect("plugins load")
    };
    const BATCH: usize = 1024;
    const ROUNDS: usize = 25;
    let local: Vec<Entry> = (0..BATCH).map(|i| entry(i, EndpointKind::Local)).collect();
    let pairs: Vec<Pair> = (0..512)
        .map(|i| Pair {
            source: entry(i, EndpointKind::Local),
            destination: entry(i, EndpointKind::AzureBlob),
        })
        .collect();

    println!("plugin chain cost, per-thread CPU, median of {ROUNDS} rounds");
    let mtime = || spec(PluginKind::Comparator, "mtime-compare", &[]);

    let h = host(vec![spec(PluginKind::Filter, "glob-filter", &[])], mtime());
    let mut chain = h.filter_chain();
    measure(
        "call overhead: glob-filter, batch of 1",
        1,
        ROUNDS * 40,
        || {
            chain.apply(Side::Source, &local[..1]).unwrap();
        },
    );
    measure(
        "glob-filter, no patterns, batch of 1024",
        BATCH,
        ROUNDS,
        || {
            chain.apply(Side::Source, &local).unwrap();
        },
    );

    let h = host(
        vec![spec(
            PluginKind::Filter,
            "glob-filter",
            &[
                ("include-pattern", "*.json;*.csv;*.parquet"),
                ("exclude-path", "data/part-050;tmp"),
                ("exclude-regex", r"\.bak$"),
            ],
        )],
        mtime(),
    );
    let mut chain = h.filter_chain();
    measure(
        "glob-filter, 3 patterns + 2 paths + 1 regex, batch of 1024",
        BATCH,
        ROUNDS,
        || {
            chain.apply(Side::Source, &local).unwrap();
        },
    );

    let mut cmp = h.comparator();
    measure(
        "mtime-compare, batch of 512 pairs",
        pairs.len(),
        ROUNDS,
        || {
            cmp.compare(&pairs).unwrap();
        },
    );
    let h = host(vec![], spec(PluginKind::Comparator, "md5-compare", &[]));
    let mut cmp = h.comparator();
    measure(
        "md5-compare, batch of 512 pairs",
        pairs.len(),
        ROUNDS,
        || {
            cmp.compare(&pairs).unwrap();
        },
    );
}
