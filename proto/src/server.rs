//! The server end's machinery: [`respond`] writes a status and an answer,
//! and [`Loopback`] is a [`Transport`] that serves in-process.
use crate::wire::{TooBig, Writer};
use crate::{Dead, Errno, Transport};
use alloc::vec;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

/// Why a request got no ok response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fail {
    /// The service answered this errno.
    Errno(Errno),
    /// The response does not fit the buffer.
    Full,
}

impl Fail {
    /// The status to answer: the errno, or `too_big` for a response that
    /// does not fit (the op's own "too long" errno).
    pub fn errno(self, too_big: Errno) -> Errno {
        match self {
            Fail::Errno(e) => e,
            Fail::Full => too_big,
        }
    }
}

impl From<Errno> for Fail {
    fn from(e: Errno) -> Self {
        Fail::Errno(e)
    }
}

impl From<TooBig> for Fail {
    fn from(_: TooBig) -> Self {
        Fail::Full
    }
}

/// Writes a response of protocol `P` into `response`: its length. The
/// status 0 goes first, then what `answer` writes; if `answer` fails, what
/// it wrote is dropped and the status is its errno. A buffer too small for
/// even the status (4 bytes) gets an empty response, and `answer` is not
/// called. Nothing is ever written past `response`.
pub fn respond<P>(
    response: &mut [u8],
    answer: impl FnOnce(&mut Writer<'_, P>) -> Result<(), Errno>,
) -> usize {
    let mut w = Writer::new(response);
    if w.put(&0u32).is_err() {
        return 0;
    }
    if let Err(e) = answer(&mut w) {
        w.truncate(0);
        let _ = w.put(&u32::from(e.value()));
    }
    w.len()
}

/// The service end of a protocol: answers one encoded request, writing the
/// response into `response`, and returns its length (never more than
/// `response.len()`; never panics).
pub trait Server {
    fn serve(&mut self, request: &[u8], response: &mut [u8]) -> usize;
}

/// A [`Transport`] that serves requests in-process from its own server,
/// through a response buffer of `capacity` bytes as the shared frames
/// would: for tests, fuzzing, and a LibOS that wants a protocol without a
/// task. It dereferences to its server.
pub struct Loopback<S> {
    /// The server.
    pub server: S,
    capacity: usize,
    /// The "shared" response buffer.
    buf: Vec<u8>,
    /// Requests served so far.
    pub served: u64,
}

impl<S> Loopback<S> {
    /// Serves `server` (or what converts into it: a protocol's server
    /// wraps the object it serves) through buffers of `capacity` bytes.
    pub fn new(server: impl Into<S>, capacity: usize) -> Self {
        Loopback {
            server: server.into(),
            capacity,
            buf: vec![0; capacity],
            served: 0,
        }
    }
}

impl<S> Deref for Loopback<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.server
    }
}

impl<S> DerefMut for Loopback<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.server
    }
}

impl<S: Server> Transport for Loopback<S> {
    /// A request longer than the buffer would not fit the shared frames:
    /// the "service" is then [`Dead`], as the seL4 transport says.
    fn call(&mut self, request: &[u8], response: &mut Vec<u8>) -> Result<(), Dead> {
        if request.len() > self.capacity {
            return Err(Dead);
        }
        let n = self.server.serve(request, &mut self.buf);
        self.served += 1;
        response.clear();
        response.extend_from_slice(&self.buf[..n.min(self.capacity)]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.capacity
    }
}
