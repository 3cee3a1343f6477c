//! POSIX path resolution, once for every file system in this crate.
//!
//! Names and paths are byte strings, as on Linux: any byte but `/` and NUL
//! may be in a name, UTF-8 or not.
//!
//! A file system exposes its name space through [`Tree`] (one name in a
//! directory, the kind of an inode, a symlink's target) and gets
//! [`resolve_in`] and [`resolve_parent_in`] for it: absolute and relative
//! paths, `.` and `..`, a chroot root that `..` does not leave, symlinks
//! (ELOOP after [`MAX_SYMLINKS`]), trailing slashes (ENOTDIR) and
//! NAME_MAX/PATH_MAX (ENAMETOOLONG).
use crate::{Ino, Kind, MAX_SYMLINKS, NAME_MAX, PATH_MAX};
use alloc::vec::Vec;
use selkie_syscalls::errno::Errno;

/// The name space of a file system, as path resolution sees it.
pub trait Tree {
    /// One name in directory `dir` (`.` and `..` included; ENOTDIR when
    /// `dir` is not a directory).
    fn child(&self, dir: Ino, name: &[u8]) -> Result<Ino, Errno>;
    /// What `ino` is.
    fn kind_of(&self, ino: Ino) -> Result<Kind, Errno>;
    /// The target of symlink `ino`.
    fn target(&self, ino: Ino) -> Result<Vec<u8>, Errno>;
}

/// The non-empty components of `path` (what lies between slashes).
pub fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    path.split(|&b| b == b'/').filter(|p| !p.is_empty())
}

/// `path` without its trailing slashes.
pub fn trim_trailing_slashes(path: &[u8]) -> &[u8] {
    let end = path.iter().rposition(|&b| b != b'/').map_or(0, |i| i + 1);
    &path[..end]
}

/// Resolves `path` from `cwd` under root directory `root`, following a final
/// symlink when `follow` (intermediate ones always).
pub fn resolve_in<T: Tree + ?Sized>(
    t: &T,
    root: Ino,
    cwd: Ino,
    path: &[u8],
    follow: bool,
) -> Result<Ino, Errno> {
    let mut budget = MAX_SYMLINKS;
    walk(t, root, cwd, path, follow, &mut budget)
}

fn walk<T: Tree + ?Sized>(
    t: &T,
    root: Ino,
    cwd: Ino,
    path: &[u8],
    follow: bool,
    budget: &mut usize,
) -> Result<Ino, Errno> {
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut cur = if path.starts_with(b"/") { root } else { cwd };
    let trailing_slash = path.ends_with(b"/");
    let parts: Vec<&[u8]> = components(path).collect();
    for (i, part) in parts.iter().enumerate() {
        if part.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        let last = i + 1 == parts.len();
        let next = if *part == b".." && cur == root {
            root
        } else {
            t.child(cur, part)?
        };
        if t.kind_of(next)? == Kind::Symlink && (!last || follow || trailing_slash) {
            if *budget == 0 {
                return Err(Errno::ELOOP);
            }
            *budget -= 1;
            let target = t.target(next)?;
            cur = walk(t, root, cur, &target, true, budget)?;
        } else {
            cur = next;
        }
    }
    if trailing_slash && t.kind_of(cur)? != Kind::Dir {
        return Err(Errno::ENOTDIR);
    }
    Ok(cur)
}

/// Splits `path` into its parent directory (resolved from `cwd` under
/// `root`) and its final name.
pub fn resolve_parent_in<T: Tree + ?Sized>(
    t: &T,
    root: Ino,
    cwd: Ino,
    path: &[u8],
) -> Result<(Ino, Vec<u8>), Errno> {
    if path.len() >= PATH_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    let trimmed = trim_trailing_slashes(path);
    if trimmed.is_empty() {
        return if path.is_empty() {
            Err(Errno::ENOENT)
        } else {
            Err(Errno::EEXIST) // "/" itself
        };
    }
    let (dir, name) = match trimmed.iter().rposition(|&b| b == b'/') {
        Some(0) => (root, &trimmed[1..]),
        Some(i) => (
            resolve_in(t, root, cwd, &trimmed[..i], true)?,
            &trimmed[i + 1..],
        ),
        None => (cwd, trimmed),
    };
    if t.kind_of(dir)? != Kind::Dir {
        return Err(Errno::ENOTDIR);
    }
    if name.len() > NAME_MAX {
        return Err(Errno::ENAMETOOLONG);
    }
    Ok((dir, name.to_vec()))
}
