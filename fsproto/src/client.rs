//! The client end: a [`FileSystem`] that sends every call over a
//! [`Transport`].
use crate::cache::{self, Cache};
use crate::wire::{DecodeError, Get, Reader, Request, Wire};
use crate::{Transport, MIN_CAPACITY, VERSION};
use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_fs::{FileSystem, Ino, Kind, Stat, XattrSet};
use selkie_proto::{chunked, pieces, CallError, ConnectError, Link};
use selkie_syscalls::errno::Errno;

/// Bytes of a request or response besides its one byte string, at most
/// (`WriteAt` has 32): a data piece is the capacity less this.
const HEADROOM: usize = 64;

/// A [`FileSystem`] served over a [`Transport`] (the fs service task).
///
/// Names, attributes and symlink targets the service answered are kept
/// (see [`crate::cache`]: the client must be the service's only client, or
/// made with [`Client::connect_shared`], which keeps nothing), and paths are
/// resolved here, over that cache, a name at a time.
///
/// Queries take `&self`, so the transport lives in a [`RefCell`]. A
/// malformed response fails its call with EIO. Once the transport reports
/// [`Dead`](crate::Dead), every call fails with EIO without asking it again
/// (`usage` and `inode_count` answer 0, `open` and `release` do nothing);
/// [`root`](FileSystem::root) still answers the root learnt at connection.
pub struct Client<T: Transport> {
    link: RefCell<Link<T, Wire>>,
    cache: RefCell<Cache>,
    root: Ino,
    /// The largest data piece of one message.
    room: usize,
}

impl<T: Transport> Client<T> {
    /// Says Hello over `transport`: checks the version and learns the root.
    pub fn connect(transport: T) -> Result<Self, ConnectError> {
        let capacity = transport.capacity();
        let hello = Request::Hello { version: VERSION };
        let (link, root) = Link::connect(transport, MIN_CAPACITY, &hello, VERSION, |r| {
            r.get::<(u32, Ino)>()
        })?;
        Ok(Client {
            link: RefCell::new(link),
            cache: RefCell::default(),
            root,
            room: capacity - HEADROOM,
        })
    }

    /// Like [`Self::connect`], for a service with other clients (a file
    /// system several LibOS instances share): nothing is cached, each name,
    /// attribute and target is asked for.
    pub fn connect_shared(transport: T) -> Result<Self, ConnectError> {
        let mut client = Self::connect(transport)?;
        client.cache = RefCell::new(Cache::off());
        Ok(client)
    }

    /// How many names, attributes and symlink targets the cache holds.
    pub fn cached(&self) -> (usize, usize, usize) {
        self.cache.borrow().sizes()
    }

    /// The transport (for tests that look behind it).
    pub fn transport_mut(&mut self) -> &mut T {
        self.link.get_mut().transport_mut()
    }

    /// Sends `req` and decodes an ok response with `answer`; the errno of
    /// the call.
    fn call_with<R>(
        &self,
        req: Request<'_>,
        answer: impl FnOnce(&mut Reader<'_>) -> Result<R, DecodeError>,
    ) -> Result<R, Errno> {
        let result = self.link.borrow_mut().call(&req, answer);
        result.map_err(|e| match e {
            CallError::Dead | CallError::Malformed => Errno::EIO,
            CallError::Status(e) => e,
            CallError::TooBig => req.too_big(),
        })
    }

    /// Sends `req`; its response's value.
    fn call<V: for<'b> Get<'b, Wire>>(&self, req: Request<'_>) -> Result<V, Errno> {
        self.call_with(req, |r| r.get())
    }

    /// One `ReadAt` into `buf`: the bytes read.
    fn read_piece(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        self.call_with(Request::ReadAt { ino, off, len }, |r| {
            let data: &[u8] = r.get()?;
            let n = data.len().min(buf.len());
            buf[..n].copy_from_slice(&data[..n]);
            Ok(n)
        })
    }
}

/// `off + delta`, saturating.
fn at(off: u64, delta: usize) -> u64 {
    off.saturating_add(delta as u64)
}

/// Path resolution walks the cached name space.
impl<T: Transport> selkie_fs::path::Tree for Client<T> {
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        self.lookup(dir, name)
    }
    fn kind_of(&self, ino: Ino) -> Result<Kind, Errno> {
        self.stat(ino).map(|st| st.kind)
    }
    fn target(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.readlink(ino)
    }
}

