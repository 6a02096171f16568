//! The plugin worlds, each with its typed pre-instance: how to instantiate a plugin of a
//! kind, configure it and call it, at the interface version it was built against.
//!
//! Every world `bindgen!` generated, at each version, is a [`World`] of its own; one row
//! of the table below says what tells them apart. A kind that exists at both versions is
//! a [`Versioned`] pair of them. The calls are written once per kind, converting 0.1's
//! records with `legacy.rs`.

use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store};

use super::bindings::types::{Annotation, Decision, Entries, EntryFields, Event, Side, Summary};
use super::bindings::{self, annotator, comparator, filter, hook, resolver, two_way_hook};
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

/// Implements [`World`] for worlds `bindgen!` generated, one a row: the world and its
/// pre-instance, its kind and interface version, the accessor of its export, and what the
/// answer of its `configure` says about the entry fields the plugin reads.
macro_rules! generated_worlds {
    ($(
        $version_mod:ident::$world_mod:ident::{$world:ident, $pre:ident}:
        $kind:ident at $interface:ident, $export:ident, $fields:expr;
    )+) => {$(
        impl World for $version_mod::$world_mod::$world {
            const KIND: PluginKind = PluginKind::$kind;
            type Pre = $version_mod::$world_mod::$pre<StoreState>;
            fn pre(
                pre: InstancePre<StoreState>,
                interface: Interface,
            ) -> wasmtime::Result<Self::Pre> {
                if interface != Interface::$interface {
                    return mismatch();
                }
                <$version_mod::$world_mod::$pre<StoreState>>::new(pre)
            }
            fn engine(pre: &Self::Pre) -> &Engine {
                pre.engine()
            }
            fn instantiate(
                pre: &Self::Pre,
                store: &mut Store<StoreState>,
            ) -> wasmtime::Result<Self> {
                pre.instantiate(store)
            }
            fn configure(
                &self,
                store: &mut Store<StoreState>,
                config: &[(String, String)],
            ) -> wasmtime::Result<Result<EntryFields, String>> {
                let answer = self.$export().call_configure(store, &config.to_vec())?;
                Ok(answer.map($fields))
            }
        }
    )+};
}

generated_worlds! {
    bindings::filter::{Filter, FilterPre}:
        Filter at V2, blobsync_plugin_filter_plugin, |fields| fields;
    legacy::filter::{Filter, FilterPre}:
        Filter at V1, blobsync_plugin_filter_plugin, |()| legacy_fields(false);
    bindings::comparator::{Comparator, ComparatorPre}:
        Comparator at V2, blobsync_plugin_comparator_plugin, |fields| fields;
    legacy::comparator::{Comparator, ComparatorPre}:
        Comparator at V1, blobsync_plugin_comparator_plugin, |info| legacy_fields(info.needs_md5);
    bindings::annotator::{Annotator, AnnotatorPre}:
        Annotator at V2, blobsync_plugin_annotator_plugin, |fields| fields;
    bindings::hook::{Hook, HookPre}:
        Hook at V2, blobsync_plugin_hook_plugin, |()| EntryFields::empty();
    bindings::resolver::{Resolver, ResolverPre}:
        Resolver at V2, blobsync_plugin_resolver_plugin, |()| EntryFields::empty();
    bindings::two_way_hook::{TwoWayHook, TwoWayHookPre}:
        Hook at V2, blobsync_plugin_two_way_hook_plugin, |()| EntryFields::empty();
    legacy::hook::{Hook, HookPre}:
        Hook at V1, blobsync_plugin_hook_plugin, |()| EntryFields::empty();
}

/// A 0.2 hook: of the `hook` world, or of the `two-way-hook` world, which also hears
/// directions and conflicts.
pub(crate) enum HookV2 {
    Plain(hook::Hook),
    TwoWay(two_way_hook::TwoWayHook),
}

/// The pre-instance of a [`HookV2`].
pub(crate) enum HookV2Pre {
    Plain(<hook::Hook as World>::Pre),
    TwoWay(<two_way_hook::TwoWayHook as World>::Pre),
}

