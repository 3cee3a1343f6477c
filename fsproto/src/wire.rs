//! The codec: fields ([`Put`], [`Get`]) and the request table.
use alloc::string::String;
use alloc::vec::Vec;
use selkie_fs::{Ino, Kind, Stat, XattrSet};
use selkie_syscalls::errno::Errno;

/// Why bytes are not a well-formed message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// It ends inside a field.
    Truncated,
    /// An op code this version does not know.
    BadOp(u32),
    /// A `bool`, `Kind` or `XattrSet` byte out of range.
    BadValue,
    /// A name or path that is not UTF-8.
    BadUtf8,
    /// Bytes are left after the last field.
    Trailing,
}

impl From<DecodeError> for Errno {
    /// The status the server answers a malformed request with.
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

/// A message being written into a buffer it must not outgrow.
pub(crate) struct Writer<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    pub(crate) fn new(buf: &'b mut [u8]) -> Self {
        Writer { buf, len: 0 }
    }
    /// Bytes written so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    /// Drops what was written after the first `len` bytes.
    pub(crate) fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
    pub(crate) fn put<V: Put + ?Sized>(&mut self, v: &V) -> Result<(), TooBig> {
        v.put(self)
    }
    /// The `n` bytes at the end, reserved.
    fn reserve(&mut self, n: usize) -> Result<&mut [u8], TooBig> {
        let start = self.len;
        let end = start.checked_add(n).filter(|&e| e <= self.buf.len());
        self.len = end.ok_or(TooBig)?;
        Ok(&mut self.buf[start..self.len])
    }
    fn bytes(&mut self, b: &[u8]) -> Result<(), TooBig> {
        self.reserve(b.len())?.copy_from_slice(b);
        Ok(())
    }
    /// Overwrites bytes already written at `at`.
    pub(crate) fn patch(&mut self, at: usize, b: &[u8]) {
        if let Some(dst) = self.buf[..self.len].get_mut(at..at + b.len()) {
            dst.copy_from_slice(b);
        }
    }
    /// Appends a byte string of at most `max` bytes (fewer when the buffer
    /// ends first) that `fill` writes in place and sizes.
    pub(crate) fn fill<E: From<TooBig>>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<(), E> {
        let head = self.len;
        self.put(&0u32)?;
        let room = max.min(self.buf.len() - self.len).min(u32::MAX as usize);
        let n = fill(self.reserve(room)?)?.min(room);
        self.len = head + 4 + n;
        self.patch(head, &(n as u32).to_le_bytes());
        Ok(())
    }
}

/// Reads a message off the front of a buffer.
pub(crate) struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader(buf)
    }
    pub(crate) fn get<V: Get<'a>>(&mut self) -> Result<V, DecodeError> {
        V::get(self)
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.0.split_at_checked(n).ok_or(DecodeError::Truncated)?;
        self.0 = tail;
        Ok(head)
    }
    /// Checks that the message ends here.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        match self.0 {
            [] => Ok(()),
            _ => Err(DecodeError::Trailing),
        }
    }
}

/// A value that encodes itself.
pub(crate) trait Put {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig>;
}

/// A value that decodes itself, borrowing from the buffer when it can.
pub(crate) trait Get<'a>: Sized {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError>;
}

macro_rules! ints {
    ($($t:ty)*) => {$(
        impl Put for $t {
            fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
                w.bytes(&self.to_le_bytes())
            }
        }
        impl Get<'_> for $t {
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let b = r.take(size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(b.try_into().map_err(|_| DecodeError::Truncated)?))
            }
        }
    )*};
}
ints!(u8 u32 u64);

impl Put for bool {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&u8::from(*self))
    }
}

impl Get<'_> for bool {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.get::<u8>()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::BadValue),
        }
    }
}

impl Put for XattrSet {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        let tag: u8 = match self {
            XattrSet::Any => 0,
            XattrSet::Create => 1,
            XattrSet::Replace => 2,
        };
        w.put(&tag)
    }
}

impl Get<'_> for XattrSet {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.get::<u8>()? {
            0 => Ok(XattrSet::Any),
            1 => Ok(XattrSet::Create),
            2 => Ok(XattrSet::Replace),
            _ => Err(DecodeError::BadValue),
        }
    }
}

impl Put for [u8] {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&u32::try_from(self.len()).map_err(|_| TooBig)?)?;
        w.bytes(self)
    }
}

impl<'a> Get<'a> for &'a [u8] {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let len = r.get::<u32>()?;
        r.take(usize::try_from(len).map_err(|_| DecodeError::Truncated)?)
    }
}

impl Put for str {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(self.as_bytes())
    }
}

