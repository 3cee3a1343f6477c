//! What the root task hands a device driver task: an IOPort capability for
//! the device's registers only, the IRQ handler of its interrupt line, DMA
//! pages with their physical addresses, and the initial data that tells the
//! task where everything is. The disk (`blk`) and the NIC (`net`) tasks are
//! set up with these.
use alloc::rc::Rc;
use alloc::vec::Vec;
use selkie_libos::PageRef;
use selkie_sel4::{consts::*, invoke, CPtr, CapRights};
use selkie_task::objects::{self, DEPTH};
use selkie_task::vspace::CachePage;
use selkie_virtio::pci::PciDevice;

/// An IOPort capability covering `dev`'s I/O BAR and nothing else.
pub fn ioport_cap(dev: &PciDevice) -> Result<CPtr, selkie_sel4::Error> {
    let a = objects::get();
    let slot = a.alloc_slot()?;
    let last = dev.io_base as u64 + dev.io_size.max(1) as u64 - 1;
    invoke::cnode_mint(
        seL4_CapInitThreadCNode,
        slot,
        DEPTH,
        seL4_CapInitThreadCNode,
        seL4_CapIOPort,
        DEPTH,
        CapRights::ALL,
        ((dev.io_base as u64) << 16) | last,
    )
    .inspect_err(|_| a.free_slot(slot))?;
    Ok(slot)
}

/// The IRQ handler of PCI interrupt line `line` (an IOAPIC pin: QEMU's PC
/// routes PCI interrupts to ISA lines 10 and 11, level-triggered, active
/// high, as its ACPI tables say) on IOAPIC `vector`, and a notification it
/// signals with `badge`.
pub fn interrupt(line: u8, vector: u64, badge: u64) -> Result<(CPtr, CPtr), selkie_sel4::Error> {
    let a = objects::get();
    let ntfn = a.alloc_object(seL4_NotificationObject, 0)?;
    let badged = objects::mint_badged(ntfn, badge)?;
    let handler = a.alloc_slot()?;
    invoke::irq_control_get_ioapic(
        seL4_CapIRQControl,
        seL4_CapInitThreadCNode,
        handler,
        DEPTH,
        0,
        line as u64,
        1,
        0,
        vector,
    )?;
    invoke::irq_handler_set_notification(handler, badged)?;
    Ok((handler, ntfn))
}

/// DMA pages: first a run of physically contiguous, ascending pages for
/// each length in `runs`, then `singles` more, with their physical
/// addresses. Frames cut one after another from an untyped are contiguous;
/// reused ones come back in any order, so a few more are taken and sorted
/// to find the runs (those not taken go back to the pool).
pub fn dma_pages(runs: &[usize], singles: usize) -> Option<(Vec<PageRef>, Vec<u64>)> {
    let need = runs.iter().sum::<usize>() + singles;
    let mut pages: Vec<(CachePage, u64)> = Vec::new();
    for _ in 0..512 {
        let p = CachePage::new().ok()?;
        let paddr = invoke::page_get_address(p.cap()).ok()?;
        pages.push((p, paddr));
        if pages.len() < need {
            continue;
        }
        pages.sort_by_key(|p| p.1);
        let mut free: Vec<Option<(CachePage, u64)>> = pages.drain(..).map(Some).collect();
        let mut out = Vec::new();
        let mut found = true;
        for &len in runs {
            let start = (0..=free.len().saturating_sub(len)).find(|&i| {
                (0..len).all(|k| {
                    matches!((&free[i], &free[i + k]), (Some(a), Some(b)) if b.1 == a.1 + 4096 * k as u64)
                })
            });
            match start {
                Some(i) => out.extend(free[i..i + len].iter_mut().map(|p| p.take().expect("free"))),
                None => {
                    found = false;
                    break;
                }
            }
        }
        if found {
            out.extend(free.iter_mut().filter_map(|p| p.take()).take(singles));
            return Some(
                out.into_iter()
                    .map(|(p, a)| (Rc::new(p) as PageRef, a))
                    .unzip(),
            );
        }
        // Keep them all and take another.
        pages = free.into_iter().flatten().collect();
        out.into_iter().for_each(|p| pages.push(p));
    }
    None
}

/// The initial data of a driver task: its device and DMA pages as
/// `PciDevice::to_words` has them, little-endian.
pub fn initial_data(dev: &PciDevice, paddrs: &[u64]) -> Vec<u8> {
    dev.to_words(paddrs)
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect()
}
