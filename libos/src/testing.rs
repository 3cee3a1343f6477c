//! In-memory implementations of the platform traits for host tests.
use crate::platform::{AddressSpace, PageRef, Platform, SharedPage, PAGE_SIZE};
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use selkie_loader::Perms;
use selkie_syscalls::errno::Errno;

/// A kernel over the file tree `entries` for the unit tests: over a
/// `Tmpfs`, as [`Kernel::new`](crate::Kernel::new) builds it, or, with
/// `SELKIE_TEST_FS=proto`, over a `selkie_fsproto` client of one (through
/// 8 KiB buffers, so that big transfers go in pieces).
#[cfg(test)]
pub fn test_kernel(entries: Vec<crate::cpio::Entry<'_>>) -> crate::Kernel {
    use selkie_fsproto::{Client, Loopback};
    match std::env::var("SELKIE_TEST_FS").as_deref() {
        Err(_) | Ok("" | "inproc") => crate::Kernel::new(entries),
        Ok("proto") => {
            let mut fs = selkie_fs::Tmpfs::new();
            selkie_fs::unpack(&mut fs, &entries);
            let client = Client::connect(Loopback::new(fs, 8192)).expect("a loopback connects");
            crate::Kernel::with_fs(Box::new(client))
        }
        Ok(other) => panic!("SELKIE_TEST_FS={other}: not inproc nor proto"),
    }
}

type Frame = Rc<RefCell<[u8; 4096]>>;

/// One mapped page: its frame (shared after fork), rights, copy-on-write flag.
#[derive(Clone)]
pub struct Page {
    pub frame: Frame,
    pub perms: Perms,
    pub cow: bool,
}

/// An address space backed by a map of pages.
#[derive(Default)]
pub struct MemSpace {
    pub pages: BTreeMap<u64, Page>,
    /// Refuse to map more than this many pages (None: unlimited).
    pub limit: Option<usize>,
    /// Pages left in a pool shared by every space forked from this one
    /// (None: unlimited); unmapping gives a page back.
    pub pool: Option<Rc<core::cell::Cell<usize>>>,
}

impl MemSpace {
    /// The rights the page is mapped with (read-only while copy-on-write).
    pub fn perms(&self, va: u64) -> Option<Perms> {
        self.pages.get(&(va & !(PAGE_SIZE - 1))).map(|p| Perms {
            write: p.perms.write && !p.cow,
            ..p.perms
        })
    }
    /// Whether two spaces share the frame at `va`.
    pub fn shares(&self, other: &MemSpace, va: u64) -> bool {
        match (self.pages.get(&va), other.pages.get(&va)) {
            (Some(a), Some(b)) => Rc::ptr_eq(&a.frame, &b.frame),
            _ => false,
        }
    }
}

