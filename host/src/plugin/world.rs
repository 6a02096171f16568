//! The plugin worlds, each with its typed pre-instance, for both interface versions: how
//! to instantiate a plugin of that kind, configure it and call it.

use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store};

use super::bindings::types::{Annotation, Decision, Entries, EntryFields, Event, Side, Summary};
use super::bindings::{annotator, comparator, filter, hook};
use super::inspect::Interface;
use super::legacy;
use super::spec::PluginKind;
use super::state::StoreState;

/// One plugin world: its typed pre-instance and how to instantiate and configure it.
pub(crate) trait World: Sized + 'static {
    /// The kind of plugin that targets this world.
    const KIND: PluginKind;
    /// The pre-instantiated component, typed for the world.
    type Pre: Send + Sync + 'static;
    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre>;
    fn engine(pre: &Self::Pre) -> &Engine;
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self>;
    /// Calls `configure`; returns the entry fields the plugin reads.
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>>;
}

fn mismatch<T>() -> wasmtime::Result<T> {
    Err(wasmtime::format_err!(
        "internal error: a call for another interface version"
    ))
}

/// Every optional field: what a 0.1 plugin's records carry.
fn legacy_fields(md5: bool) -> EntryFields {
    let all = EntryFields::PATH | EntryFields::METADATA;
    if md5 { all | EntryFields::MD5 } else { all }
}

/// Declares a world that exists at both interface versions: the instance and
/// pre-instance enums, and the parts of [`World`] that only choose the version. Its
/// `configure` (whose answers differ between versions) is written beside it.
macro_rules! versioned_world {
    ($(#[$doc:meta])* $name:ident, $pre:ident, $v1:ty, $v1pre:ty, $v2:ty, $v2pre:ty) => {
        $(#[$doc])*
        pub(crate) enum $name {
            V1($v1),
            V2($v2),
        }

        pub(crate) enum $pre {
            V1($v1pre),
            V2($v2pre),
        }

        impl $pre {
            fn new(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self> {
                Ok(match interface {
                    Interface::V1 => $pre::V1(<$v1pre>::new(pre)?),
                    Interface::V2 => $pre::V2(<$v2pre>::new(pre)?),
                })
            }

            fn engine(&self) -> &Engine {
                match self {
                    $pre::V1(p) => p.engine(),
                    $pre::V2(p) => p.engine(),
                }
            }

            fn instantiate(&self, store: &mut Store<StoreState>) -> wasmtime::Result<$name> {
                Ok(match self {
                    $pre::V1(p) => $name::V1(p.instantiate(store)?),
                    $pre::V2(p) => $name::V2(p.instantiate(store)?),
                })
            }
        }
    };
}

/// The parts of [`World`] a [`versioned_world!`] provides.
macro_rules! world_by_version {
    ($kind:expr, $pre:ident) => {
        const KIND: PluginKind = $kind;
        type Pre = $pre;
        fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<$pre> {
            $pre::new(pre, interface)
        }
        fn engine(pre: &$pre) -> &Engine {
            pre.engine()
        }
        fn instantiate(pre: &$pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
            pre.instantiate(store)
        }
    };
}

versioned_world!(
    /// A filter, at either interface version.
    Filter,
    FilterPre,
    legacy::filter::Filter,
    legacy::filter::FilterPre<StoreState>,
    filter::Filter,
    filter::FilterPre<StoreState>
);

impl World for Filter {
    world_by_version!(PluginKind::Filter, FilterPre);

    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        let config = config.to_vec();
        Ok(match self {
            Filter::V1(f) => f
                .blobsync_plugin_filter_plugin()
                .call_configure(store, &config)?
                .map(|()| legacy_fields(false)),
            Filter::V2(f) => f
                .blobsync_plugin_filter_plugin()
                .call_configure(store, &config)?,
        })
    }
}

impl Filter {
    pub(crate) fn filter(
        &self,
        store: &mut Store<StoreState>,
        side: Side,
        entries: &Entries,
    ) -> wasmtime::Result<Vec<Option<String>>> {
        match self {
            Filter::V2(f) => f
                .blobsync_plugin_filter_plugin()
                .call_filter(store, side, entries),
            Filter::V1(_) => mismatch(),
        }
    }

    pub(crate) fn filter_v1(
        &self,
        store: &mut Store<StoreState>,
        side: Side,
        entries: &[legacy::types::Entry],
    ) -> wasmtime::Result<Vec<Option<String>>> {
        match self {
            Filter::V1(f) => Ok(f
                .blobsync_plugin_filter_plugin()
                .call_filter(store, legacy::side(side), entries)?
                .into_iter()
                .map(legacy::verdict)
                .collect()),
            Filter::V2(_) => mismatch(),
        }
    }
}

versioned_world!(
    /// A comparator, at either interface version.
    Comparator,
    ComparatorPre,
    legacy::comparator::Comparator,
    legacy::comparator::ComparatorPre<StoreState>,
    comparator::Comparator,
    comparator::ComparatorPre<StoreState>
);

impl World for Comparator {
    world_by_version!(PluginKind::Comparator, ComparatorPre);

    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        let config = config.to_vec();
        Ok(match self {
            Comparator::V1(c) => c
                .blobsync_plugin_comparator_plugin()
                .call_configure(store, &config)?
                .map(|info| legacy_fields(info.needs_md5)),
            Comparator::V2(c) => c
                .blobsync_plugin_comparator_plugin()
                .call_configure(store, &config)?,
        })
    }
}

impl Comparator {
    pub(crate) fn compare(
        &self,
        store: &mut Store<StoreState>,
        source: &Entries,
        destination: &Entries,
    ) -> wasmtime::Result<Vec<Decision>> {
        match self {
            Comparator::V2(c) => {
                c.blobsync_plugin_comparator_plugin()
                    .call_compare(store, source, destination)
            }
            Comparator::V1(_) => mismatch(),
        }
    }

    pub(crate) fn compare_v1(
        &self,
        store: &mut Store<StoreState>,
        pairs: &[legacy::types::Pair],
    ) -> wasmtime::Result<Vec<Decision>> {
        match self {
            Comparator::V1(c) => Ok(c
                .blobsync_plugin_comparator_plugin()
                .call_compare(store, pairs)?
                .into_iter()
                .map(legacy::decision)
                .collect()),
            Comparator::V2(_) => mismatch(),
        }
    }
}

/// An annotator (0.2 only).
pub(crate) struct Annotator(annotator::Annotator);

impl World for Annotator {
    const KIND: PluginKind = PluginKind::Annotator;
    type Pre = annotator::AnnotatorPre<StoreState>;
    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        match interface {
            Interface::V2 => annotator::AnnotatorPre::new(pre),
            Interface::V1 => mismatch(),
        }
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        pre.engine()
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(Annotator(pre.instantiate(store)?))
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        self.0
            .blobsync_plugin_annotator_plugin()
            .call_configure(store, &config.to_vec())
    }
}

