//! The page cache behind shared file mappings (`mmap(MAP_SHARED)` of a file).
//!
//! A file mapped shared gets its pages here, one [`PageRef`] per page of the
//! file, and every shared mapping of that part of the file, in any process,
//! maps that very page: a store through one mapping is seen by all of them
//! at once.
//!
//! The file system keeps the bytes of record. The cache is the newer copy of
//! the pages it holds, and the two are kept in step at syscall boundaries:
//! - before the LibOS reads a cached file (read, exec, a private mmap, msync)
//!   the cached pages of the range are written back ([`PageCache::write_back`]);
//! - after it changes the file (write, truncate, fallocate) the changed bytes
//!   are copied into the cached pages ([`PageCache::refresh`]).
//!
//! As the LibOS serves one syscall at a time, read(2) and write(2) see exactly
//! what the mappings hold, as on Linux. A file leaves the cache (written back
//! first) once no address space maps any of its pages ([`PageCache::collect`]);
//! while cached it is held open, so its inode is not reused.
use crate::platform::{PageRef, Platform, PAGE_SIZE};
use alloc::collections::BTreeMap;
use selkie_fs::{FileSystem, Ino};
use selkie_syscalls::errno::Errno;

const PAGE: usize = PAGE_SIZE as usize;

/// Cached pages by file, and by page index within the file.
#[derive(Default)]
pub struct PageCache {
    files: BTreeMap<Ino, BTreeMap<u64, PageRef>>,
}

impl PageCache {
    /// The cached page `index` of `ino`, made (filled from the file; bytes
    /// past its end are zero) when it is not cached yet.
    pub fn page(
        &mut self,
        plat: &mut dyn Platform,
        fs: &mut dyn FileSystem,
        ino: Ino,
        index: u64,
    ) -> Result<PageRef, Errno> {
        if let Some(p) = self.files.get(&ino).and_then(|f| f.get(&index)) {
            return Ok(p.clone());
        }
        let mut buf = [0u8; PAGE];
        let off = index.checked_mul(PAGE_SIZE).ok_or(Errno::EOVERFLOW)?;
        let n = fs.read_at(ino, off, &mut buf)?;
        let page = plat.alloc_page()?;
        page.write(0, &buf[..n]);
        if !self.files.contains_key(&ino) {
            fs.open(ino);
        }
        self.files
            .entry(ino)
            .or_default()
            .insert(index, page.clone());
        Ok(page)
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Writes the cached bytes of [off, off + len) of `ino` back into the
    /// file system, within the file's current size.
    pub fn write_back(&self, fs: &mut dyn FileSystem, ino: Ino, off: u64, len: u64) {
        let Some(pages) = self.files.get(&ino) else {
            return;
        };
        let Ok(st) = fs.stat(ino) else {
            return;
        };
        let end = off.saturating_add(len).min(st.size);
        if off >= end {
            return;
        }
        let mut buf = [0u8; PAGE];
        for (&index, page) in pages.range(off / PAGE_SIZE..=(end - 1) / PAGE_SIZE) {
            let lo = index * PAGE_SIZE;
            let n = (st.size - lo).min(PAGE_SIZE) as usize;
            page.read(0, &mut buf[..n]);
            let _ = fs.overwrite(ino, lo, &buf[..n]);
        }
    }

    /// Writes back every cached file (sync).
    pub fn write_back_all(&self, fs: &mut dyn FileSystem) {
        for &ino in self.files.keys() {
            self.write_back(fs, ino, 0, u64::MAX);
        }
    }

    /// Copies the file system's bytes of [off, off + len) of `ino` into the
    /// cached pages after the file changed there; bytes past the file's end
    /// become zero.
    pub fn refresh(&self, fs: &dyn FileSystem, ino: Ino, off: u64, len: u64) {
        let Some(pages) = self.files.get(&ino) else {
            return;
        };
        let end = off.saturating_add(len);
        if off >= end {
            return;
        }
        let mut buf = [0u8; PAGE];
        for (&index, page) in pages.range(off / PAGE_SIZE..=(end - 1) / PAGE_SIZE) {
            let lo = (index * PAGE_SIZE).max(off);
            let hi = (index * PAGE_SIZE + PAGE_SIZE).min(end);
            let part = &mut buf[..(hi - lo) as usize];
            part.fill(0);
            let _ = fs.read_at(ino, lo, part);
            page.write((lo % PAGE_SIZE) as usize, part);
        }
    }

    /// Writes back and drops every file none of whose pages is mapped any
    /// more.
    pub fn collect(&mut self, fs: &mut dyn FileSystem) {
        let idle: alloc::vec::Vec<Ino> = self
            .files
            .iter()
            .filter(|(_, pages)| !pages.values().any(|p| p.is_mapped()))
            .map(|(&ino, _)| ino)
            .collect();
        for ino in idle {
            self.write_back(fs, ino, 0, u64::MAX);
            self.files.remove(&ino);
            fs.release(ino);
        }
    }
}
