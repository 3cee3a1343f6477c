//! A LibOS instance's side of the root task (feature `instance`): what it
//! was told at start ([`Info`]), the console, timer and exit it asks the
//! root task for, and its inter-instance channels. The layout and the
//! messages are `selkie_sel4::instance`'s.
use core::sync::atomic::{fence, Ordering};
use selkie_sel4::instance::*;
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::syscall;

/// What the root task wrote for this instance.
pub fn info() -> &'static Info {
    // SAFETY: the root task maps the page read-only before we start, for good.
    unsafe { &*(INFO as *const Info) }
}

/// The instance's name.
pub fn name() -> &'static str {
    let i = info();
    core::str::from_utf8(&i.name[..(i.name_len as usize).min(16)]).unwrap_or("?")
}

/// The initial file tree the root task maps for every instance.
pub fn rootfs() -> &'static [u8] {
    let i = info();
    // SAFETY: the root task maps this range read-only before we start.
    unsafe {
        core::slice::from_raw_parts(
            (ROOTFS + i.rootfs_offset) as *const u8,
            i.rootfs_len as usize,
        )
    }
}

/// The instance's own files the root task maps, to lay over the tree.
pub fn tree() -> Option<&'static [u8]> {
    let i = info();
    // SAFETY: the root task maps this range read-only before we start.
    (i.tree_len > 0).then(|| unsafe {
        core::slice::from_raw_parts((TREE + i.tree_offset) as *const u8, i.tree_len as usize)
    })
}

fn call(label: u64, mrs: syscall::Mrs) -> syscall::Mrs {
    syscall::call(ROOT_EP, MessageInfo::new(label, 0, 0, 4), mrs).1
}

fn console_page() -> *mut u8 {
    CONSOLE_PAGE as *mut u8
}

/// Writes bytes to the console through the root task.
pub fn console_write(data: &[u8]) {
    for chunk in data.chunks(4096) {
        // SAFETY: the console page is ours, mapped read-write; the root task
        // reads it only during our Call.
        unsafe { core::ptr::copy_nonoverlapping(chunk.as_ptr(), console_page(), chunk.len()) };
        call(CONSOLE_WRITE, [chunk.len() as u64, 0, 0, 0]);
    }
}

/// Console input the root task holds for us (none unless we read the
/// console).
pub fn console_read(buf: &mut [u8]) -> usize {
    if info().flags & FLAG_CONSOLE == 0 {
        return 0;
    }
    let n = (call(CONSOLE_READ, [0; 4])[0] as usize)
        .min(buf.len())
        .min(4096);
    // SAFETY: as in `console_write`.
    unsafe { core::ptr::copy_nonoverlapping(console_page(), buf.as_mut_ptr(), n) };
    n
}

/// Asks for a BADGE_TIMER signal at `deadline` (ns since boot).
pub fn arm_timer(deadline: u64) {
    call(TIMER_ARM, [deadline, 0, 0, 0]);
}

/// Our commands are done: the root task stops us.
pub fn exit(status: u64) -> ! {
    call(EXIT, [status, 0, 0, 0]);
    loop {
        syscall::yield_now();
    }
}

/// A writer into the console page that never allocates (for panics).
struct PageWriter(usize);

impl core::fmt::Write for PageWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(4096 - self.0);
        // SAFETY: within the console page.
        unsafe { core::ptr::copy_nonoverlapping(s.as_ptr(), console_page().add(self.0), n) };
        self.0 += n;
        Ok(())
    }
}

/// Tells the root task we panicked; it reports it and reclaims us.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    use core::fmt::Write;
    let mut w = PageWriter(0);
    let _ = write!(w, "{info}");
    call(PANIC, [w.0 as u64, 0, 0, 0]);
    loop {
        syscall::yield_now();
    }
}

/// The name of channel `i`.
pub fn channel_name(i: usize) -> &'static str {
    let n = &info().channel_names[i];
    let len = n.iter().position(|&b| b == 0).unwrap_or(16);
    core::str::from_utf8(&n[..len]).unwrap_or("?")
}

/// One end of channel `i`: our out-ring and in-ring (single writer, single
/// reader each, see `RingHeader`), and the peer's notification.
pub struct RingEnd {
    out: *mut RingHeader,
    inn: *mut RingHeader,
    peer: u64,
}

fn f_head(h: *mut RingHeader) -> *mut u64 {
    // SAFETY: only computes the field's address.
    unsafe { core::ptr::addr_of_mut!((*h).head) }
}
fn f_tail(h: *mut RingHeader) -> *mut u64 {
    // SAFETY: as in `f_head`.
    unsafe { core::ptr::addr_of_mut!((*h).tail) }
}
fn f_closed(h: *mut RingHeader) -> *mut u64 {
    // SAFETY: as in `f_head`.
    unsafe { core::ptr::addr_of_mut!((*h).closed) }
}

impl RingEnd {
    pub fn new(i: usize) -> RingEnd {
        let base = CHANNELS + i as u64 * CHANNEL_STRIDE;
        RingEnd {
            out: base as *mut RingHeader,
            inn: (base + RING_PAGES * 4096) as *mut RingHeader,
            peer: CHANNEL_NTFN + i as u64,
        }
    }

    fn data(h: *mut RingHeader) -> *mut u8 {
        (h as u64 + 4096) as *mut u8
    }

    fn load(p: *const u64) -> u64 {
        // SAFETY: the header page stays mapped; the other side writes the
        // other counter, so volatile reads see its updates.
        unsafe { core::ptr::read_volatile(p) }
    }

