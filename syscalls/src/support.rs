//! Support levels recorded in the LibOS dispatch table.

/// How completely Selkie implements a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Linux semantics.
    Full,
    /// Works for the common cases; the note says what is missing.
    Partial(&'static str),
    /// Listed for documentation; returns ENOSYS.
    NotImplemented,
}