impl<'a> Get<'a> for &'a str {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        core::str::from_utf8(r.get()?).map_err(|_| DecodeError::BadUtf8)
    }
}

impl Get<'_> for Vec<u8> {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.get::<&[u8]>().map(<[u8]>::to_vec)
    }
}

impl Get<'_> for String {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.get::<&str>().map(String::from)
    }
}

impl<T: Put + ?Sized> Put for &T {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        (**self).put(w)
    }
}

impl<T: Put> Put for Option<T> {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&self.is_some())?;
        self.as_ref().map_or(Ok(()), |v| v.put(w))
    }
}

impl<'a, T: Get<'a>> Get<'a> for Option<T> {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(if r.get()? { Some(r.get()?) } else { None })
    }
}

impl Put for Kind {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        let (tag, dev) = match *self {
            Kind::File => (0u8, None),
            Kind::Dir => (1, None),
            Kind::Symlink => (2, None),
            Kind::CharDev(d) => (3, Some(d)),
            Kind::BlockDev(d) => (4, Some(d)),
            Kind::Fifo => (5, None),
            Kind::Socket => (6, None),
        };
        w.put(&tag)?;
        dev.map_or(Ok(()), |d| w.put(&d))
    }
}

impl Get<'_> for Kind {
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.get::<u8>()? {
            0 => Kind::File,
            1 => Kind::Dir,
            2 => Kind::Symlink,
            3 => Kind::CharDev(r.get()?),
            4 => Kind::BlockDev(r.get()?),
            5 => Kind::Fifo,
            6 => Kind::Socket,
            _ => return Err(DecodeError::BadValue),
        })
    }
}

impl Put for () {
    fn put(&self, _: &mut Writer<'_>) -> Result<(), TooBig> {
        Ok(())
    }
}

impl Get<'_> for () {
    fn get(_: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(())
    }
}

impl<A: Put, B: Put> Put for (A, B) {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&self.0)?;
        w.put(&self.1)
    }
}

impl<'a, A: Get<'a>, B: Get<'a>> Get<'a> for (A, B) {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok((r.get()?, r.get()?))
    }
}

impl<A: Put, B: Put, C: Put> Put for (A, B, C) {
    fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
        w.put(&(&self.0, &self.1))?;
        w.put(&self.2)
    }
}

impl<'a, A: Get<'a>, B: Get<'a>, C: Get<'a>> Get<'a> for (A, B, C) {
    fn get(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok((r.get()?, r.get()?, r.get()?))
    }
}

/// A struct as its fields in order.
macro_rules! record {
    ($t:ident { $($f:ident),* }) => {
        impl Put for $t {
            fn put(&self, w: &mut Writer<'_>) -> Result<(), TooBig> {
                $(w.put(&self.$f)?;)*
                Ok(())
            }
        }
        impl Get<'_> for $t {
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok($t { $($f: r.get()?),* })
            }
        }
    };
}
record!(Stat {
    ino,
    kind,
    perm,
    nlink,
    uid,
    gid,
    size,
    rdev,
    atime_ns,
    mtime_ns,
    ctime_ns
});

