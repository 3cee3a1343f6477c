//! What Selkie's service protocols share, free of seL4 and of `unsafe`:
//! the [`Transport`] a client calls through, the wire codec ([`Writer`],
//! [`Reader`], the field traits [`Put`] and [`Get`] and the encodings of
//! integers, booleans, byte strings, strings, options and tuples), the
//! macros that declare a protocol's requests ([`requests!`]), records
//! ([`record!`]) and enums ([`tags!`]), the client's [`Link`] and the
//! server's [`respond`] and [`Loopback`].
//!
//! A protocol crate (`selkie-fsproto` for the fs service task,
//! `selkie-netproto` for the net service task) declares a marker type for
//! its encodings (`pub enum Wire {}`), the encodings of its own types, its
//! request table, a client that implements its domain's trait by calling
//! through a [`Link`], and a `serve` function that answers one request from
//! an object of that trait through [`respond`].
//!
//! # The call model
//!
//! A service task and its client share a request buffer and a response
//! buffer (frames mapped into both, [`Transport::capacity`] bytes each);
//! message registers carry only lengths. One request is in flight at a
//! time: the client writes a request, the server answers it in place.
//!
//! # Wire format
//!
//! Every integer is little-endian. A **request** is
//!
//! ```text
//! op: u32 | fields of that op
//! ```
//!
//! and a **response** is
//!
//! ```text
//! status: u32 | fields, when status is 0
//! ```
//!
//! where a status other than 0 is a positive Linux errno (1..=4095) and
//! nothing follows it. A message must end with its last field: trailing
//! bytes make it malformed. The shared encodings:
//!
//! | type | encoding |
//! | --- | --- |
//! | `u8`, `u16`, `u32`, `u64`, `i32`, `i64` | 1, 2, 4, 4, 8 bytes (two's complement) |
//! | `usize` | a `u64` |
//! | `bool` | one byte, 0 or 1 |
//! | byte string (`&[u8]`) | `len: u32`, then `len` bytes |
//! | `&str` | a byte string that must be UTF-8 |
//! | `Option<T>` | a `bool`, then the `T` when it is 1 |
//! | `()` | nothing |
//! | tuples, [`record!`] structs | their fields in order |
//! | [`tags!`] enums | one byte per variant |
//!
//! A malformed request gets an error response (`From<DecodeError> for
//! Errno`): ENOSYS for an unknown op, EINVAL for a field out of range or a
//! string that is not UTF-8, EPROTO for one that ends early or has bytes
//! left over. A client answers a malformed response, and every call after
//! the transport reported [`Dead`], with EIO.
//!
//! # Limits
//!
//! Nothing is ever written past a buffer: [`Writer`] refuses ([`TooBig`]),
//! a request that does not fit is not sent ([`CallError::TooBig`]), a
//! response that does not fit fails in the server ([`Fail::Full`]), each
//! with the op's own errno for "too long"; bulk transfers are cut to fit by
//! the client ([`chunked`]).
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod client;
mod server;
mod wire;

pub use client::{chunked, pieces, CallError, ConnectError, Link};
pub use selkie_syscalls::errno::Errno;
pub use server::{respond, Fail, Loopback, Server};
pub use wire::{DecodeError, Encode, Get, Put, Reader, TooBig, Writer};

use alloc::vec::Vec;

/// Carries one request to a service and brings its response back.
pub trait Transport {
    /// Sends `request` (at most [`capacity`](Self::capacity) bytes), waits
    /// for the answer, and puts it in `response` (replacing what was there).
    /// [`Dead`] means the service is gone for good.
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead>;
    /// The largest request or response in bytes (the shared buffers' size).
    fn capacity(&self) -> usize;
}

/// The service is gone (it faulted, panicked or broke the protocol).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dead;

#[cfg(test)]
mod tests;
