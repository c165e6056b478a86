//! What an import is: the [`Import`] trait every import folder implements (its name, what
//! it needs, its variables, its options, `resolve`, `run` and `check`), and the type-erased
//! handles the rest of the crate uses: [`ImportKind`] (a registered import) and [`Enabled`]
//! (an import with its validated options). The list of imports is [`super::registry`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use super::registry::IMPORTS;
use super::{Context, ImportReport};
use crate::check::Verdicts;
use crate::config::vars::Var;
use crate::config::{Common, ConfigError, Env, Validator};
use crate::mapping::{ImportMapping, Mapping};
use crate::outcome::Failure;

/// One import. Implemented by a unit struct in `src/imports/<name>/mod.rs` and listed once
/// in [`IMPORTS`]; nothing else in the crate names an import.
pub(crate) trait Import: Sync + 'static {
    /// The name in `INTEGRATOR_IMPORTS`, `--import`, metrics, logs and the plan file.
    const NAME: &'static str;
    /// Whether it reads Microsoft Graph: then the `ENTRA_*` settings are required and the
    /// tenants are resolved before it runs.
    const NEEDS_ENTRA: bool;
    /// Its own rows of the variable table (`halo-integrator vars`), in the README's order.
    const VARS: &'static [Var];
    /// Its section of the mapping file (`imports.<NAME>`, `clients.<client>.<NAME>`).
    type Section: crate::mapping::Section;
    /// Its validated options.
    type Options: fmt::Debug + Send + Sync + 'static;
    /// What it resolves in Halo once per run, before any import runs.
    type Resolved: Default;

    /// Reads and validates its variables (only when it is enabled); every error goes to `v`.
    /// `mapping` is its section of the mapping file, already checked.
    fn options(
        env: &Env,
        v: &mut Validator,
        common: &Common,
        mapping: ImportMapping<Self::Section>,
    ) -> Option<Self::Options>;

    /// Resolves what it needs in Halo before any import runs (a failure stops the run).
    async fn resolve(
        _ctx: &Context<'_>,
        _options: &Self::Options,
    ) -> Result<Self::Resolved, Failure> {
        Ok(Self::Resolved::default())
    }

    /// Runs the import; never panics on remote data.
    async fn run(
        ctx: &Context<'_>,
        options: &Self::Options,
        resolved: &Self::Resolved,
    ) -> ImportReport;

    /// `check`: probes, read-only, every assumption `run` makes; one verdict line each.
    async fn check(ctx: &Context<'_>, options: &Self::Options, verdicts: &mut Verdicts);
}

type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// [`Import`] without its types, for the registry.
pub(crate) trait Unit: Sync {
    fn name(&self) -> &'static str;
    fn needs_entra(&self) -> bool;
    fn vars(&self) -> &'static [Var];
    fn enable(&'static self, env: &Env, v: &mut Validator, common: &Common) -> Option<Enabled>;
    fn check_mapping(&self, mapping: &Mapping) -> Vec<ConfigError>;
    #[cfg(test)]
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema;
}

impl<I: Import> Unit for I {
    fn check_mapping(&self, mapping: &Mapping) -> Vec<ConfigError> {
        mapping
            .import::<I::Section>(I::NAME)
            .err()
            .unwrap_or_default()
    }

    #[cfg(test)]
    fn section_schema(&self, generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        generator.subschema_for::<I::Section>()
    }

    fn name(&self) -> &'static str {
        I::NAME
    }

    fn needs_entra(&self) -> bool {
        I::NEEDS_ENTRA
    }

    fn vars(&self) -> &'static [Var] {
        I::VARS
    }

    fn enable(&'static self, env: &Env, v: &mut Validator, common: &Common) -> Option<Enabled> {
        // The file's errors are reported by `Mapping::check`, for every import.
        let mapping = common.mapping.import(I::NAME).unwrap_or_default();
        let options = I::options(env, v, common, mapping)?;
        Some(Enabled(Arc::new(WithOptions::<I> {
            kind: ImportKind(self),
            options,
        })))
    }
}

