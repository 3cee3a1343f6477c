//! The codec: [`Writer`] and [`Reader`], the field traits [`Put`] and
//! [`Get`], and the encodings every protocol shares.
//!
//! Both traits take the protocol's marker type `P` (an empty enum each
//! protocol crate declares): the encodings here are generic over it, and a
//! protocol crate implements `Put<Wire>`/`Get<'_, Wire>` for the types of
//! its domain (`selkie_fs::Kind`, `core::net::SocketAddrV4`), which the
//! orphan rule allows because the marker is its own.
use crate::Errno;
use alloc::string::String;
use alloc::vec::Vec;
use core::marker::PhantomData;

/// Why bytes are not a well-formed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// It ends inside a field.
    Truncated,
    /// An op code this version does not know.
    BadOp(u32),
    /// A `bool`, a tag or another field out of range.
    BadValue,
    /// A name or path that is not UTF-8.
    BadUtf8,
    /// Bytes are left after the last field.
    Trailing,
}

impl From<DecodeError> for Errno {
    /// The status a server answers a malformed request with.
    fn from(e: DecodeError) -> Errno {
        match e {
            DecodeError::BadOp(_) => Errno::ENOSYS,
            DecodeError::BadValue | DecodeError::BadUtf8 => Errno::EINVAL,
            DecodeError::Truncated | DecodeError::Trailing => Errno::EPROTO,
        }
    }
}

/// A message does not fit its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooBig;

/// A message of protocol `P` being written into a buffer it must not
/// outgrow.
pub struct Writer<'b, P> {
    buf: &'b mut [u8],
    len: usize,
    protocol: PhantomData<fn() -> P>,
}

impl<'b, P> Writer<'b, P> {
    pub fn new(buf: &'b mut [u8]) -> Self {
        Writer {
            buf,
            len: 0,
            protocol: PhantomData,
        }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.len
    }
    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Bytes left before the buffer ends.
    pub fn room(&self) -> usize {
        self.buf.len() - self.len
    }
    /// Drops what was written after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    /// Appends a field, whole or not at all.
    pub fn put<V: Put<P> + ?Sized>(&mut self, v: &V) -> Result<(), TooBig> {
        let mark = self.len;
        v.put(self).inspect_err(|_| self.len = mark)
    }
    /// The `n` bytes at the end, reserved.
    fn reserve(&mut self, n: usize) -> Result<&mut [u8], TooBig> {
        let start = self.len;
        let end = start.checked_add(n).filter(|&e| e <= self.buf.len());
        self.len = end.ok_or(TooBig)?;
        Ok(&mut self.buf[start..self.len])
    }
    /// Appends raw bytes (no length before them).
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), TooBig> {
        self.reserve(b.len())?.copy_from_slice(b);
        Ok(())
    }
    /// Overwrites bytes already written at `at` (nothing when they were not
    /// all written).
    pub fn patch(&mut self, at: usize, b: &[u8]) {
        let end = at.saturating_add(b.len());
        if let Some(dst) = self.buf[..self.len].get_mut(at..end) {
            dst.copy_from_slice(b);
        }
    }
    /// Appends a byte string of at most `max` bytes (fewer when the buffer
    /// ends first) that `fill` writes in place and sizes.
    pub fn fill<E: From<TooBig>>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<(), E> {
        let head = self.len;
        self.put(&0u32)?;
        let room = max.min(self.room()).min(u32::MAX as usize);
        let n = fill(self.reserve(room)?)?.min(room);
        self.len = head + 4 + n;
        self.patch(head, &(n as u32).to_le_bytes());
        Ok(())
    }
}

/// Reads a message of protocol `P` off the front of a buffer.
pub struct Reader<'a, P> {
    buf: &'a [u8],
    protocol: PhantomData<fn() -> P>,
}

impl<'a, P> Reader<'a, P> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader {
            buf,
            protocol: PhantomData,
        }
    }
    /// Reads a field.
    pub fn get<V: Get<'a, P>>(&mut self) -> Result<V, DecodeError> {
        V::get(self)
    }
    /// The next `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(DecodeError::Truncated)?;
        self.buf = tail;
        Ok(head)
    }
    /// Bytes not read yet.
    pub fn left(&self) -> usize {
        self.buf.len()
    }
    /// Checks that the message ends here.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.buf {
            [] => Ok(()),
            _ => Err(DecodeError::Trailing),
        }
    }
}

/// A value that encodes itself in protocol `P`.
pub trait Put<P> {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig>;
}