impl World for HookV2 {
    const KIND: PluginKind = PluginKind::Hook;
    type Pre = HookV2Pre;

    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        // Which of the two worlds: the one whose export the component has.
        match <two_way_hook::TwoWayHook as World>::pre(pre.clone(), interface) {
            Ok(p) => Ok(HookV2Pre::TwoWay(p)),
            Err(_) => Ok(HookV2Pre::Plain(<hook::Hook as World>::pre(
                pre, interface,
            )?)),
        }
    }

    fn engine(pre: &Self::Pre) -> &Engine {
        match pre {
            HookV2Pre::Plain(p) => <hook::Hook as World>::engine(p),
            HookV2Pre::TwoWay(p) => <two_way_hook::TwoWayHook as World>::engine(p),
        }
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(match pre {
            HookV2Pre::Plain(p) => HookV2::Plain(<hook::Hook as World>::instantiate(p, store)?),
            HookV2Pre::TwoWay(p) => {
                HookV2::TwoWay(<two_way_hook::TwoWayHook as World>::instantiate(p, store)?)
            }
        })
    }

    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        match self {
            HookV2::Plain(w) => w.configure(store, config),
            HookV2::TwoWay(w) => w.configure(store, config),
        }
    }
}

/// A kind that exists at both interface versions: the 0.1 or the 0.2 world, as the
/// plugin was built.
pub(crate) enum Versioned<V1, V2> {
    V1(V1),
    V2(V2),
}

impl<A: World, B: World> World for Versioned<A, B> {
    const KIND: PluginKind = B::KIND;
    type Pre = Versioned<A::Pre, B::Pre>;

    fn pre(pre: InstancePre<StoreState>, interface: Interface) -> wasmtime::Result<Self::Pre> {
        Ok(match interface {
            Interface::V1 => Versioned::V1(A::pre(pre, interface)?),
            Interface::V2 => Versioned::V2(B::pre(pre, interface)?),
        })
    }

    fn engine(pre: &Self::Pre) -> &Engine {
        match pre {
            Versioned::V1(p) => A::engine(p),
            Versioned::V2(p) => B::engine(p),
        }
    }

    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        Ok(match pre {
            Versioned::V1(p) => Versioned::V1(A::instantiate(p, store)?),
            Versioned::V2(p) => Versioned::V2(B::instantiate(p, store)?),
        })
    }

    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &[(String, String)],
    ) -> wasmtime::Result<Result<EntryFields, String>> {
        match self {
            Versioned::V1(w) => w.configure(store, config),
            Versioned::V2(w) => w.configure(store, config),
        }
    }
}

impl<A, B> Versioned<A, B> {
    /// The 0.1 world; a 0.1 call on a 0.2 plugin is an internal error.
    fn v1(&self) -> wasmtime::Result<&A> {
        match self {
            Versioned::V1(w) => Ok(w),
            Versioned::V2(_) => mismatch(),
        }
    }

    /// The 0.2 world; a 0.2 call on a 0.1 plugin is an internal error.
    fn v2(&self) -> wasmtime::Result<&B> {
        match self {
            Versioned::V2(w) => Ok(w),
            Versioned::V1(_) => mismatch(),
        }
    }
}

/// A filter, at either interface version.
pub(crate) type Filter = Versioned<legacy::filter::Filter, filter::Filter>;
/// A comparator, at either interface version.
pub(crate) type Comparator = Versioned<legacy::comparator::Comparator, comparator::Comparator>;
/// An annotator (0.2 only).
pub(crate) type Annotator = annotator::Annotator;
/// A resolver (0.2.1 on).
pub(crate) type Resolver = resolver::Resolver;
/// A hook, at either interface version.
pub(crate) type Hook = Versioned<legacy::hook::Hook, HookV2>;

impl Filter {
    /// A 0.2 filter's verdicts on a column batch: `None` includes, `Some(reason)` excludes.
    pub(crate) fn filter(
        &self,
        store: &mut Store<StoreState>,
        side: Side,
        entries: &Entries,
    ) -> wasmtime::Result<Vec<Option<String>>> {
        let export = self.v2()?.blobsync_plugin_filter_plugin();
        export.call_filter(store, side, entries)
    }