/// A registered import: its name and what it needs. Compared, printed and serialized by name.
#[derive(Clone, Copy)]
pub struct ImportKind(&'static dyn Unit);

impl ImportKind {
    /// Every import this build knows, in the registry's order.
    pub fn all() -> impl Iterator<Item = ImportKind> {
        IMPORTS.iter().map(|u| ImportKind(*u))
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::all().find(|k| k.name() == name)
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// Whether the import reads Microsoft Graph (and so needs the `ENTRA_*` settings).
    pub fn needs_entra(self) -> bool {
        self.0.needs_entra()
    }

    /// Its rows of the variable table.
    pub fn vars(self) -> &'static [Var] {
        self.0.vars()
    }

    /// The known names, for error messages.
    pub(crate) fn names() -> String {
        Self::all().map(|k| k.name()).collect::<Vec<_>>().join(", ")
    }

    /// Its sections of the mapping file checked: every problem found.
    pub(crate) fn check_mapping(self, mapping: &Mapping) -> Vec<ConfigError> {
        self.0.check_mapping(mapping)
    }

    /// The JSON Schema of its section of the mapping file.
    #[cfg(test)]
    pub(crate) fn section_schema(
        self,
        generator: &mut schemars::SchemaGenerator,
    ) -> schemars::Schema {
        self.0.section_schema(generator)
    }

    /// Reads its options; `None` when they are invalid (the errors are in `v`).
    pub(crate) fn enable(self, env: &Env, v: &mut Validator, common: &Common) -> Option<Enabled> {
        self.0.enable(env, v, common)
    }
}

impl PartialEq for ImportKind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for ImportKind {}

impl fmt::Debug for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for ImportKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// An enabled import with its validated options (part of the [`crate::config::Config`]).
#[derive(Clone, Debug)]
pub struct Enabled(Arc<dyn Configured>);

impl Enabled {
    pub fn kind(&self) -> ImportKind {
        self.0.kind()
    }

    /// Resolves what the import needs in Halo; the result runs it.
    pub(crate) async fn resolve<'a>(
        &'a self,
        ctx: &'a Context<'a>,
    ) -> Result<Box<dyn Ready + 'a>, Failure> {
        self.0.resolve(ctx).await
    }

    pub(crate) async fn check<'a>(&'a self, ctx: &'a Context<'a>, verdicts: &'a mut Verdicts) {
        self.0.check(ctx, verdicts).await;
    }

    /// Its options, when they are `T` (the tests look at them).
    #[cfg(test)]
    pub(crate) fn options<T: 'static>(&self) -> Option<&T> {
        self.0.options().downcast_ref()
    }
}

/// [`Enabled`] without its types.
trait Configured: fmt::Debug + Send + Sync {
    fn kind(&self) -> ImportKind;
    fn resolve<'a>(
        &'a self,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Result<Box<dyn Ready + 'a>, Failure>>;
    fn check<'a>(&'a self, ctx: &'a Context<'a>, verdicts: &'a mut Verdicts)
    -> LocalFuture<'a, ()>;
    #[cfg(test)]
    fn options(&self) -> &dyn std::any::Any;
}

struct WithOptions<I: Import> {
    kind: ImportKind,
    options: I::Options,
}

impl<I: Import> fmt::Debug for WithOptions<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(I::NAME).field(&self.options).finish()
    }
}

impl<I: Import> Configured for WithOptions<I> {
    fn kind(&self) -> ImportKind {
        self.kind
    }

    fn resolve<'a>(
        &'a self,
        ctx: &'a Context<'a>,
    ) -> LocalFuture<'a, Result<Box<dyn Ready + 'a>, Failure>> {
        Box::pin(async move {
            let resolved = I::resolve(ctx, &self.options).await?;
            Ok(Box::new(WithResolved::<I> {
                options: &self.options,
                resolved,
            }) as Box<dyn Ready + 'a>)
        })
    }

    fn check<'a>(
        &'a self,
        ctx: &'a Context<'a>,
        verdicts: &'a mut Verdicts,
    ) -> LocalFuture<'a, ()> {
        Box::pin(I::check(ctx, &self.options, verdicts))
    }

    #[cfg(test)]
    fn options(&self) -> &dyn std::any::Any {
        &self.options
    }
}

/// An import resolved and ready to run.
pub(crate) trait Ready {
    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> LocalFuture<'a, ImportReport>;
}

struct WithResolved<'o, I: Import> {
    options: &'o I::Options,
    resolved: I::Resolved,
}

impl<I: Import> Ready for WithResolved<'_, I> {
    fn run<'a>(&'a self, ctx: &'a Context<'a>) -> LocalFuture<'a, ImportReport> {
        Box::pin(I::run(ctx, self.options, &self.resolved))
    }
}