impl AddressSpace for MemSpace {
    fn map_zeroed(&mut self, va: u64, perms: Perms) -> Result<(), Errno> {
        assert_eq!(va % PAGE_SIZE, 0);
        if self.limit.is_some_and(|l| self.pages.len() >= l) {
            return Err(Errno::ENOMEM);
        }
        if let Some(pool) = &self.pool {
            if pool.get() == 0 {
                return Err(Errno::ENOMEM);
            }
            pool.set(pool.get() - 1);
        }
        let page = Page {
            frame: Rc::new(RefCell::new([0; 4096])),
            perms,
            cow: false,
        };
        assert!(self.pages.insert(va, page).is_none());
        Ok(())
    }
    fn unmap(&mut self, va: u64) {
        if self.pages.remove(&va).is_some() {
            if let Some(pool) = &self.pool {
                pool.set(pool.get() + 1);
            }
        }
    }
    fn protect(&mut self, va: u64, perms: Perms) {
        if let Some(p) = self.pages.get_mut(&va) {
            p.perms = perms;
        }
    }
    fn is_mapped(&self, va: u64) -> bool {
        self.pages.contains_key(&(va & !(PAGE_SIZE - 1)))
    }
    fn mapped_in(&self, start: u64, end: u64) -> Vec<u64> {
        self.pages.range(start..end).map(|(&va, _)| va).collect()
    }
    fn read(&self, va: u64, buf: &mut [u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let page = self.pages[&(va - off as u64)].frame.borrow();
        buf.copy_from_slice(&page[off..off + buf.len()]);
    }
    fn write(&mut self, va: u64, data: &[u8]) {
        let off = (va % PAGE_SIZE) as usize;
        let p = &self.pages[&(va - off as u64)];
        p.frame.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    fn root(&self) -> u64 {
        self as *const _ as u64
    }
    fn fork(&mut self, shared: &dyn Fn(u64) -> bool) -> Result<Box<dyn AddressSpace>, Errno> {
        for (va, p) in self.pages.iter_mut() {
            if p.perms.write && !shared(*va) {
                p.cow = true;
            }
        }
        Ok(Box::new(MemSpace {
            pages: self.pages.clone(),
            limit: self.limit,
            pool: self.pool.clone(),
        }))
    }
    fn map_page(&mut self, va: u64, page: &PageRef, perms: Perms) -> Result<(), Errno> {
        let any: &dyn core::any::Any = &**page;
        let frame = any
            .downcast_ref::<TestPage>()
            .expect("a test page")
            .0
            .clone();
        let page = Page {
            frame,
            perms,
            cow: false,
        };
        assert!(self.pages.insert(va, page).is_none());
        Ok(())
    }
    fn frame_id(&self, va: u64) -> Option<u64> {
        self.pages
            .get(&(va & !(PAGE_SIZE - 1)))
            .map(|p| Rc::as_ptr(&p.frame) as *const u8 as u64)
    }
    fn break_cow(&mut self, va: u64) -> Result<bool, Errno> {
        let Some(p) = self.pages.get_mut(&va) else {
            return Ok(false);
        };
        if !p.cow {
            return Ok(false);
        }
        if Rc::strong_count(&p.frame) > 1 {
            let copy = *p.frame.borrow();
            p.frame = Rc::new(RefCell::new(copy));
        }
        p.cow = false;
        Ok(true)
    }
}

/// A page of the page cache in host tests.
pub struct TestPage(Frame);

impl SharedPage for TestPage {
    fn read(&self, off: usize, buf: &mut [u8]) {
        buf.copy_from_slice(&self.0.borrow()[off..off + buf.len()]);
    }
    fn write(&self, off: usize, data: &[u8]) {
        self.0.borrow_mut()[off..off + data.len()].copy_from_slice(data);
    }
    fn is_mapped(&self) -> bool {
        Rc::strong_count(&self.0) > 1
    }
}

/// A platform that records console output.
#[derive(Default)]
pub struct TestPlatform {
    /// A vDSO image to map into new processes.
    pub vdso: Option<&'static [u8]>,
    pub console: Vec<u8>,
    pub log: Vec<String>,
    pub now: u64,
    /// FPU states by thread, when the test models them (None: the platform
    /// cannot read FPU state).
    pub fpu: Option<alloc::collections::BTreeMap<u32, [u8; crate::platform::FPU_STATE_SIZE]>>,
    /// How many more page-cache pages `alloc_page` may give (None: unlimited).
    pub page_limit: Option<usize>,
    /// The page limit of every new address space (None: unlimited).
    pub space_limit: Option<usize>,
}

impl Platform for TestPlatform {
    fn console_write(&mut self, data: &[u8]) {
        self.console.extend_from_slice(data);
    }
    fn new_address_space(&mut self) -> Result<Box<dyn AddressSpace>, Errno> {
        Ok(Box::new(MemSpace {
            limit: self.space_limit,
            ..Default::default()
        }))
    }
    fn monotonic_ns(&mut self) -> u64 {
        // Saturating: a harness may move the clock to any deadline.
        self.now = self.now.saturating_add(1000);
        self.now
    }
    fn realtime_ns(&mut self) -> u64 {
        self.monotonic_ns()
            .saturating_add(1_700_000_000_000_000_000)
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
    }
    fn log(&mut self, msg: core::fmt::Arguments<'_>) {
        self.log.push(alloc::format!("{msg}"));
    }
    fn vdso(&self) -> Option<&'static [u8]> {
        self.vdso
    }
    fn clock_params(&self) -> (u64, u64, u64) {
        (2000, 1234, 5678)
    }
    fn fpu_state(&mut self, tid: u32) -> Option<[u8; crate::platform::FPU_STATE_SIZE]> {
        let m = self.fpu.as_ref()?;
        Some(
            m.get(&tid)
                .copied()
                .unwrap_or_else(crate::platform::initial_fpu_state),
        )
    }
    fn set_fpu_state(&mut self, tid: u32, state: &[u8; crate::platform::FPU_STATE_SIZE]) {
        if let Some(m) = self.fpu.as_mut() {
            m.insert(tid, *state);
        }
    }
    fn alloc_page(&mut self) -> Result<PageRef, Errno> {
        if self.page_limit == Some(0) {
            return Err(Errno::ENOMEM);
        }
        if let Some(l) = self.page_limit.as_mut() {
            *l -= 1;
        }
        Ok(Rc::new(TestPage(Rc::new(RefCell::new([0; 4096])))))
    }
}

/// The state of a channel made by [`channel_pair`]: what each side sent
/// and not yet taken, and which sides are closed.
struct ChannelState {
    capacity: usize,
    sent: [alloc::collections::VecDeque<u8>; 2],
    closed: [bool; 2],
}

/// One end of an in-memory channel ([`channel_pair`]). Clones are handles
/// on the same end: a test keeps one to close the end after handing the
/// other to [`Kernel::add_channel`](crate::Kernel::add_channel).
#[derive(Clone)]
pub struct TestChannel {
    state: Rc<RefCell<ChannelState>>,
    side: usize,
}

/// Two connected in-memory channel ends; each direction buffers up to
/// `capacity` bytes.
pub fn channel_pair(capacity: usize) -> (TestChannel, TestChannel) {
    let state = Rc::new(RefCell::new(ChannelState {
        capacity,
        sent: Default::default(),
        closed: [false; 2],
    }));
    (
        TestChannel {
            state: state.clone(),
            side: 0,
        },
        TestChannel { state, side: 1 },
    )
}

impl TestChannel {
    /// Closes this end (its instance stopped): the other end sees
    /// `peer_closed`.
    pub fn close(&self) {
        self.state.borrow_mut().closed[self.side] = true;
    }
}

impl crate::platform::ChannelEnd for TestChannel {
    fn send(&mut self, data: &[u8]) -> usize {
        let mut s = self.state.borrow_mut();
        if s.closed[0] || s.closed[1] {
            return 0;
        }
        let n = data.len().min(s.capacity - s.sent[self.side].len());
        s.sent[self.side].extend(&data[..n]);
        n
    }
    fn recv(&mut self, buf: &mut [u8]) -> usize {
        let mut s = self.state.borrow_mut();
        let q = &mut s.sent[1 - self.side];
        let n = buf.len().min(q.len());
        for (b, v) in buf.iter_mut().zip(q.drain(..n)) {
            *b = v;
        }
        n
    }
    fn available(&self) -> usize {
        self.state.borrow().sent[1 - self.side].len()
    }
    fn room(&self) -> usize {
        let s = self.state.borrow();
        s.capacity - s.sent[self.side].len()
    }
    fn peer_closed(&self) -> bool {
        self.state.borrow().closed[1 - self.side]
    }
}
