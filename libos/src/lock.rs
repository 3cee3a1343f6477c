//! POSIX record locks (fcntl F_GETLK, F_SETLK, F_SETLKW).
//!
//! Advisory byte-range locks on a file, owned by a process (its thread
//! group id) for fcntl locks or by an open file description for flock.
//! A process never conflicts with itself: setting a lock over its own
//! replaces the overlapped part (splitting ranges as needed). All locks of a
//! process on a file go when it closes any descriptor of that file, and all
//! its locks go when it exits. Pure bookkeeping: blocking is the caller's job.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// Who holds a lock: a thread group id or an open file description.
pub type Owner = u64;

/// One held lock over bytes `start..end` (`end == u64::MAX`: to the end of
/// the file, however far it grows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordLock {
    pub owner: Owner,
    pub start: u64,
    pub end: u64,
    pub write: bool,
}

/// Every file's held locks, by inode number.
#[derive(Default)]
pub struct LockTable {
    files: BTreeMap<u64, Vec<RecordLock>>,
}

impl LockTable {
    /// The first lock of another owner that a lock of this kind over
    /// `start..end` would conflict with (two locks conflict when they
    /// overlap and at least one is a write lock).
    pub fn conflict(
        &self,
        ino: u64,
        owner: Owner,
        start: u64,
        end: u64,
        write: bool,
    ) -> Option<RecordLock> {
        self.files
            .get(&ino)?
            .iter()
            .copied()
            .find(|l| l.owner != owner && l.start < end && start < l.end && (write || l.write))
    }

    /// Sets (`Some(write)`) or removes (`None`) the owner's lock over
    /// `start..end`; the caller has checked [`LockTable::conflict`].
    pub fn set(&mut self, ino: u64, owner: Owner, start: u64, end: u64, kind: Option<bool>) {
        let locks = self.files.entry(ino).or_default();
        let mut kept = Vec::with_capacity(locks.len() + 2);
        for l in locks.drain(..) {
            if l.owner != owner || l.end <= start || end <= l.start {
                kept.push(l);
                continue;
            }
            // The part of an own lock outside the new range survives.
            if l.start < start {
                kept.push(RecordLock { end: start, ..l });
            }
            if end < l.end {
                kept.push(RecordLock { start: end, ..l });
            }
        }
        if let Some(write) = kind {
            kept.push(RecordLock {
                owner,
                start,
                end,
                write,
            });
        }
        if kept.is_empty() {
            self.files.remove(&ino);
        } else {
            *locks = kept;
        }
    }

    /// Drops every lock of `owner` on `ino`; true if any was held.
    pub fn release_file(&mut self, ino: u64, owner: Owner) -> bool {
        let Some(locks) = self.files.get_mut(&ino) else {
            return false;
        };
        let before = locks.len();
        locks.retain(|l| l.owner != owner);
        let changed = locks.len() != before;
        if locks.is_empty() {
            self.files.remove(&ino);
        }
        changed
    }

    /// Drops every lock of `owner`; true if any was held.
    pub fn release_owner(&mut self, owner: Owner) -> bool {
        let inos: Vec<u64> = self.files.keys().copied().collect();
        let mut changed = false;
        for ino in inos {
            changed |= self.release_file(ino, owner);
        }
        changed
    }

    /// Locks held on `ino` (for tests and /proc/locks).
    pub fn held(&self, ino: u64) -> &[RecordLock] {
        self.files.get(&ino).map(|v| v.as_slice()).unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_writers_exclude() {
        let mut t = LockTable::default();
        t.set(1, 10, 0, 100, Some(false));
        assert_eq!(t.conflict(1, 11, 50, 60, false), None);
        assert!(t.conflict(1, 11, 50, 60, true).is_some());
        assert_eq!(
            t.conflict(1, 11, 100, 200, true),
            None,
            "adjacent ranges do not overlap"
        );
        assert_eq!(
            t.conflict(1, 10, 0, 100, true),
            None,
            "an owner never conflicts with itself"
        );
        assert_eq!(
            t.conflict(2, 11, 0, 100, true),
            None,
            "other files are separate"
        );
    }

    #[test]
    fn unlocking_the_middle_splits_a_lock() {
        let mut t = LockTable::default();
        t.set(1, 10, 0, u64::MAX, Some(true));
        t.set(1, 10, 10, 20, None);
        let mut held = t.held(1).to_vec();
        held.sort_by_key(|l| l.start);
        assert_eq!(held.len(), 2);
        assert_eq!((held[0].start, held[0].end), (0, 10));
        assert_eq!((held[1].start, held[1].end), (20, u64::MAX));
        assert_eq!(t.conflict(1, 11, 10, 20, true), None);
        // Downgrading a part to a read lock lets others read it.
        t.set(1, 10, 30, 40, Some(false));
        assert_eq!(t.conflict(1, 11, 30, 40, false), None);
        assert!(t.conflict(1, 11, 30, 41, false).is_some());
    }

    #[test]
    fn close_and_exit_release() {
        let mut t = LockTable::default();
        t.set(1, 10, 0, 5, Some(true));
        t.set(2, 10, 0, 5, Some(true));
        t.set(2, 11, 5, 9, Some(true));
        assert!(t.release_file(1, 10));
        assert!(!t.release_file(1, 10));
        assert!(t.release_owner(10));
        assert_eq!(t.held(2).len(), 1);
        assert_eq!(t.held(2)[0].owner, 11);
    }
}
