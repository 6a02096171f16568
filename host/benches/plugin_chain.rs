//! The cost of the wasm plugin chain per entry: built-in filter and comparators called in
//! batches, as the pipeline calls them. Reports per-thread CPU time (ns per entry, median
//! of repeated runs), which noisy shared machines disturb far less than wall time.
//!
//! `cargo bench -p blobsync --bench plugin_chain`
//!
//! With `BENCH_PYTHON_FILTER=FILE.wasm` (e.g. the age-filter example) and/or
//! `BENCH_JS_HOOK=FILE.wasm` (the run-report example), it also measures those language
//! runtimes: load time with an empty compilation cache and with a warm one, and the cost
//! per entry (filter) or event (hook).

use std::sync::Arc;

use std::path::PathBuf;
use std::time::Instant;

use blobsync::plugin::{
    DirectedEvent, EndpointKind, Entry, Event, EventAction, Outcome, Pair, PluginHost, PluginKind,
    PluginSet, PluginSource, PluginSpec, Runtime, Side,
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
                resolvers: vec![],
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

    for (var, kind) in [
        ("BENCH_PYTHON_FILTER", PluginKind::Filter),
        ("BENCH_JS_HOOK", PluginKind::Hook),
    ] {
        if let Some(path) = std::env::var_os(var) {
            language_runtime(PathBuf::from(path), kind, &local);
        }
    }
}

/// Load time (cold and cached) and per-entry cost of a language-runtime component.
fn language_runtime(path: PathBuf, kind: PluginKind, entries: &[Entry]) {
    let name = path.file_stem().unwrap().to_string_lossy().to_string();
    let scratch = tempfile::tempdir().expect("scratch dir");
    let mut spec = PluginSpec {
        source: PluginSource::File(path),
        ..PluginSpec::builtin(kind, "glob-filter", vec![], "bench")
    };
    spec.name = name.clone();
    if kind == PluginKind::Hook {
        spec.grants.output = Some(scratch.path().join("out.txt"));
    }
    let set = PluginSet {
        filters: if kind == PluginKind::Filter {
            vec![spec.clone()]
        } else {
            vec![]
        },
        comparator: self::spec(PluginKind::Comparator, "mtime-compare", &[]),
        annotators: vec![],
        resolvers: vec![],
        hooks: if kind == PluginKind::Hook {
            vec![spec]
        } else {
            vec![]
        },
    };
    let cache = tempfile::tempdir().expect("cache dir");
    let load = || {
        let runtime = Arc::new(Runtime::new(Some(cache.path().to_path_buf())).expect("engine"));
        let started = Instant::now();
        let host = PluginHost::new(&runtime, &set).expect("plugin loads");
        (host, started.elapsed())
    };
    let (_, cold) = load();
    let (host, warm) = load();
    println!(
        "{name}: load (compile, instantiate, configure) {:.1} s cold, {:.1} ms from the cache",
        cold.as_secs_f64(),
        warm.as_secs_f64() * 1000.0
    );
    let started = Instant::now();
    match kind {
        PluginKind::Filter => {
            let mut chain = host.filter_chain();
            chain.apply(Side::Source, &entries[..1]).unwrap();
            println!(
                "{name}: first call on a new instance (instantiate + configure + 1 entry) {:.2} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
            measure(&format!("{name}, batch of 1"), 1, 20, || {
                chain.apply(Side::Source, &entries[..1]).unwrap();
            });
            measure(
                &format!("{name}, batch of {}", entries.len()),
                entries.len(),
                10,
                || {
                    chain.apply(Side::Source, entries).unwrap();
                },
            );
        }
        _ => {
            let events: Vec<DirectedEvent> = entries
                .iter()
                .take(256)
                .map(|e| DirectedEvent {
                    event: Event {
                        path: e.path.clone(),
                        action: EventAction::Upload,
                        bytes: e.size,
                        outcome: Outcome::Success,
                        reason: "bench".into(),
                        error: None,
                        md5: None,
                        time_ms: 0,
                    },
                    direction: None,
                })
                .collect();
            let mut hooks = host.hooks();
            let hook = &mut hooks[0];
            hook.on_events(&events[..1]).unwrap();
            println!(
                "{name}: first call on a new instance (instantiate + configure + 1 event) {:.2} ms",
                started.elapsed().as_secs_f64() * 1000.0
            );
            measure(&format!("{name}, batch of 1 event"), 1, 20, || {
                hook.on_events(&events[..1]).unwrap();
            });
            measure(
                &format!("{name}, batch of {} events", events.len()),
                events.len(),
                10,
                || {
                    hook.on_events(&events).unwrap();
                },
            );
        }
    }
}
