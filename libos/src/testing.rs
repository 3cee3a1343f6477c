//! In-memory implementations of the platform traits for host tests.
use crate::platform::{AddressSpace, Platform, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

/// An address space backed by a map of pages.
#[derive(Default)]
pub struct MemSpace {
    pub pages: BTreeMap<u64, (Box<[u8; 4096]>, Perms)>,
    /// Refuse to map more than this many pages (None: unlimited).
    pub limit: Option<usize>,
}

impl MemSpace {
    pub fn perms(&self, va: u64) -> Option<Perms> {
        self.pages.get(&(va & !(PAGE_SIZE - 1))).map(|p| p.1)
    }
}

impl AddressSpace for MemSpace {
    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno> {
        assert_eq!(va % PAGE_SIZE, 0);
        if self.limit.is_some_and(|l| self.pages.len() >= l) {
            return Err(Errno::ENOMEM);
        }
        assert!(self
            .pages
            .insert(va, (Box::new([0; 4096]), perms))
            .is_none());
        Ok(())
    }
    fn unmap(&mut self, va: u64) {
        self.pages.remove(&va);
    }
    fn protect(&mut self, va: u64, perms: Perms) {
        if let Some(p) = self.pages.get_mut(&va) {
            p.1 = perms;
        }
    }
    fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&(va & !(PAGE_SIZE - 1)))
    }
    fn read(&self, va: u64, buf: &mut [u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let page = &self.pages[&(va - off as u64)].0;
        buf.copy_from_slice(&page[off..off + buf.len()]);
    }
    fn write(&mut self, va: u64, data: &[u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let page = &mut self.pages.get_mut(&(va - off as u64)).unwrap().0;
        page[off..off + data.len()].copy_from_slice(data);
    }
}

/// A platform that records console output.
#[derive(Default)]
pub struct TestPlatform {
    pub console: Vec<u8>,
    /// Pending console input.
    pub input: Vec<u8>,
    pub log: Vec<String>,
    pub now: u64,
}

impl Platform for TestPlatform {
    fn console_write(&mut self, data: &[u8]) {
        self.console.extend_from_slice(data);
    }
    fn console_read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input.drain(..n);
        n
    }
    fn console_wait_input(&mut self, _timeout_ms: Option<u64>) -> bool {
        !self.input.is_empty()
    }
    fn monotonic_ns(&mut self) -> u64 {
        self.now += 1000;
        self.now
    }
    fn realtime_ns(&mut self) -> u64 {
        1_700_000_000_000_000_000 + self.monotonic_ns()
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
    }
    fn log(&mut self, msg: core::fmt::Arguments<'_>) {
        self.log.push(alloc::format!("{msg}"));
    }
}