/// A value that decodes itself in protocol `P`, borrowing from the buffer
/// when it can.
pub trait Get<'a, P>: Sized {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError>;
}

/// Little-endian integers of every protocol.
macro_rules! ints {
    ($($t:ty)*) => {$(
        impl<P> Put<P> for $t {
            fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
                w.bytes(&self.to_le_bytes())
            }
        }
        impl<P> Get<'_, P> for $t {
            fn get(r: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
                let b = r.take(size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(b.try_into().map_err(|_| DecodeError::Truncated)?))
            }
        }
    )*};
}
ints!(u8 u16 u32 u64 i32 i64);

/// A `usize` is a `u64` on the wire (`BadValue` when it does not fit).
impl<P> Put<P> for usize {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&u64::try_from(*self).map_err(|_| TooBig)?)
    }
}

impl<P> Get<'_, P> for usize {
    fn get(r: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
        usize::try_from(r.get::<u64>()?).map_err(|_| DecodeError::BadValue)
    }
}

impl<P> Put<P> for bool {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&u8::from(*self))
    }
}

impl<P> Get<'_, P> for bool {
    fn get(r: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
        match r.get::<u8>()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadValue),
        }
    }
}

impl<P> Put<P> for [u8] {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&u32::try_from(self.len()).map_err(|_| TooBig)?)?;
        w.bytes(self)
    }
}

impl<'a, P> Get<'a, P> for &'a [u8] {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError> {
        let len = r.get::<u32>()?;
        r.take(usize::try_from(len).map_err(|_| DecodeError::Truncated)?)
    }
}

impl<P> Put<P> for str {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(self.as_bytes())
    }
}

impl<'a, P> Get<'a, P> for &'a str {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError> {
        core::str::from_utf8(r.get()?).map_err(|_| DecodeError::BadUtf8)
    }
}

impl<P> Put<P> for Vec<u8> {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(self.as_slice())
    }
}

impl<P> Put<P> for String {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(self.as_str())
    }
}

impl<P> Get<'_, P> for Vec<u8> {
    fn get(r: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
        r.get::<&[u8]>().map(<[u8]>::to_vec)
    }
}

impl<P> Get<'_, P> for String {
    fn get(r: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
        r.get::<&str>().map(String::from)
    }
}

impl<P, T: Put<P> + ?Sized> Put<P> for &T {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        (**self).put(w)
    }
}

impl<P, T: Put<P>> Put<P> for Option<T> {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&self.is_some())?;
        self.as_ref().map_or(Ok(()), |v| v.put(w))
    }
}

impl<'a, P, T: Get<'a, P>> Get<'a, P> for Option<T> {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError> {
        Ok(if r.get()? { Some(r.get()?) } else { None })
    }
}

impl<P> Put<P> for () {
    fn put(&self, _: &mut Writer<'_, P>) -> Result<(), TooBig> {
        Ok(())
    }
}

impl<P> Get<'_, P> for () {
    fn get(_: &mut Reader<'_, P>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl<P, A: Put<P>, B: Put<P>> Put<P> for (A, B) {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&self.0)?;
        w.put(&self.1)
    }
}

impl<'a, P, A: Get<'a, P>, B: Get<'a, P>> Get<'a, P> for (A, B) {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError> {
        Ok((r.get()?, r.get()?))
    }
}

impl<P, A: Put<P>, B: Put<P>, C: Put<P>> Put<P> for (A, B, C) {
    fn put(&self, w: &mut Writer<'_, P>) -> Result<(), TooBig> {
        w.put(&self.0)?;
        w.put(&self.1)?;
        w.put(&self.2)
    }
}

impl<'a, P, A: Get<'a, P>, B: Get<'a, P>, C: Get<'a, P>> Get<'a, P> for (A, B, C) {
    fn get(r: &mut Reader<'a, P>) -> Result<Self, DecodeError> {
        Ok((r.get()?, r.get()?, r.get()?))
    }
}

/// A message that encodes itself whole (a protocol's `Request`, which
/// [`requests!`](crate::requests) makes one).
pub trait Encode {
    /// Encodes the message into `buf`: its length.
    fn encode(&self, buf: &mut [u8]) -> Result<usize, TooBig>;
}

