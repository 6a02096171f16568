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

/// A filter, at either interface version.
pub(crate) enum Filter {
    V1(legacy::filter::Filter),
    V2(filter::Filter),
}

pub(crate) enum FilterPre {
    V1(legacy::filter::FilterPre<StoreState>),
    V2(filter::FilterPre<StoreState>),
}

impl World for Filter {
    const KIND: PluginKind = PluginKind::Filter;
    type Pre = FilterPre;
    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        Ok(match interface {
            Interface::V1 => FilterPre::V1(legacy::filter::FilterPre::new(pre)?),
            Interface::V2 => FilterPre::V2(filter::FilterPre::new(pre)?),
        })
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        match pre {
            FilterPre::V1(p) => p.engine(),
            FilterPre::V2(p) => p.engine(),
        }
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(match pre {
            FilterPre::V1(p) => Filter::V1(p.instantiate(store)?),
            FilterPre::V2(p) => Filter::V2(p.instantiate(store)?),
        })
    }
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

/// A comparator, at either interface version.
pub(crate) enum Comparator {
    V1(legacy::comparator::Comparator),
    V2(comparator::Comparator),
}

pub(crate) enum ComparatorPre {
    V1(legacy::comparator::ComparatorPre<StoreState>),
    V2(comparator::ComparatorPre<StoreState>),
}

impl World for Comparator {
    const KIND: PluginKind = PluginKind::Comparator;
    type Pre = ComparatorPre;
    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        Ok(match interface {
            Interface::V1 => ComparatorPre::V1(legacy::comparator::ComparatorPre::new(pre)?),
            Interface::V2 => ComparatorPre::V2(comparator::ComparatorPre::new(pre)?),
        })
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        match pre {
            ComparatorPre::V1(p) => p.engine(),
            ComparatorPre::V2(p) => p.engine(),
        }
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(match pre {
            ComparatorPre::V1(p) => Comparator::V1(p.instantiate(store)?),
            ComparatorPre::V2(p) => Comparator::V2(p.instantiate(store)?),
        })
    }
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

/// A hook, at either interface version.
pub(crate) enum Hook {
    V1(legacy::hook::Hook),
    V2(hook::Hook),
}

pub(crate) enum HookPre {
    V1(legacy::hook::HookPre<StoreState>),
    V2(hook::HookPre<StoreState>),
}

impl World for Hook {
    const KIND: PluginKind = PluginKind::Hook;
    type Pre = HookPre;
    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        Ok(match interface {
            Interface::V1 => HookPre::V1(legacy::hook::HookPre::new(pre)?),
            Interface::V2 => HookPre::V2(hook::HookPre::new(pre)?),
        })
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        match pre {
            HookPre::V1(p) => p.engine(),
            HookPre::V2(p) => p.engine(),
        }
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(match pre {
            HookPre::V1(p) => Hook::V1(p.instantiate(store)?),
            HookPre::V2(p) => Hook::V2(p.instantiate(store)?),
        })
    }
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
