//! The codec: the fs protocol's encodings of `selkie_fs` types and the
//! request table, over the shared machinery of `selkie-proto`.
use selkie_fs::{Ino, Kind, Stat, XattrSet};

/// The fs protocol's encodings: what `selkie_proto::Put<Wire>` and
/// `Get<'_, Wire>` are implemented for, besides the shared ones.
pub enum Wire {}

/// A response being written.
pub(crate) type Writer<'b> = selkie_proto::Writer<'b, Wire>;
/// A response being read.
pub(crate) type Reader<'a> = selkie_proto::Reader<'a, Wire>;
pub(crate) use selkie_proto::{DecodeError, Get, Put, TooBig};

selkie_proto::tags!(Wire, XattrSet { Any = 0, Create = 1, Replace = 2 });

impl Put<Wire> for Kind {
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

impl Get<'_, Wire> for Kind {
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

selkie_proto::record!(
    Wire,
    Stat {
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
    }
);

selkie_proto::requests! {
    in Wire;
    /// Opens the conversation → `version: u32, root: Ino` (EPROTONOSUPPORT
    /// for another version).
    Hello { version: u32 } = 0, E2BIG;
    /// `stat` → `Stat`.
    Stat { ino: Ino } = 1, E2BIG;
    /// `lookup` → `Ino`.
    Lookup { dir: Ino, name: &'a [u8] } = 2, ENAMETOOLONG;
    /// `resolve_in` → `Ino`.
    ResolveIn { root: Ino, cwd: Ino, path: &'a [u8], follow: bool } = 3, ENAMETOOLONG;
    /// `resolve_parent_in` → `dir: Ino, name: bytes`.
    ResolveParentIn { root: Ino, cwd: Ino, path: &'a [u8] } = 4, ENAMETOOLONG;
    /// `create` → `Ino`.
    Create { dir: Ino, name: &'a [u8], kind: Kind, perm: u32, uid: u32, gid: u32, now: u64 } = 5, ENAMETOOLONG;
    /// `symlink` → `Ino`.
    Symlink { dir: Ino, name: &'a [u8], target: &'a [u8], now: u64 } = 6, ENAMETOOLONG;
    /// `link` → nothing.
    Link { dir: Ino, name: &'a [u8], ino: Ino, now: u64 } = 7, ENAMETOOLONG;
    /// `unlink` → nothing.
    Unlink { dir: Ino, name: &'a [u8], now: u64 } = 8, ENAMETOOLONG;
    /// `rmdir` → nothing.
    Rmdir { dir: Ino, name: &'a [u8], now: u64 } = 9, ENAMETOOLONG;
    /// `rename` → nothing.
    Rename { odir: Ino, oname: &'a [u8], ndir: Ino, nname: &'a [u8], now: u64 } = 10, ENAMETOOLONG;
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
    /// then `count` entries `name: bytes, ino: Ino, kind: Kind`; `more` says
    /// whether entries follow the page.
    Readdir { dir: Ino, start: u64 } = 15, E2BIG;
    /// `readlink` → the target bytes.
    Readlink { ino: Ino } = 16, ENAMETOOLONG;
    /// `path_in` → the path's bytes.
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
    LookupStat { dir: Ino, name: &'a [u8] } = 30, ENAMETOOLONG;
    /// `unmount` → nothing (the last request the service serves).
    Unmount {} = 31, E2BIG;
}
