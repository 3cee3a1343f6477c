//! The client end's machinery: a [`Link`] sends requests over a
//! [`Transport`] and checks the status of what comes back; [`chunked`] cuts
//! bulk data into pieces that fit the buffers.
use crate::wire::{DecodeError, Encode, Reader};
use crate::{Errno, Transport};
use alloc::vec;
use alloc::vec::Vec;
use core::marker::PhantomData;
use core::ops::Range;

/// Why [`Link::connect`] (a protocol client's `connect`) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// The service is gone.
    Dead,
    /// The service refused the Hello (EPROTONOSUPPORT: another version).
    Refused(Errno),
    /// The service speaks this other version.
    Version(u32),
    /// The answer to the Hello is malformed.
    Malformed,
    /// The transport's buffers are smaller than the protocol's minimum.
    SmallBuffer(usize),
}

/// Why one call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// The transport reported [`Dead`](crate::Dead), now or before.
    Dead,
    /// The service answered this errno.
    Status(Errno),
    /// The response is malformed (a status out of range, a field that does
    /// not decode, bytes left over).
    Malformed,
    /// The request does not fit the buffer (it was not sent).
    TooBig,
}

/// A protocol client's end of a [`Transport`]: the transport, a request
/// buffer of its capacity, the response, and whether the service died.
///
/// `P` is the protocol (its marker type): responses are read with its
/// encodings. Once the transport reports [`Dead`](crate::Dead) every call
/// fails with [`CallError::Dead`] without asking it again.
pub struct Link<T, P> {
    transport: T,
    /// Where requests are encoded: the transport's capacity.
    request: Vec<u8>,
    response: Vec<u8>,
    dead: bool,
    protocol: PhantomData<fn() -> P>,
}

impl<T: Transport, P> Link<T, P> {
    /// A link over `transport`, with nothing said yet.
    pub fn new(transport: T) -> Self {
        let capacity = transport.capacity();
        Link {
            transport,
            request: vec![0; capacity],
            response: Vec::new(),
            dead: false,
            protocol: PhantomData,
        }
    }

    /// Opens the conversation: checks that the buffers hold `min_capacity`
    /// bytes, sends `hello`, and checks that the service answers `version`
    /// first (`answer` reads the version and what follows it).
    pub fn connect<R>(
        transport: T,
        min_capacity: usize,
        hello: &impl Encode,
        version: u32,
        answer: impl FnOnce(&mut Reader<'_, P>) -> Result<(u32, R), DecodeError>,
    ) -> Result<(Self, R), ConnectError> {
        let capacity = transport.capacity();
        if capacity < min_capacity {
            return Err(ConnectError::SmallBuffer(capacity));
        }
        let mut link = Link::new(transport);
        let (theirs, r) = link.call(hello, answer).map_err(|e| match e {
            CallError::Dead => ConnectError::Dead,
            CallError::Status(e) => ConnectError::Refused(e),
            CallError::Malformed | CallError::TooBig => ConnectError::Malformed,
        })?;
        if theirs != version {
            return Err(ConnectError::Version(theirs));
        }
        Ok((link, r))
    }

    /// Sends `req` and decodes an ok response with `answer`, which must
    /// read it to its end.
    pub fn call<R>(
        &mut self,
        req: &impl Encode,
        answer: impl FnOnce(&mut Reader<'_, P>) -> Result<R, DecodeError>,
    ) -> Result<R, CallError> {
        if self.dead {
            return Err(CallError::Dead);
        }
        let n = req
            .encode(&mut self.request)
            .map_err(|_| CallError::TooBig)?;
        if self
            .transport
            .call(&self.request[..n], &mut self.response)
            .is_err()
        {
            self.dead = true;
            return Err(CallError::Dead);
        }
        let mut r = Reader::new(&self.response);
        match r.get::<u32>() {
            Ok(0) => {}
            Ok(e @ 1..=4095) => return Err(CallError::Status(Errno::new(e as u16))),
            _ => return Err(CallError::Malformed),
        }
        let v = answer(&mut r).map_err(|_| CallError::Malformed)?;
        r.finish().map_err(|_| CallError::Malformed)?;
        Ok(v)
    }

    /// The buffers' size.
    pub fn capacity(&self) -> usize {
        self.request.len()
    }

    /// Whether the transport has reported the service dead.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport (for tests that look behind it).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }
}

/// `0..len` in pieces of at most `room` bytes (one empty piece when `len`
/// is 0: the call is still made, for its errors and side effects).
pub fn pieces(len: usize, room: usize) -> impl Iterator<Item = Range<usize>> {
    let room = room.max(1);
    (0..len.div_ceil(room).max(1)).map(move |i| i * room..len.min((i + 1) * room))
}

/// Runs `step` (bytes done of a piece) over the pieces of `0..len` until one
/// comes back short: the bytes done, or the error if none were (how a
/// `write` or a stream `send` larger than one buffer goes).
pub fn chunked(
    len: usize,
    room: usize,
    mut step: impl FnMut(Range<usize>) -> Result<usize, Errno>,
) -> Result<usize, Errno> {
    let mut done = 0;
    for piece in pieces(len, room) {
        let want = piece.len();
        match step(piece) {
            Ok(n) if n >= want => done += want,
            Ok(n) => return Ok(done + n),
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}
