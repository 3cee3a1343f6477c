//! The server end: [`serve`] answers one request from a [`FileSystem`].
use crate::wire::{Request, Writer};
use crate::VERSION;
use selkie_fs::{FileSystem, Ino};
use selkie_proto::{respond, Fail, Server};
use selkie_syscalls::errno::Errno;

/// Answers the encoded `request` from `fs`, writing the response into
/// `response`: its length. A malformed request gets an error response. It
/// never writes past `response` nor panics; a buffer too small for even the
/// status (4 bytes) gets an empty response.
pub fn serve(fs: &mut dyn FileSystem, request: &[u8], response: &mut [u8]) -> usize {
    respond(response, |w| {
        let req = Request::decode(request)?;
        answer(fs, req, w).map_err(|f| f.errno(req.too_big()))
    })
}

/// Calls `fs` and writes an ok response.
fn answer(fs: &mut dyn FileSystem, req: Request<'_>, w: &mut Writer<'_>) -> Result<(), Fail> {
    match req {
        Request::Hello { version } if version == VERSION => w.put(&(VERSION, fs.root()))?,
        Request::Hello { .. } => return Err(Errno::EPROTONOSUPPORT.into()),
        Request::Stat { ino } => w.put(&fs.stat(ino)?)?,
        Request::Lookup { dir, name } => w.put(&fs.lookup(dir, name)?)?,
        Request::ResolveIn {
            root,
            cwd,
            path,
            follow,
        } => w.put(&fs.resolve_in(root, cwd, path, follow)?)?,
        Request::ResolveParentIn { root, cwd, path } => {
            let (dir, name) = fs.resolve_parent_in(root, cwd, path)?;
            w.put(&(dir, name.as_slice()))?
        }
        Request::Create {
            dir,
            name,
            kind,
            perm,
            uid,
            gid,
            now,
        } => w.put(&fs.create(dir, name, kind, perm, uid, gid, now)?)?,
        Request::Symlink {
            dir,
            name,
            target,
            now,
        } => w.put(&fs.symlink(dir, name, target, now)?)?,
        Request::Link {
            dir,
            name,
            ino,
            now,
        } => fs.link(dir, name, ino, now)?,
        Request::Unlink { dir, name, now } => fs.unlink(dir, name, now)?,
        Request::Rmdir { dir, name, now } => fs.rmdir(dir, name, now)?,
        Request::Rename {
            odir,
            oname,
            ndir,
            nname,
            now,
        } => fs.rename(odir, oname, ndir, nname, now)?,
        Request::ReadAt { ino, off, len } => w.fill(len as usize, |buf| {
            fs.read_at(ino, off, buf).map_err(Fail::from)
        })?,
        Request::WriteAt {
            ino,
            off,
            data,
            now,
        } => w.put(&(fs.write_at(ino, off, data, now)? as u64))?,
        Request::Overwrite { ino, off, data } => fs.overwrite(ino, off, data)?,
        Request::Truncate { ino, len, now } => fs.truncate(ino, len, now)?,
        Request::Readdir { dir, start } => readdir_page(fs, dir, start, w)?,
        Request::Readlink { ino } => w.put(fs.readlink(ino)?.as_slice())?,
        Request::PathIn { root, ino } => w.put(fs.path_in(root, ino)?.as_slice())?,
        Request::Chmod { ino, perm, now } => fs.chmod(ino, perm, now)?,
        Request::Chown { ino, uid, gid, now } => fs.chown(ino, uid, gid, now)?,
        Request::SetTimes {
            ino,
            atime,
            mtime,
            now,
        } => fs.set_times(ino, atime, mtime, now)?,
        Request::GetXattr { ino, name } => w.put(fs.get_xattr(ino, name)?.as_slice())?,
        Request::SetXattr {
            ino,
            name,
            value,
            how,
            now,
        } => fs.set_xattr(ino, name, value, how, now)?,
        Request::ListXattr { ino } => w.put(fs.list_xattr(ino)?.as_slice())?,
        Request::RemoveXattr { ino, name, now } => fs.remove_xattr(ino, name, now)?,
        Request::Usage {} => w.put(&fs.usage())?,
        Request::Open { ino } => fs.open(ino),
        Request::Release { ino } => fs.release(ino),
        Request::InodeCount {} => w.put(&(fs.inode_count() as u64))?,
        Request::Sync {} => fs.sync()?,
        Request::Unmount {} => fs.unmount()?,
        Request::LookupStat { dir, name } => {
            let ino = fs.lookup(dir, name)?;
            w.put(&(ino, fs.stat(ino)?))?
        }
    }
    Ok(())
}

/// The entries of `dir` from `start` on, as many as fit.
fn readdir_page(fs: &dyn FileSystem, dir: Ino, start: u64, w: &mut Writer<'_>) -> Result<(), Fail> {
    let entries = fs.readdir(dir)?;
    let rest = entries
        .get(usize::try_from(start).unwrap_or(usize::MAX)..)
        .unwrap_or_default();
    let head = w.len();
    w.put(&(0u32, false))?;
    let mut count = 0u32;
    for (name, ino, kind) in rest {
        let mark = w.len();
        if w.put(&(name.as_slice(), ino, kind)).is_err() {
            w.truncate(mark);
            break;
        }
        count += 1;
    }
    let more = rest.len() > count as usize;
    if more && count == 0 {
        return Err(Fail::Full);
    }
    w.patch(head, &count.to_le_bytes());
    w.patch(head + 4, &[u8::from(more)]);
    Ok(())
}

/// A file system as a [`Server`] of the fs protocol (what a [`Loopback`]
/// serves).
pub struct FsServer<F: FileSystem> {
    /// The file system served.
    pub fs: F,
}

impl<F: FileSystem> From<F> for FsServer<F> {
    fn from(fs: F) -> Self {
        FsServer { fs }
    }
}

impl<F: FileSystem> Server for FsServer<F> {
    fn serve(&mut self, request: &[u8], response: &mut [u8]) -> usize {
        serve(&mut self.fs, request, response)
    }
}

/// A [`Transport`](crate::Transport) that serves requests in-process from
/// its own file system, through a response buffer of `capacity` bytes as
/// the shared frames would: for tests, fuzzing, and a LibOS that wants the
/// protocol without a task. `Loopback::new(fs, capacity)` makes one; its
/// file system is `loopback.fs`, the requests it served `loopback.served`.
pub type Loopback<F> = selkie_proto::Loopback<FsServer<F>>;
