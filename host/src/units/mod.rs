//! The one grammar for sizes, durations and points in time. Every flag that takes one
//! parses it here (as a clap value parser), and so does a manifest's setting for a
//! built-in plugin: the host hands the built-in plugins normalised values.
//!
//! - **Sizes** ([`ByteSize`]): a number, decimals allowed, then an optional unit in any
//!   case: none or `B` is bytes; `K`, `M`, `G`, `T`, `P` and `KiB`…`PiB` (or `Ki`…`Pi`)
//!   are powers of 1024; `KB`…`PB` are powers of 1000. `10M` is 10 485 760 bytes, `10MB`
//!   10 000 000.
//! - **Durations** ([`Span`]): numbers with units, summed (`1h30m`), decimals allowed
//!   (`1.5d`): `ns`, `us` (`µs`), `ms`, `s`, `m`, `h`, `d` (24 hours), `w` (7 days), `M`
//!   (30 days), `y` (365 days) — rclone's meanings; a number alone is seconds.
//! - **Points in time** ([`Moment`]): ISO 8601 as azcopy reads it — `2026-01-31`,
//!   `2026-01-31T15:04`, `2026-01-31T15:04:05.5`, each optionally with `Z` or an offset
//!   (`+01:00`); without one it is UTC. A space may stand for the `T`.
//! - **Ages** ([`Age`]): a duration counted back from the run's start, or a point in time
//!   (rclone's `--max-age`).

mod age;
mod decimal;
mod moment;
mod size;
mod span;

/// The form the host hands a value to a built-in plugin in, whether it came from a flag
/// or a manifest: one function per kind of value, so both paths hand on the same text. It
/// is always a whole number in decimal, so the plugins read it with `str::parse` and keep
/// no grammar of their own.
pub trait Normal {
    /// Sizes in bytes; durations in nanoseconds; points in time in nanoseconds since the
    /// Unix epoch (negative before 1970); ages as nanoseconds back from the run's start, or
    /// for an age given as a date, `@` and its nanoseconds since the Unix epoch.
    fn normal(&self) -> String;
}

impl Normal for ByteSize {
    fn normal(&self) -> String {
        self.0.to_string()
    }
}

impl Normal for Span {
    fn normal(&self) -> String {
        self.0.as_nanos().to_string()
    }
}

impl Normal for Moment {
    /// Clamped to what `i64` nanoseconds hold (1677–2262): no file's time is outside it,
    /// so a limit beyond it passes or excludes every file just as the date itself would.
    fn normal(&self) -> String {
        let ns = self.0.as_nanosecond();
        ns.clamp(i64::MIN.into(), i64::MAX.into()).to_string()
    }
}

impl Normal for Age {
    /// An age back from the run's start stays one, so that in watch mode each run counts
    /// from its own start (the plugin gets the start as `blobsync.run-started-ms`).
    fn normal(&self) -> String {
        match self {
            Age::Back(span) => span.normal(),
            Age::At(at) => format!("@{}", at.normal()),
        }
    }
}

pub use age::Age;
pub use moment::Moment;
pub use size::ByteSize;
pub use span::Span;
