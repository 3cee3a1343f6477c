//! Selkie's block service task: the legacy virtio-blk driver
//! (`selkie-virtio`) in a seL4 task of its own, serving sector reads
//! and writes to the root task over IPC, the data in the shared buffers
//! (`selkie_sel4::service` lays the task out).
//!
//! The root task finds the device on the PCI bus, enables it, and gives
//! this task an IOPort capability for the device's registers only, and DMA
//! pages: three physically contiguous ones for the ring, then single
//! ones. Their physical addresses, the register ports and the device's
//! interrupt line come in the initial data at `INITRD`, as u64 words:
//! `[io_base, io_size, irq_line, pages, paddr...]`.
//!
//! Requests (label REQUEST): `[len, op, sector, count]`, op 1 reads `count`
//! bytes into the response buffer, op 2 writes the `len` bytes of the
//! request buffer, op 3 flushes. Answers (RESPONSE): `[len, status]`, status
//! 0 or a [`blk_status`] code. The first Call is START `[irq]`, answered
//! READY `[sectors, read_only]`.
//!
//! A request waits for the device's interrupt when START's `irq` is 1: the
//! root task has then put the IRQ handler of the device's interrupt line and
//! the notification it signals in the task's CSpace ([`IrqWait`]). Otherwise
//! (the line could not be had) the task polls the device.
#![no_std]
#![no_main]
#![allow(unsafe_code)]

extern crate alloc;

use selkie_sel4::driver::{DmaMem, DmaPool, IoPorts};
use selkie_sel4::service::*;
use selkie_sel4::{invoke, syscall};
use selkie_virtio::{pci::PciDevice, Config, IoError, Spin, VirtioBlk, Wait, Waited};

selkie_sel4::service_task!(main);

/// Request operations.
const READ: u64 = 1;
const WRITE: u64 = 2;
const FLUSH: u64 = 3;

/// The status code of a failed request (0 is success).
fn blk_status(e: IoError) -> u64 {
    match e {
        IoError::BadRequest => 1,
        IoError::DeviceError => 2,
        IoError::Unsupported => 3,
        IoError::Timeout => 4,
    }
}

fn main(data_len: u64) -> ! {
    init_heap();
    // The first Call (START): from now on there is always a caller to answer.
    let (_, _, start) = syscall::recv(SERVICE_EP);
    let irq = start[0] == 1;
    // SAFETY: the root task maps `data_len` bytes of u64 words at INITRD.
    let words = unsafe { core::slice::from_raw_parts(INITRD as *const u64, data_len as usize / 8) };
    let Some((dev, paddrs)) = PciDevice::from_words(words) else {
        panic!("the initial data ({data_len} bytes) does not describe a device");
    };
    // SAFETY: the root task mapped these pages from DMA, for this task alone.
    let mut pool = unsafe { DmaPool::new(DMA as usize, paddrs) };
    if irq {
        match VirtioBlk::new(IoPorts(IOPORT), &dev, &mut pool, Config::default(), IrqWait) {
            Ok(mut blk) => serve(&mut blk),
            Err(e) => panic!("virtio-blk does not start: {e:?}"),
        }
    }
    match VirtioBlk::new(
        IoPorts(IOPORT),
        &dev,
        &mut pool,
        Config::default(),
        Spin::default(),
    ) {
        Ok(mut blk) => serve(&mut blk),
        Err(e) => panic!("virtio-blk does not start: {e:?}"),
    }
}

/// Waits for the device's interrupt, as [`Wait`] says: acknowledges the
/// handler (which unmasks the line), then blocks on the notification.
struct IrqWait;

impl Wait for IrqWait {
    fn wait(&mut self, _attempt: u32) -> Result<Waited, IoError> {
        let _ = invoke::irq_handler_ack(IRQ_HANDLER);
        syscall::recv(IRQ_NOTIFICATION);
        Ok(Waited::Irq)
    }
}

/// Answers READY, then serves requests for ever.
fn serve<W: Wait>(blk: &mut VirtioBlk<IoPorts, DmaMem, W>) -> ! {
    let info = blk.info();
    let (mut msg, mut mrs) =
        selkie_sel4::rt::service_answer(READY, [info.sectors, info.read_only as u64, 0, 0]);
    loop {
        if msg.label() != REQUEST {
            (msg, mrs) = selkie_sel4::rt::service_answer(
                RESPONSE,
                [0, blk_status(IoError::BadRequest), 0, 0],
            );
            continue;
        }
        let [len, op, sector, count] = mrs;
        // SAFETY: both buffers are mapped (the request one read-only); the
        // root task does not touch them while we serve.
        let (request, response) = unsafe {
            (
                core::slice::from_raw_parts(
                    REQUEST_BUF as *const u8,
                    (len as usize).min(BUF_BYTES),
                ),
                core::slice::from_raw_parts_mut(RESPONSE_BUF as *mut u8, BUF_BYTES),
            )
        };
        let (n, res) = match op {
            READ if count as usize <= BUF_BYTES => {
                let n = count as usize;
                (n, blk.read(sector, &mut response[..n]))
            }
            WRITE => (0, blk.write(sector, request)),
            FLUSH => (0, blk.flush()),
            _ => (0, Err(IoError::BadRequest)),
        };
        let status = res.err().map_or(0, blk_status);
        let n = if status == 0 { n as u64 } else { 0 };
        (msg, mrs) = selkie_sel4::rt::service_answer(RESPONSE, [n, status, 0, 0]);
    }
}

// A small fixed heap: the driver's bookkeeping only.
selkie_sel4::fixed_heap!(256 << 10);