/// The request table: each op's variant, fields, code, and the errno of a
/// request or response of it that does not fit.
macro_rules! requests {
    ($($(#[$doc:meta])* $name:ident { $($f:ident: $t:ty),* } = $op:literal, $full:ident;)*) => {
        /// A request: an op and its fields, borrowing names and data from
        /// the buffer. Each variant says what an ok response carries.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Request<'a> {
            $($(#[$doc])* $name { $($f: $t),* },)*
        }

        impl<'a> Request<'a> {
            /// Encodes the request into `buf`: its length.
            pub fn encode(&self, buf: &mut [u8]) -> Result<usize, TooBig> {
                let mut w = Writer::new(buf);
                match self {
                    $(Request::$name { $($f),* } => {
                        w.put::<u32>(&$op)?;
                        $(w.put($f)?;)*
                    })*
                }
                Ok(w.len())
            }

            /// Decodes a request (never panics, whatever the bytes).
            pub fn decode(buf: &'a [u8]) -> Result<Self, DecodeError> {
                let mut r = Reader::new(buf);
                let request = match r.get::<u32>()? {
                    $($op => Request::$name { $($f: r.get()?),* },)*
                    op => return Err(DecodeError::BadOp(op)),
                };
                r.finish()?;
                Ok(request)
            }

            /// The errno of a request or response of this op that does not
            /// fit the buffer.
            pub(crate) fn too_big(&self) -> Errno {
                match self {
                    $(Request::$name { .. } => Errno::$full,)*
                }
            }
        }
    };
}

requests! {
    /// Opens the conversation → `version: u32, root: Ino` (EPROTONOSUPPORT
    /// for another version).
    Hello { version: u32 } = 0, E2BIG;
    /// `stat` → `Stat`.
    Stat { ino: Ino } = 1, E2BIG;
    /// `lookup` → `Ino`.
    Lookup { dir: Ino, name: &'a str } = 2, ENAMETOOLONG;
    /// `resolve_in` → `Ino`.
    ResolveIn { root: Ino, cwd: Ino, path: &'a str, follow: bool } = 3, ENAMETOOLONG;
    /// `resolve_parent_in` → `dir: Ino, name: str`.
    ResolveParentIn { root: Ino, cwd: Ino, path: &'a str } = 4, ENAMETOOLONG;
    /// `create` → `Ino`.
    Create { dir: Ino, name: &'a str, kind: Kind, perm: u32, uid: u32, gid: u32, now: u64 } = 5, ENAMETOOLONG;
    /// `symlink` → `Ino`.
    Symlink { dir: Ino, name: &'a str, target: &'a [u8], now: u64 } = 6, ENAMETOOLONG;
    /// `link` → nothing.
    Link { dir: Ino, name: &'a str, ino: Ino, now: u64 } = 7, ENAMETOOLONG;
    /// `unlink` → nothing.
    Unlink { dir: Ino, name: &'a str, now: u64 } = 8, ENAMETOOLONG;
    /// `rmdir` → nothing.
    Rmdir { dir: Ino, name: &'a str, now: u64 } = 9, ENAMETOOLONG;
    /// `rename` → nothing.
    Rename { odir: Ino, oname: &'a str, ndir: Ino, nname: &'a str, now: u64 } = 10, ENAMETOOLONG;
    /// `read_at` of up to `len` bytes (fewer if the response buffer ends
    /// first) → the bytes read. `data` is a run of these.
    ReadAt { ino: Ino, off: u64, len: u32 } = 11, E2BIG;
    /// `write_at` → `written: u64`.
    WriteAt { ino: Ino, off: u64, data: &'a [u8], now: u64 } = 12, E2BIG;
    /// `overwrite` → nothing.
    Overwrite { ino: Ino, off: u64, data: &'a [u8] } = 13, E2BIG;
    /// `truncate` → nothing.
    Truncate { ino: Ino, len: u64, now: u64 } = 14, E2BIG;
    /// One page of `readdir`, from entry `start` → `count: u32, more: bool`,
    /// then `count` entries `name: str, ino: Ino, kind: Kind`; `more` says
    /// whether entries follow the page.
    Readdir { dir: Ino, start: u64 } = 15, E2BIG;
    /// `readlink` → the target bytes.
    Readlink { ino: Ino } = 16, ENAMETOOLONG;
    /// `path_in` → `str`.
    PathIn { root: Ino, ino: Ino } = 17, ENAMETOOLONG;
    /// `chmod` → nothing.
    Chmod { ino: Ino, perm: u32, now: u64 } = 18, E2BIG;
    /// `chown` → nothing.
    Chown { ino: Ino, uid: u32, gid: u32, now: u64 } = 19, E2BIG;
    /// `set_times` → nothing.
    SetTimes { ino: Ino, atime: Option<u64>, mtime: Option<u64>, now: u64 } = 20, E2BIG;
    /// `get_xattr` → the value bytes.
    GetXattr { ino: Ino, name: &'a [u8] } = 21, ERANGE;
    /// `set_xattr` → nothing.
    SetXattr { ino: Ino, name: &'a [u8], value: &'a [u8], how: XattrSet, now: u64 } = 22, E2BIG;
    /// `list_xattr` → the NUL-terminated names, as one byte string.
    ListXattr { ino: Ino } = 23, E2BIG;
    /// `remove_xattr` → nothing.
    RemoveXattr { ino: Ino, name: &'a [u8], now: u64 } = 24, ERANGE;
    /// `usage` → `used: u64, capacity: u64`.
    Usage {} = 25, E2BIG;
    /// `open` → nothing (always ok).
    Open { ino: Ino } = 26, E2BIG;
    /// `release` → nothing (always ok).
    Release { ino: Ino } = 27, E2BIG;
    /// `inode_count` → `u64`.
    InodeCount {} = 28, E2BIG;
    /// `sync` → nothing.
    Sync {} = 29, E2BIG;
    /// `lookup`, then `stat` of what it found → `Ino, Stat` (the client's
    /// cache learns both in one round trip).
    LookupStat { dir: Ino, name: &'a str } = 30, ENAMETOOLONG;
}