    /// A 0.1 filter's verdicts on records, as 0.2's.
    pub(crate) fn filter_v1(
        &self,
        store: &mut Store<StoreState>,
        side: Side,
        entries: &[legacy::types::Entry],
    ) -> wasmtime::Result<Vec<Option<String>>> {
        let export = self.v1()?.blobsync_plugin_filter_plugin();
        let verdicts = export.call_filter(store, side.into(), entries)?;
        Ok(verdicts.into_iter().map(legacy::verdict).collect())
    }
}

impl Comparator {
    /// A 0.2 comparator's decisions on column batches of the pairs' two sides.
    pub(crate) fn compare(
        &self,
        store: &mut Store<StoreState>,
        source: &Entries,
        destination: &Entries,
    ) -> wasmtime::Result<Vec<Decision>> {
        let export = self.v2()?.blobsync_plugin_comparator_plugin();
        export.call_compare(store, source, destination)
    }

    /// A 0.1 comparator's decisions on pair records, as 0.2's.
    pub(crate) fn compare_v1(
        &self,
        store: &mut Store<StoreState>,
        pairs: &[legacy::types::Pair],
    ) -> wasmtime::Result<Vec<Decision>> {
        let export = self.v1()?.blobsync_plugin_comparator_plugin();
        let decisions = export.call_compare(store, pairs)?;
        Ok(decisions.into_iter().map(legacy::decision).collect())
    }
}

impl Annotator {
    pub(crate) fn annotate(
        &self,
        store: &mut Store<StoreState>,
        entries: &Entries,
    ) -> wasmtime::Result<Vec<Annotation>> {
        self.blobsync_plugin_annotator_plugin()
            .call_annotate(store, entries)
    }
}

impl Resolver {
    pub(crate) fn resolve(
        &self,
        store: &mut Store<StoreState>,
        conflicts: &[TwoWayConflict],
    ) -> wasmtime::Result<Vec<Resolution>> {
        self.blobsync_plugin_resolver_plugin()
            .call_resolve(store, conflicts)
    }
}

/// The resolver world's records.
pub use resolver::blobsync::plugin::two_way::{
    Choice, Conflict as TwoWayConflict, DirectedEvent, Direction, Facts as TwoWayFacts, PairSide,
    Resolution, SettledConflict,
};

impl Hook {
    /// Delivers events: with their directions to a two-way hook, without to the others.
    pub(crate) fn on_events(
        &self,
        store: &mut Store<StoreState>,
        events: &[DirectedEvent],
    ) -> wasmtime::Result<()> {
        match self {
            Versioned::V2(HookV2::TwoWay(h)) => h
                .blobsync_plugin_two_way_hook_plugin()
                .call_on_events(store, events),
            Versioned::V2(HookV2::Plain(h)) => {
                let events: Vec<Event> = events.iter().map(|e| e.event.clone()).collect();
                h.blobsync_plugin_hook_plugin()
                    .call_on_events(store, &events)
            }
            Versioned::V1(h) => {
                let events: Vec<_> = events.iter().map(|e| legacy::event(&e.event)).collect();
                h.blobsync_plugin_hook_plugin()
                    .call_on_events(store, &events)
            }
        }
    }

    /// Delivers conflicts to a two-way hook; the others do not hear of them.
    pub(crate) fn on_conflicts(
        &self,
        store: &mut Store<StoreState>,
        conflicts: &[SettledConflict],
    ) -> wasmtime::Result<()> {
        match self {
            Versioned::V2(HookV2::TwoWay(h)) => h
                .blobsync_plugin_two_way_hook_plugin()
                .call_on_conflicts(store, conflicts),
            _ => Ok(()),
        }
    }

    pub(crate) fn on_complete(
        &self,
        store: &mut Store<StoreState>,
        summary: &Summary,
    ) -> wasmtime::Result<()> {
        match self {
            Versioned::V2(HookV2::TwoWay(h)) => h
                .blobsync_plugin_two_way_hook_plugin()
                .call_on_complete(store, summary),
            Versioned::V2(HookV2::Plain(h)) => h
                .blobsync_plugin_hook_plugin()
                .call_on_complete(store, summary),
            Versioned::V1(h) => h
                .blobsync_plugin_hook_plugin()
                .call_on_complete(store, &legacy::summary(summary)),
        }
    }
}