impl<T: Transport> FileSystem for Client<T> {
    fn root(&self) -> Ino {
        self.root
    }
    fn stat(&self, ino: Ino) -> Result<Stat, Errno> {
        if let Some(st) = self.cache.borrow().stat(ino) {
            return Ok(st);
        }
        let st: Stat = self.call(Request::Stat { ino })?;
        self.cache.borrow_mut().put_stat(st);
        Ok(st)
    }
    fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno> {
        if !cache::cacheable(name) {
            return self.call(Request::Lookup { dir, name });
        }
        match self.cache.borrow().name(dir, name) {
            Some(Some(ino)) => return Ok(ino),
            Some(None) => return Err(Errno::ENOENT),
            None => {}
        }
        match self.call::<(Ino, Stat)>(Request::LookupStat { dir, name }) {
            Ok((ino, st)) => {
                let mut c = self.cache.borrow_mut();
                c.put_name(dir, name, Some(ino));
                c.put_stat(st);
                Ok(ino)
            }
            Err(Errno::ENOENT) => {
                self.cache.borrow_mut().put_name(dir, name, None);
                Err(Errno::ENOENT)
            }
            Err(e) => Err(e),
        }
    }
    fn resolve_in(&self, root: Ino, cwd: Ino, path: &[u8], follow: bool) -> Result<Ino, Errno> {
        selkie_fs::path::resolve_in(self, root, cwd, path, follow)
    }
    fn resolve_parent_in(&self, root: Ino, cwd: Ino, path: &[u8]) -> Result<(Ino, Vec<u8>), Errno> {
        selkie_fs::path::resolve_parent_in(self, root, cwd, path)
    }
    fn create(
        &mut self,
        dir: Ino,
        name: &[u8],
        kind: Kind,
        perm: u32,
        uid: u32,
        gid: u32,
        now: u64,
    ) -> Result<Ino, Errno> {
        self.cache.get_mut().name_added(dir, name);
        self.call(Request::Create {
            dir,
            name,
            kind,
            perm,
            uid,
            gid,
            now,
        })
    }
    fn symlink(&mut self, dir: Ino, name: &[u8], target: &[u8], now: u64) -> Result<Ino, Errno> {
        self.cache.get_mut().name_added(dir, name);
        self.call(Request::Symlink {
            dir,
            name,
            target,
            now,
        })
    }
    fn link(&mut self, dir: Ino, name: &[u8], ino: Ino, now: u64) -> Result<(), Errno> {
        let c = self.cache.get_mut();
        c.name_added(dir, name);
        c.changed(ino);
        self.call(Request::Link {
            dir,
            name,
            ino,
            now,
        })
    }
    fn unlink(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        self.cache.get_mut().name_removed(dir, name);
        self.call(Request::Unlink { dir, name, now })
    }
    fn rmdir(&mut self, dir: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        self.cache.get_mut().name_removed(dir, name);
        self.call(Request::Rmdir { dir, name, now })
    }
    fn rename(
        &mut self,
        odir: Ino,
        oname: &[u8],
        ndir: Ino,
        nname: &[u8],
        now: u64,
    ) -> Result<(), Errno> {
        let c = self.cache.get_mut();
        c.name_moved(odir, oname);
        c.name_removed(ndir, nname);
        self.call(Request::Rename {
            odir,
            oname,
            ndir,
            nname,
            now,
        })
    }
    fn read_at(&self, ino: Ino, off: u64, buf: &mut [u8]) -> Result<usize, Errno> {
        chunked(buf.len(), self.room, |p| {
            self.read_piece(ino, at(off, p.start), &mut buf[p])
        })
    }
    fn write_at(&mut self, ino: Ino, off: u64, data: &[u8], now: u64) -> Result<usize, Errno> {
        self.cache.get_mut().changed(ino);
        chunked(data.len(), self.room, |p| {
            let off = at(off, p.start);
            let data = &data[p];
            let n: u64 = self.call(Request::WriteAt {
                ino,
                off,
                data,
                now,
            })?;
            Ok(usize::try_from(n).unwrap_or(usize::MAX))
        })
    }
    fn overwrite(&mut self, ino: Ino, off: u64, data: &[u8]) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        for p in pieces(data.len(), self.room) {
            let off = at(off, p.start);
            self.call::<()>(Request::Overwrite {
                ino,
                off,
                data: &data[p],
            })?;
        }
        Ok(())
    }
    fn truncate(&mut self, ino: Ino, len: u64, now: u64) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::Truncate { ino, len, now })
    }
    fn readdir(&self, dir: Ino) -> Result<Vec<(Vec<u8>, Ino, Kind)>, Errno> {
        let mut all: Vec<(Vec<u8>, Ino, Kind)> = Vec::new();
        loop {
            let start = all.len() as u64;
            let more = self.call_with(Request::Readdir { dir, start }, |r| {
                let (count, more): (u32, bool) = r.get()?;
                for _ in 0..count {
                    all.push(r.get()?);
                }
                let mut c = self.cache.borrow_mut();
                for (name, ino, _) in &all[start as usize..] {
                    c.put_name(dir, name, Some(*ino));
                }
                Ok(more && count > 0)
            })?;
            if !more {
                return Ok(all);
            }
        }
    }
    /// The whole file, read in pieces until one comes back short.
    fn data(&self, ino: Ino) -> Result<Cow<'_, [u8]>, Errno> {
        let mut out = Vec::new();
        loop {
            let start = out.len();
            out.resize(start + self.room, 0);
            let n = self.read_piece(ino, start as u64, &mut out[start..])?;
            out.truncate(start + n);
            if n < self.room {
                return Ok(Cow::Owned(out));
            }
        }
    }
    fn readlink(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        if let Some(t) = self.cache.borrow().target(ino) {
            return Ok(Vec::from(t));
        }
        // Only a symlink has a target: what is known not to be one needs no
        // round trip (the service answers EINVAL).
        if self
            .cache
            .borrow()
            .stat(ino)
            .is_some_and(|st| st.kind != Kind::Symlink)
        {
            return Err(Errno::EINVAL);
        }
        let t: Vec<u8> = self.call(Request::Readlink { ino })?;
        self.cache.borrow_mut().put_target(ino, &t);
        Ok(t)
    }
    fn path_in(&self, root: Ino, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.call(Request::PathIn { root, ino })
    }
    fn chmod(&mut self, ino: Ino, perm: u32, now: u64) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::Chmod { ino, perm, now })
    }
    fn chown(&mut self, ino: Ino, uid: u32, gid: u32, now: u64) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::Chown { ino, uid, gid, now })
    }
    fn set_times(
        &mut self,
        ino: Ino,
        atime: Option<u64>,
        mtime: Option<u64>,
        now: u64,
    ) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::SetTimes {
            ino,
            atime,
            mtime,
            now,
        })
    }
    fn get_xattr(&self, ino: Ino, name: &[u8]) -> Result<Vec<u8>, Errno> {
        self.call(Request::GetXattr { ino, name })
    }
    fn set_xattr(
        &mut self,
        ino: Ino,
        name: &[u8],
        value: &[u8],
        how: XattrSet,
        now: u64,
    ) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::SetXattr {
            ino,
            name,
            value,
            how,
            now,
        })
    }
    fn list_xattr(&self, ino: Ino) -> Result<Vec<u8>, Errno> {
        self.call(Request::ListXattr { ino })
    }
    fn remove_xattr(&mut self, ino: Ino, name: &[u8], now: u64) -> Result<(), Errno> {
        self.cache.get_mut().changed(ino);
        self.call(Request::RemoveXattr { ino, name, now })
    }
    /// `(0, 0)` when the service is dead.
    fn usage(&self) -> (u64, u64) {
        self.call(Request::Usage {}).unwrap_or((0, 0))
    }
    fn open(&mut self, ino: Ino) {
        let _ = self.call::<()>(Request::Open { ino });
    }
    fn release(&mut self, ino: Ino) {
        self.cache.get_mut().gone(ino);
        let _ = self.call::<()>(Request::Release { ino });
    }
    fn sync(&mut self) -> Result<(), Errno> {
        self.call(Request::Sync {})
    }
    fn unmount(&mut self) -> Result<(), Errno> {
        self.call(Request::Unmount {})
    }
    /// 0 when the service is dead.
    fn inode_count(&self) -> usize {
        self.call::<u64>(Request::InodeCount {})
            .map_or(0, |n| n as usize)
    }
}
