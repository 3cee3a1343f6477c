//! Selkie's net service task: the TCP/IP stack (`selkie-net`, smoltcp) in a
//! seL4 task of its own, serving the LibOS's socket calls over IPC with the
//! typed protocol of `selkie-netproto`, and reaching the NIC driver task
//! (apps/nicd) as its client (`selkie_sel4::service` lays the task out).
//!
//! The LibOS Calls the task's endpoint with a request in the shared request
//! buffer; the task answers with ReplyRecv, the response in the shared
//! response buffer. With LibOS instances it has up to eight more clients,
//! each Calling with its number as the badge and its own pair of buffers
//! (`CLIENT_BUFS`), each seeing only its own sockets
//! (`selkie_netproto::Tenants`); the root task (client 0) says when one is
//! gone (DROP_CLIENT) and its sockets are closed. The task Calls the NIC task through [`PEER_EP`], the NIC
//! task's buffers mapped at [`PEER_REQUEST_BUF`] and [`PEER_RESPONSE_BUF`],
//! and hears its signal (frames came in) on a notification bound to its TCB:
//! it then lets the stack take them in and signals the LibOS
//! ([`CLIENT_NOTIFICATION`]), which asks which sockets changed.
//!
//! The first Call is START `[mac, seed, tsc_mhz, boot_tsc]` (the MAC address
//! in the low 48 bits, first byte lowest, and above them a bit per client
//! whose notification it has, bit k for client k; the seed of sequence numbers and
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
    // Which clients have a notification to signal: bit k for client k.
    let clients = start[0] >> 48;
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
    // Client 0 (the root task's LibOS, or the root task itself) and, with
    // LibOS instances, clients 1 to 8: each sees only its own sockets.
    let mut tenants = selkie_netproto::Tenants::new();
    serving.answer(READY, [0; 4]);
    loop {
        let (badge, info, mrs) = serving.wait();
        if badge & PEER_SIGNAL != 0 {
            // The NIC task's signal: frames came in.
            stack.device_mut().link().announced = true;
            stack.poll(now_ms());
            tenants.collect_changes(&mut stack);
            signal_clients(clients, |_| true);
            continue;
        }
        let client = badge as usize;
        let n = match info.label() {
            REQUEST if client <= MAX_CLIENTS as usize => {
                let (req, resp) = buffers(client);
                let len = (mrs[0] as usize).min(BUF_BYTES);
                // SAFETY: the client's buffers are mapped (the request one
                // read-only); the client does not touch them while we serve.
                let (request, response) = unsafe {
                    (
                        core::slice::from_raw_parts(req as *const u8, len),
                        core::slice::from_raw_parts_mut(resp as *mut u8, BUF_BYTES),
                    )
                };
                // One client's clock cannot move the shared stack's past ours.
                tenants.set_clock(now_ms());
                let n = tenants.serve(&mut stack, client, request, response);
                // What this client did may concern another's sockets (a
                // connection over loopback to its listener): tell it.
                tenants.collect_changes(&mut stack);
                signal_clients(clients, |k| k != client && tenants.has_changes(k));
                n
            }
            DROP_CLIENT if client == 0 => {
                let gone = mrs[0] as usize;
                if gone >= 1 && gone <= MAX_CLIENTS as usize {
                    tenants.drop_client(&mut stack, gone);
                    stack.poll(now_ms());
                    tenants.collect_changes(&mut stack);
                    signal_clients(clients, |k| tenants.has_changes(k));
                }
                0
            }
            _ => 0,
        };
        serving.answer(RESPONSE, [n as u64, 0, 0, 0]);
    }
}

/// Client `k`'s request and response buffers.
fn buffers(k: usize) -> (u64, u64) {
    match k {
        0 => (REQUEST_BUF, RESPONSE_BUF),
        k => {
            let at = CLIENT_BUFS + (k as u64 - 1) * CLIENT_BUF_STRIDE;
            (at, at + CLIENT_RESPONSE)
        }
    }
}

/// Signals each client in `clients` (a bit per client number) that
/// `which` picks: its sockets may have changed.
fn signal_clients(clients: u64, which: impl Fn(usize) -> bool) {
    for k in 0..=MAX_CLIENTS as usize {
        if clients & (1 << k) == 0 || !which(k) {
            continue;
        }
        let slot = match k {
            0 => CLIENT_NOTIFICATION,
            k => CLIENT_NOTIFICATIONS + k as u64 - 1,
        };
        syscall::send(slot, MessageInfo::new(0, 0, 0, 0), [0; 4]);
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
        let len = (mrs[0] as usize).min(BUF_BYTES);
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