/// `Put` and `Get` for a struct of protocol `$p`, as its fields in order:
///
/// ```ignore
/// selkie_proto::record!(Wire, Stat { ino, kind, perm });
/// ```
#[macro_export]
macro_rules! record {
    ($p:ty, $t:ident { $($f:ident),* $(,)? }) => {
        impl $crate::Put<$p> for $t {
            fn put(
                &self,
                w: &mut $crate::Writer<'_, $p>,
            ) -> ::core::result::Result<(), $crate::TooBig> {
                $(w.put(&self.$f)?;)*
                ::core::result::Result::Ok(())
            }
        }
        impl $crate::Get<'_, $p> for $t {
            fn get(
                r: &mut $crate::Reader<'_, $p>,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                ::core::result::Result::Ok($t { $($f: r.get()?),* })
            }
        }
    };
}

/// `Put` and `Get` for a fieldless enum of protocol `$p`, as one byte per
/// variant (another byte is [`DecodeError::BadValue`]):
///
/// ```ignore
/// selkie_proto::tags!(Wire, XattrSet { Any = 0, Create = 1, Replace = 2 });
/// ```
#[macro_export]
macro_rules! tags {
    ($p:ty, $t:ident { $($v:ident = $tag:literal),* $(,)? }) => {
        impl $crate::Put<$p> for $t {
            fn put(
                &self,
                w: &mut $crate::Writer<'_, $p>,
            ) -> ::core::result::Result<(), $crate::TooBig> {
                let tag: u8 = match self {
                    $($t::$v => $tag,)*
                };
                w.put(&tag)
            }
        }
        impl $crate::Get<'_, $p> for $t {
            fn get(
                r: &mut $crate::Reader<'_, $p>,
            ) -> ::core::result::Result<Self, $crate::DecodeError> {
                match r.get::<u8>()? {
                    $($tag => ::core::result::Result::Ok($t::$v),)*
                    _ => ::core::result::Result::Err($crate::DecodeError::BadValue),
                }
            }
        }
    };
}

/// A protocol's request table: declares `pub enum Request<'a>` (each op's
/// variant and fields, borrowing names and data from the buffer) with
/// `encode`, `decode`, `op` and `too_big`, and makes it an [`Encode`].
///
/// ```ignore
/// selkie_proto::requests! {
///     in Wire;
///     /// `stat` → `Stat`.
///     Stat { ino: Ino } = 1, E2BIG;
///     /// `lookup` → `Ino`.
///     Lookup { dir: Ino, name: &'a str } = 2, ENAMETOOLONG;
/// }
/// ```
///
/// `in Wire` names the protocol whose encodings the fields use; each entry
/// is a variant, its fields, its op code, and the errno (an `Errno`
/// constant's name) of a request or response of that op that does not fit
/// the buffer. A request is `op: u32` followed by its fields, and must end
/// with its last field.
#[macro_export]
macro_rules! requests {
    (in $p:ty; $($(#[$doc:meta])* $name:ident { $($f:ident: $t:ty),* } = $op:literal, $full:ident;)*) => {
        /// A request: an op and its fields, borrowing names and data from
        /// the buffer. Each variant says what an ok response carries.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Request<'a> {
            $($(#[$doc])* $name { $($f: $t),* },)*
        }

        impl<'a> Request<'a> {
            /// Encodes the request into `buf`: its length.
            pub fn encode(
                &self,
                buf: &mut [u8],
            ) -> ::core::result::Result<usize, $crate::TooBig> {
                let mut w = $crate::Writer::<$p>::new(buf);
                match self {
                    $(Request::$name { $($f),* } => {
                        w.put::<u32>(&$op)?;
                        $(w.put($f)?;)*
                    })*
                }
                ::core::result::Result::Ok(w.len())
            }

            /// Decodes a request (never panics, whatever the bytes).
            pub fn decode(buf: &'a [u8]) -> ::core::result::Result<Self, $crate::DecodeError> {
                let mut r = $crate::Reader::<$p>::new(buf);
                let request = match r.get::<u32>()? {
                    $($op => Request::$name { $($f: r.get()?),* },)*
                    op => return ::core::result::Result::Err($crate::DecodeError::BadOp(op)),
                };
                r.finish()?;
                ::core::result::Result::Ok(request)
            }

            /// The op code.
            pub fn op(&self) -> u32 {
                match self {
                    $(Request::$name { .. } => $op,)*
                }
            }

            /// The errno of a request or response of this op that does not
            /// fit the buffer.
            pub fn too_big(&self) -> $crate::Errno {
                match self {
                    $(Request::$name { .. } => $crate::Errno::$full,)*
                }
            }
        }

        impl $crate::Encode for Request<'_> {
            fn encode(&self, buf: &mut [u8]) -> ::core::result::Result<usize, $crate::TooBig> {
                Request::encode(self, buf)
            }
        }
    };
}
