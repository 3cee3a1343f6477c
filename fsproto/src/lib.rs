//! The IPC protocol of Selkie's fs service task, free of seL4 and of
//! `unsafe`: the codec, the client end ([`Client`], a
//! [`FileSystem`](selkie_fs::FileSystem) that forwards every call) and the
//! server end ([`serve`]).
//!
//! The machinery is `selkie-proto`'s, shared with the net service's
//! protocol (`selkie-netproto`): the [`Transport`], the codec and its
//! macros, the client's link and the [`Loopback`]; this crate holds the fs
//! encodings ([`Wire`]), the request table, the client with its cache, and
//! the server's dispatch.
//!
//! In service-task mode the file system runs in a seL4 task of its own. The
//! LibOS and that task share a request buffer and a response buffer (frames
//! mapped into both, [`Transport::capacity`] bytes each: 128 KiB on seL4);
//! message registers carry only lengths. One request is in flight at a time:
//! the client writes a request, the server answers it in place.
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
//! where a status other than 0 is a positive Linux errno and nothing follows
//! it. The field types:
//!
//! | type | encoding |
//! | --- | --- |
//! | `u8`, `u32`, `u64` (and `Ino`) | 1, 4, 8 bytes |
//! | `bool` | one byte, 0 or 1 |
//! | byte string (`&[u8]`: data, names, paths) | `len: u32`, then `len` bytes |
//! | `Option<u64>` | a `bool`, then the `u64` when it is 1 |
//! | `Kind` | one byte: file 0, dir 1, symlink 2, char device 3 + `dev: u64`, block device 4 + `dev: u64`, FIFO 5, socket 6 |
//! | `XattrSet` | one byte: any 0, create 1, replace 2 |
//! | `Stat` | `ino`, `kind`, `perm: u32`, `nlink`, `uid: u32`, `gid: u32`, `size`, `rdev`, `atime_ns`, `mtime_ns`, `ctime_ns` |
//!
//! [`Request`] lists the ops, their codes, fields and answers: one per
//! method of [`FileSystem`](selkie_fs::FileSystem), plus
//! [`Hello`](Request::Hello), the first message, which checks [`VERSION`]
//! and answers the root directory (`root()` is never asked again). A message
//! must end with its last field: trailing bytes make it malformed.
//!
//! # Limits
//!
//! Nothing is ever written past a buffer. The client cuts bulk transfers to
//! fit: `read_at`, `write_at` and `overwrite` go in pieces, `data` is a run
//! of `ReadAt`s, `readdir` comes in pages. A request that still cannot fit
//! (a name or an attribute longer than the buffer) fails in the client, and a
//! response that cannot fit fails in the server, both with the op's own
//! errno for "too long": ENAMETOOLONG for names and paths, ERANGE for
//! attribute names and values, E2BIG otherwise.
//!
//! A malformed request gets an error response: ENOSYS for an unknown op,
//! EINVAL for a field out of range, EPROTO for
//! one that ends early or has bytes left over. A Hello with another version
//! gets EPROTONOSUPPORT. If the service dies ([`Dead`]), the client answers
//! every later call with EIO.
#![no_std]

extern crate alloc;
#[cfg(test)]
extern crate std;

mod cache;
mod client;
mod server;
mod wire;

pub use client::Client;
pub use selkie_proto::{ConnectError, Dead, DecodeError, TooBig, Transport};
pub use server::{serve, FsServer, Loopback};
pub use wire::{Request, Wire};

/// The protocol version a [`Request::Hello`] carries; the server refuses any
/// other.
pub const VERSION: u32 = 4;

/// The smallest buffer a [`Client`] works with: every fixed-size message,
/// a rename of two NAME_MAX names, and data pieces of 960 bytes. Paths up to
/// PATH_MAX need `PATH_MAX + 64` bytes (a longer request fails with
/// ENAMETOOLONG).
pub const MIN_CAPACITY: usize = 1024;

#[cfg(test)]
mod tests;
