//! The client's cache of names, inode attributes and symlink targets.
//!
//! Path resolution asks for one name, one kind and maybe one symlink target
//! per component, and the LibOS stats what it resolves: over IPC each of
//! those is a round trip to the fs task. The client keeps what the task
//! answered and answers again from it, resolving warm paths with no request
//! at all.
//!
//! The cache is exact, not a heuristic: the client is the task's only
//! client, every change goes through it, and the file-system trait says which
//! calls change anything (those that take `&mut self`). Each of those
//! forgets, before it is sent, every entry it may make stale:
//!
//! | call | forgets |
//! | --- | --- |
//! | create, symlink, mknod | the name; the directory's attributes |
//! | link | the name; the directory's and the inode's attributes |
//! | unlink, rmdir | the name; the directory's attributes; the inode's attributes and target (its number may be reused), and for rmdir the names cached in it |
//! | rename | both names; both directories' attributes; the moved inode's and a replaced one's attributes and target |
//! | write, overwrite, truncate, chmod, chown, set_times, set/remove xattr | the inode's attributes |
//! | release | the inode's attributes and target (the last close of an unlinked inode frees its number) |
//!
//! Where the inode a removed name led to is not cached, every attribute and
//! target is forgotten. `.` and `..` are never cached (a rename moves `..`).
//! Each map is cleared when it reaches [`LIMIT`] entries.
//!
//! A client of a file system that others change too (a share of several
//! LibOS instances) keeps nothing: [`Cache::off`].
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use selkie_fs::{Ino, Stat};

/// Most entries a map keeps before it is cleared.
pub const LIMIT: usize = 16384;

#[derive(Default)]
pub struct Cache {
    /// directory → name → the inode, or None for ENOENT.
    names: BTreeMap<Ino, BTreeMap<Vec<u8>, Option<Ino>>>,
    /// Entries in `names`.
    name_count: usize,
    stats: BTreeMap<Ino, Stat>,
    targets: BTreeMap<Ino, Vec<u8>>,
    /// Nothing is kept (the service has other clients).
    off: bool,
}

/// Whether a name may be cached (not `.`, `..` or empty).
pub fn cacheable(name: &[u8]) -> bool {
    !matches!(name, b"" | b"." | b"..")
}

fn put<K: Ord, V>(map: &mut BTreeMap<K, V>, k: K, v: V) {
    if map.len() >= LIMIT {
        map.clear();
    }
    map.insert(k, v);
}

impl Cache {
    /// A cache that keeps nothing: every question goes to the service.
    pub fn off() -> Cache {
        Cache {
            off: true,
            ..Cache::default()
        }
    }

    /// What `name` in `dir` was: Some(Some(ino)), Some(None) for ENOENT,
    /// None when not cached.
    pub fn name(&self, dir: Ino, name: &[u8]) -> Option<Option<Ino>> {
        self.names.get(&dir)?.get(name).copied()
    }

    pub fn stat(&self, ino: Ino) -> Option<Stat> {
        self.stats.get(&ino).copied()
    }

    pub fn target(&self, ino: Ino) -> Option<&[u8]> {
        self.targets.get(&ino).map(|t| t.as_slice())
    }

    pub fn put_name(&mut self, dir: Ino, name: &[u8], ino: Option<Ino>) {
        if self.off || !cacheable(name) {
            return;
        }
        if self.name_count >= LIMIT {
            self.names.clear();
            self.name_count = 0;
        }
        if self
            .names
            .entry(dir)
            .or_default()
            .insert(name.to_vec(), ino)
            .is_none()
        {
            self.name_count += 1;
        }
    }

    /// Forgets `name` in `dir`: what it was, if cached.
    fn forget_name(&mut self, dir: Ino, name: &[u8]) -> Option<Option<Ino>> {
        let names = self.names.get_mut(&dir)?;
        let was = names.remove(name)?;
        self.name_count -= 1;
        if names.is_empty() {
            self.names.remove(&dir);
        }
        Some(was)
    }

    pub fn put_stat(&mut self, st: Stat) {
        if !self.off {
            put(&mut self.stats, st.ino, st);
        }
    }

    pub fn put_target(&mut self, ino: Ino, target: &[u8]) {
        if !self.off {
            put(&mut self.targets, ino, Vec::from(target));
        }
    }

    /// The attributes of `ino` may have changed.
    pub fn changed(&mut self, ino: Ino) {
        self.stats.remove(&ino);
    }

    /// `ino` may be gone and its number reused.
    pub fn gone(&mut self, ino: Ino) {
        self.stats.remove(&ino);
        self.targets.remove(&ino);
    }

    /// `name` in `dir` is removed or replaced: `dir`'s attributes change,
    /// and what the name led to may be gone, with the names cached in it
    /// if it was a directory (when not known, everything is forgotten).
    pub fn name_removed(&mut self, dir: Ino, name: &[u8]) {
        self.changed(dir);
        if !cacheable(name) {
            return;
        }
        match self.forget_name(dir, name) {
            Some(Some(ino)) => self.dir_removed(ino),
            Some(None) => {}
            None => self.clear(),
        }
    }

    /// `name` in `dir` moves elsewhere: `dir`'s attributes change, and the
    /// moved inode's (its change time); when that inode is not known, every
    /// inode's attributes are forgotten.
    pub fn name_moved(&mut self, dir: Ino, name: &[u8]) {
        self.changed(dir);
        if !cacheable(name) {
            return;
        }
        match self.forget_name(dir, name) {
            Some(Some(ino)) => self.changed(ino),
            Some(None) => {}
            None => self.stats.clear(),
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.names.clear();
        self.name_count = 0;
        self.stats.clear();
        self.targets.clear();
    }

    /// A name is added to `dir` (nothing it replaces).
    pub fn name_added(&mut self, dir: Ino, name: &[u8]) {
        self.changed(dir);
        self.forget_name(dir, name);
    }

    /// Inode `dir` is gone; if it was a directory, the names cached in it
    /// go too.
    fn dir_removed(&mut self, dir: Ino) {
        if let Some(names) = self.names.remove(&dir) {
            self.name_count -= names.len();
        }
        self.gone(dir);
    }

    /// How many entries each map holds (names, attributes, targets).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.name_count, self.stats.len(), self.targets.len())
    }
}
