//! Selkie's net service task: the TCP/IP stack (`selkie-net`, smoltcp) in a
//! seL4 task of its own, serving the LibOS's socket calls over IPC with the
//! typed protocol of `selkie-netproto`, and reaching the NIC driver task
//! (apps/nicd) as its client (`selkie_sel4::service` lays the task out).
//!
//! The LibOS Calls the task's endpoint with a request in the shared request
//! buffer; the task answers with ReplyRecv, the response in the shared
//! response buffer. The task Calls the NIC task through [`PEER_EP`], the NIC
//! task's buffers mapped at [`PEER_REQUEST_BUF`] and [`PEER_RESPONSE_BUF`],
//! and hears its signal (frames came in) on a notification bound to its TCB:
//! it then lets the stack take them in and signals the LibOS
//! ([`CLIENT_NOTIFICATION`]), which asks which sockets changed.
//!
//! The first Call is START `[mac, seed, tsc_mhz, boot_tsc]` (the MAC address
//! in the low 48 bits, first byte lowest; the seed of sequence numbers and
//! ports; the TSC's rate and its count at boot, so that the task's clock is
//! the LibOS's, which passes its time with every poll), answered READY. The heap is a fixed
//! arena: the task also runs when no client waits for it, so it cannot ask
//! for pages as the fs task does.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use selkie_net::nic::{decode_batch, encode_batch, NicLink, RemoteNic};
use selkie_net::{Config, Net, Stack};
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::rt::Serving;
use selkie_sel4::service::*;
use selkie_sel4::syscall;

selkie_sel4::service_task!(main);

const BUF: usize = (BUF_PAGES * 4096) as usize;

/// The NIC task's request operations (apps/nicd).
const NIC_SEND: u64 = 1;
const NIC_FETCH: u64 = 2;

/// The heap: socket buffers and the stack's state.
const HEAP_SIZE: usize = 16 << 20;
/// What socket buffers may take of it.
const SOCKET_BUFFERS: usize = 12 << 20;

/// TSC ticks a millisecond and the TSC at boot (START's last two words).
static mut TSC_PER_MS: u64 = 1;
static mut BOOT_TSC: u64 = 0;

/// Milliseconds since boot, as the LibOS counts them.
fn now_ms() -> u64 {
    // SAFETY: reading the TSC has no side effects; the statics are written
    // once before the stack exists.
    unsafe { core::arch::x86_64::_rdtsc().wrapping_sub(BOOT_TSC) / TSC_PER_MS }
}

fn main(_: u64) -> ! {
    init_heap();
    let (_, _, start) = syscall::recv(SERVICE_EP);
    // SAFETY: single-threaded; before any use.
    unsafe {
        TSC_PER_MS = start[2].saturating_mul(1000).max(1);
        BOOT_TSC = start[3];
    }
    let mut cfg = Config::qemu_user();
    cfg.mac = core::array::from_fn(|i| (start[0] >> (8 * i)) as u8);
    cfg.seed = start[1];
    cfg.max_buffer_bytes = SOCKET_BUFFERS;
    let nic = RemoteNic::new(PeerNic {
        announced: false,
        dead: false,
        batch: alloc::vec![0; 2 + selkie_net::nic::MAX_FRAME],
    });
    let mut stack = match Stack::new(cfg, nic, now_ms()) {
        Ok(s) => s,
        Err(e) => panic!("the network stack does not start: {e:?}"),
    };
    let mut serving = Serving::default();
    serving.answer(READY, [0; 4]);
    loop {
        let (badge, info, mrs) = serving.wait();
        if badge != 0 {
            // The NIC task's signal: frames came in.
            stack.device_mut().link().announced = true;
            stack.poll(now_ms());
            syscall::send(CLIENT_NOTIFICATION, MessageInfo::new(0, 0, 0, 0), [0; 4]);
            continue;
        }
        let n = if info.label() == REQUEST {
            let len = (mrs[0] as usize).min(BUF);
            // SAFETY: both buffers are mapped (the request one read-only);
            // the client does not touch them while we serve.
            let (request, response) = unsafe {
                (
                    core::slice::from_raw_parts(REQUEST_BUF as *const u8, len),
                    core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF),
                )
            };
            selkie_netproto::serve(&mut stack, request, response)
        } else {
            0
        };
        serving.answer(RESPONSE, [n as u64, 0, 0, 0]);
    }
}

/// The NIC task, Called through PEER_EP.
struct PeerNic {
    /// Its signal came (set by the loop).
    announced: bool,
    /// It panicked or faulted: no more frames either way.
    dead: bool,
    batch: Vec<u8>,
}

impl PeerNic {
    /// One request; the answer's message registers.
    fn call(&mut self, mrs: syscall::Mrs) -> Option<syscall::Mrs> {
        if self.dead {
            return None;
        }
        let (info, mrs) = syscall::call(PEER_EP, MessageInfo::new(REQUEST, 0, 0, 4), mrs);
        if info.label() != RESPONSE {
            // PANIC or FAULTED: the root task hears of it when it stops
            // the task; here the link is down for good.
            self.dead = true;
            return None;
        }
        Some(mrs)
    }
}

impl NicLink for PeerNic {
    fn send(&mut self, frame: &[u8]) -> Option<usize> {
        let (len, count) = encode_batch([frame], &mut self.batch);
        if count != 1 {
            return None;
        }
        // SAFETY: the peer's request buffer is mapped writable here; the
        // NIC task reads it only while we wait in the Call.
        let out = unsafe { core::slice::from_raw_parts_mut(PEER_REQUEST_BUF as *mut u8, len) };
        out.copy_from_slice(&self.batch[..len]);
        self.call([len as u64, NIC_SEND, 0, 0])
            .filter(|mrs| mrs[1] == 1)
            .map(|mrs| mrs[2] as usize)
    }

    fn fetch(&mut self, out: &mut VecDeque<Vec<u8>>) -> bool {
        let Some(mrs) = self.call([0, NIC_FETCH, 0, 0]) else {
            return false;
        };
        let len = (mrs[0] as usize).min(BUF);
        // SAFETY: the peer's response buffer is mapped read-only here; the
        // NIC task wrote it before answering.
        let batch = unsafe { core::slice::from_raw_parts(PEER_RESPONSE_BUF as *const u8, len) };
        out.extend(decode_batch(batch).map(|f| f.to_vec()));
        mrs[2] != 0
    }

    fn take_announced(&mut self) -> bool {
        core::mem::take(&mut self.announced)
    }
}

selkie_sel4::fixed_heap!(HEAP_SIZE);
