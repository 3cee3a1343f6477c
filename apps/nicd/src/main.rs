//! Selkie's NIC driver task: the legacy virtio-net driver (`selkie-virtio`)
//! in a seL4 task of its own, moving Ethernet frames for its client (the
//! net service task, or the LibOS when the network stack is linked into
//! it) over IPC, the frames in the shared buffers as batches
//! (`selkie_net::nic`; `selkie_sel4::service` lays the task out).
//!
//! The root task finds the device on the PCI bus, enables it, and gives
//! this task an IOPort capability for the device's registers only, the IRQ
//! handler of its interrupt line with a notification bound to the task,
//! a capability to signal its client, and DMA pages: two runs of three
//! physically contiguous ones for the rings, then single ones for the
//! frame buffers. Their physical addresses, the register ports and the
//! interrupt line come in the initial data at `INITRD`, as u64 words:
//! `[io_base, io_size, irq_line, pages, paddr...]`.
//!
//! The first Call is START, answered READY `[mac]` (the MAC address in the
//! low 48 bits, first byte lowest). Requests (label REQUEST):
//!
//! - `[len, SEND]`: the request buffer holds a batch of `len` bytes; the
//!   answer is `[0, sent, room]`, the frames the device took (it stops at
//!   the first it has no room for) and how many more it has room for;
//! - `[0, FETCH]`: the answer `[len, count, more]` puts a batch of the frames
//!   received since the last FETCH into the response buffer, as many as fit,
//!   and says whether more are waiting.
//!
//! Between Calls the task waits on its endpoint, and its interrupt arrives
//! there too (the notification is bound to its TCB): it acknowledges the
//! device and signals its client when frames came in (the client then
//! FETCHes) or when room to send came back after a SEND found none.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use selkie_net::nic::{decode_batch, MAX_FRAME};
use selkie_sel4::driver::{DmaMem, DmaPool, IoPorts};
use selkie_sel4::ipc::MessageInfo;
use selkie_sel4::rt::Serving;
use selkie_sel4::service::*;
use selkie_sel4::{invoke, syscall};
use selkie_virtio::net::VirtioNet;
use selkie_virtio::pci::PciDevice;

selkie_sel4::service_task!(main);

/// Request operations.
const SEND: u64 = 1;
const FETCH: u64 = 2;

fn main(data_len: u64) -> ! {
    init_heap();
    // The first Call (START).
    let _ = syscall::recv(SERVICE_EP);
    // SAFETY: the root task maps `data_len` bytes of u64 words at INITRD.
    let words = unsafe { core::slice::from_raw_parts(INITRD as *const u64, data_len as usize / 8) };
    let Some((dev, paddrs)) = PciDevice::from_words(words) else {
        panic!("the initial data ({data_len} bytes) does not describe a device");
    };
    // SAFETY: the root task mapped these pages from DMA, for this task alone.
    let mut pool = unsafe { DmaPool::new(DMA as usize, paddrs) };
    let mut net = match VirtioNet::new(IoPorts(IOPORT), &dev, &mut pool, Default::default()) {
        Ok(n) => n,
        Err(e) => panic!("virtio-net does not start: {e:?}"),
    };
    let mac = net
        .mac()
        .iter()
        .enumerate()
        .fold(0u64, |m, (i, &b)| m | (b as u64) << (8 * i));
    // Interrupts start masked.
    let _ = invoke::irq_handler_ack(IRQ_HANDLER);
    let mut serving = Serving::default();
    serving.answer(READY, [mac, 0, 0, 0]);
    // A SEND found the transmit queue full: tell the client when it drains.
    let mut blocked = false;
    loop {
        let (badge, info, mrs) = serving.wait();
        if badge != 0 {
            // The device's interrupt (the bound notification).
            net.handle_irq();
            let _ = invoke::irq_handler_ack(IRQ_HANDLER);
            let room_back = blocked && net.tx_room() > 0;
            if net.can_receive() || room_back {
                blocked = false;
                syscall::send(CLIENT_NOTIFICATION, MessageInfo::new(0, 0, 0, 0), [0; 4]);
            }
            continue;
        }
        let (label, mrs) = match (info.label(), mrs[1]) {
            (REQUEST, SEND) => {
                let sent = send(&mut net, mrs[0] as usize);
                let room = net.tx_room();
                blocked = room == 0;
                (RESPONSE, [0, sent, room as u64, 0])
            }
            (REQUEST, FETCH) => {
                let (len, count) = fetch(&mut net);
                (RESPONSE, [len as u64, count, net.can_receive() as u64, 0])
            }
            _ => (RESPONSE, [0, 0, 0, 0]),
        };
        serving.answer(label, mrs);
    }
}

/// Hands the frames of the request buffer's batch to the device; the count
/// it took.
fn send(net: &mut VirtioNet<IoPorts, DmaMem>, len: usize) -> u64 {
    // SAFETY: the request buffer is mapped read-only; the client does not
    // touch it while we serve.
    let batch =
        unsafe { core::slice::from_raw_parts(REQUEST_BUF as *const u8, len.min(BUF_BYTES)) };
    let mut sent = 0;
    for frame in decode_batch(batch) {
        match net.transmit(frame.len(), |b| b.copy_from_slice(frame)) {
            Ok(()) => sent += 1,
            // Too long or empty: dropped, as the device would.
            Err(selkie_virtio::NetError::TooLong | selkie_virtio::NetError::Empty) => sent += 1,
            Err(selkie_virtio::NetError::Full) => break,
        }
    }
    sent
}

/// Moves received frames into the response buffer as a batch: its length
/// and the frame count.
fn fetch(net: &mut VirtioNet<IoPorts, DmaMem>) -> (usize, u64) {
    // SAFETY: the response buffer is mapped writable; the client reads it
    // only after our answer.
    let out = unsafe { core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF_BYTES) };
    let (mut at, mut count) = (0, 0);
    while out.len() - at >= 2 + MAX_FRAME {
        let slot: &mut [u8; MAX_FRAME] = (&mut out[at + 2..at + 2 + MAX_FRAME])
            .try_into()
            .expect("a slot of MAX_FRAME bytes");
        let Some(n) = net.receive_into(slot) else {
            break;
        };
        out[at..at + 2].copy_from_slice(&(n as u16).to_le_bytes());
        at += 2 + n;
        count += 1;
    }
    (at, count)
}

// A small fixed heap: the driver's bookkeeping only (its client cannot
// map pages for it).
selkie_sel4::fixed_heap!(256 << 10);