    fn store(p: *mut u64, v: u64) {
        // SAFETY: as in `load`; only we write this counter.
        unsafe { core::ptr::write_volatile(p, v) }
    }

    fn signal(&self) {
        syscall::send(self.peer, MessageInfo::new(0, 0, 0, 0), [0; 4]);
    }

    fn send_bytes(&mut self, data: &[u8]) -> usize {
        let (head, tail) = (Self::load(f_head(self.out)), Self::load(f_tail(self.out)));
        fence(Ordering::Acquire);
        let room = RING_BYTES - (head - tail);
        let n = (data.len() as u64).min(room) as usize;
        let buf = Self::data(self.out);
        for (k, &b) in data[..n].iter().enumerate() {
            let at = (head + k as u64) % RING_BYTES;
            // SAFETY: `at` is inside the ring's data pages.
            unsafe { buf.add(at as usize).write_volatile(b) };
        }
        fence(Ordering::Release);
        Self::store(f_head(self.out), head + n as u64);
        if n > 0 {
            self.signal();
        }
        n
    }

    fn recv_bytes(&mut self, out: &mut [u8]) -> usize {
        let (head, tail) = (Self::load(f_head(self.inn)), Self::load(f_tail(self.inn)));
        fence(Ordering::Acquire);
        let n = ((head - tail) as usize).min(out.len());
        let buf = Self::data(self.inn);
        for (k, b) in out[..n].iter_mut().enumerate() {
            let at = (tail + k as u64) % RING_BYTES;
            // SAFETY: inside the ring's data pages.
            *b = unsafe { buf.add(at as usize).read_volatile() };
        }
        fence(Ordering::Release);
        Self::store(f_tail(self.inn), tail + n as u64);
        if n > 0 {
            self.signal();
        }
        n
    }

    fn waiting(&self) -> usize {
        (Self::load(f_head(self.inn)) - Self::load(f_tail(self.inn))) as usize
    }

    fn free(&self) -> usize {
        (RING_BYTES - (Self::load(f_head(self.out)) - Self::load(f_tail(self.out)))) as usize
    }

    fn closed(&self) -> bool {
        // The root task sets `closed` of our in-ring when the peer stopped.
        Self::load(f_closed(self.inn)) != 0
    }
}

impl selkie_libos::ChannelEnd for RingEnd {
    fn send(&mut self, data: &[u8]) -> usize {
        self.send_bytes(data)
    }
    fn recv(&mut self, buf: &mut [u8]) -> usize {
        self.recv_bytes(buf)
    }
    fn available(&self) -> usize {
        self.waiting()
    }
    fn room(&self) -> usize {
        self.free()
    }
    fn peer_closed(&self) -> bool {
        self.closed()
    }
}

/// A service the root task made this instance a client of (the shared net
/// task, a shared file system): its endpoint (badged with our number) and
/// our request and response buffers, as a `selkie_proto` transport.
pub struct Peer {
    ep: u64,
    request: u64,
    response: u64,
    dead: bool,
}

impl Peer {
    /// The net task, when the root task made this instance its client.
    pub fn net() -> Option<Peer> {
        (info().flags & FLAG_NET != 0).then_some(Peer {
            ep: NET_EP,
            request: NET_REQUEST,
            response: NET_RESPONSE,
            dead: false,
        })
    }

    /// Shared file system `k` and its name.
    pub fn share(k: usize) -> (Peer, &'static str) {
        let at = SHARES + k as u64 * SHARE_STRIDE;
        let n = &info().share_names[k];
        let len = n.iter().position(|&b| b == 0).unwrap_or(16);
        let peer = Peer {
            ep: SHARE_EPS + k as u64,
            request: at,
            response: at + SHARE_RESPONSE,
            dead: false,
        };
        (peer, core::str::from_utf8(&n[..len]).unwrap_or("?"))
    }
}

const PEER_BUF: usize = selkie_sel4::service::BUF_BYTES;

impl selkie_proto::Transport for Peer {
    fn capacity(&self) -> usize {
        PEER_BUF
    }

    fn call(
        &mut self,
        request: &[u8],
        response: &mut alloc::vec::Vec<u8>,
    ) -> Result<(), selkie_proto::Dead> {
        if self.dead || request.len() > PEER_BUF {
            return Err(selkie_proto::Dead);
        }
        // SAFETY: the request buffer is ours, mapped read-write; the
        // service reads it only during our Call.
        unsafe {
            core::ptr::copy_nonoverlapping(request.as_ptr(), self.request as *mut u8, request.len())
        };
        let (info, mrs) = syscall::call(
            self.ep,
            MessageInfo::new(selkie_sel4::service::REQUEST, 0, 0, 4),
            [request.len() as u64, 0, 0, 0],
        );
        if info.label() != selkie_sel4::service::RESPONSE || mrs[0] as usize > PEER_BUF {
            // It panicked or faulted (the root task reports it): the
            // service is gone for this instance.
            self.dead = true;
            return Err(selkie_proto::Dead);
        }
        let len = mrs[0] as usize;
        response.clear();
        response.resize(len, 0);
        // SAFETY: the response buffer is mapped read-only for us; the
        // service wrote it before answering.
        unsafe {
            core::ptr::copy_nonoverlapping(self.response as *const u8, response.as_mut_ptr(), len)
        };
        Ok(())
    }
}
