//! The three plugin worlds, each with its typed pre-instance: how to instantiate and
//! configure a plugin of that kind.

use wasmtime::component::InstancePre;
use wasmtime::{Engine, Store};

use super::bindings::{comparator, filter, hook};
use super::runtime::StoreState;
use super::{ComparatorInfo, PluginKind};

/// One plugin world: its typed pre-instance and how to instantiate and configure it.
// The generated `call_configure` takes `&Vec`, so the trait does too.
#[allow(clippy::ptr_arg)]
pub(crate) trait World: Sized + 'static {
    /// The kind of plugin that targets this world.
    const KIND: PluginKind;
    /// The pre-instantiated component, typed for the world.
    type Pre: Send + Sync + 'static;
    fn pre(pre: InstancePre<StoreState>) -> wasmtime::Result<Self::Pre>;
    fn engine(pre: &Self::Pre) -> &Engine;
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self>;
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>>;
}

impl World for filter::Filter {
    const KIND: PluginKind = PluginKind::Filter;
    type Pre = filter::FilterPre<StoreState>;
    fn pre(pre: InstancePre<StoreState>) -> wasmtime::Result<Self::Pre> {
        filter::FilterPre::new(pre)
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        pre.engine()
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_filter_plugin()
            .call_configure(store, config)?
            .map(|()| None))
    }
}

impl World for comparator::Comparator {
    const KIND: PluginKind = PluginKind::Comparator;
    type Pre = comparator::ComparatorPre<StoreState>;
    fn pre(pre: InstancePre<StoreState>) -> wasmtime::Result<Self::Pre> {
        comparator::ComparatorPre::new(pre)
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        pre.engine()
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_comparator_plugin()
            .call_configure(store, config)?
            .map(Some))
    }
}

impl World for hook::Hook {
    const KIND: PluginKind = PluginKind::Hook;
    type Pre = hook::HookPre<StoreState>;
    fn pre(pre: InstancePre<StoreState>) -> wasmtime::Result<Self::Pre> {
        hook::HookPre::new(pre)
    }
    fn engine(pre: &Self::Pre) -> &Engine {
        pre.engine()
    }
    fn instantiate(pre: &Self::Pre, store: &mut Store<StoreState>) -> wasmtime::Result<Self> {
        pre.instantiate(store)
    }
    fn configure(
        &self,
        store: &mut Store<StoreState>,
        config: &Vec<(String, String)>,
    ) -> wasmtime::Result<Result<Option<ComparatorInfo>, String>> {
        Ok(self
            .blobsync_plugin_hook_plugin()
            .call_configure(store, config)?
            .map(|()| None))
    }
}