impl Annotator {
    pub(crate) fn annotate(
        &self,
        store: &mut Store<StoreState>,
        entries: &Entries,
    ) -> wasmtime::Result<Vec<Annotation>> {
        self.0
            .blobsync_plugin_annotator_plugin()
            .call_annotate(store, entries)
    }
}

versioned_world!(
    /// A hook, at either interface version.
    Hook,
    HookPre,
    legacy::hook::Hook,
    legacy::hook::HookPre<StoreState>,
    hook::Hook,
    hook::HookPre<StoreState>
);

impl World for Hook {
    world_by_version!(PluginKind::Hook, HookPre);

    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        let config = config.to_vec();
        Ok(match self {
            Hook::V1(h) => h
                .blobsync_plugin_hook_plugin()
                .call_configure(store, &config)?,
            Hook::V2(h) => h
                .blobsync_plugin_hook_plugin()
                .call_configure(store, &config)?,
        }
        .map(|()| EntryFields::empty()))
    }
}

impl Hook {
    pub(crate) fn on_events(
        &self,
        store: &mut Store<StoreState>,
        events: &[Event],
    ) -> wasmtime::Result<()> {
        match self {
            Hook::V2(h) => h
                .blobsync_plugin_hook_plugin()
                .call_on_events(store, events),
            Hook::V1(h) => {
                let events: Vec<_> = events.iter().map(legacy::event).collect();
                h.blobsync_plugin_hook_plugin()
                    .call_on_events(store, &events)
            }
        }
    }

    pub(crate) fn on_complete(
        &self,
        store: &mut Store<StoreState>,
        summary: &Summary,
    ) -> wasmtime::Result<()> {
        match self {
            Hook::V2(h) => h
                .blobsync_plugin_hook_plugin()
                .call_on_complete(store, summary),
            Hook::V1(h) => h
                .blobsync_plugin_hook_plugin()
                .call_on_complete(store, &legacy::summary(summary)),
        }
    }
}
