//! The virtqueue on its own, with the test playing the device.

use crate::queue::{Buffer, Full, Queue, Token};
use crate::sim::{FakeDma, Mem};
use std::vec::Vec;

const SIZE: u16 = 8;
/// Where the first allocation lands, and the used ring in it.
const RING: u64 = 0x1_2340_0000;
const USED: u64 = RING + 4096;

fn chain(n: u64) -> impl Iterator<Item = Buffer> {
    (0..n).map(|i| Buffer {
        addr: 0x10_0000 + 0x1000 * i,
        len: 100 + i as u32,
        device_writes: i % 2 == 1,
    })
}

fn u16_at(dma: &FakeDma, paddr: u64) -> u16 {
    let mut b = [0; 2];
    dma.peek(paddr, &mut b);
    u16::from_le_bytes(b)
}

/// The avail index, and the heads in the avail ring.
fn avail(dma: &FakeDma) -> (u16, Vec<u16>) {
    let at = RING + 16 * u64::from(SIZE);
    let idx = u16_at(dma, at + 2);
    let heads = (0..idx).map(|i| u16_at(dma, at + 4 + 2 * u64::from(i % SIZE)));
    (idx, heads.collect())
}

/// The descriptors of the chain at `head`, following next while F_NEXT.
fn walk(dma: &FakeDma, head: u16) -> Vec<(u16, u64, u32, u16)> {
    let mut out = Vec::new();
    let mut i = head;
    loop {
        let mut d = [0; 16];
        dma.peek(RING + 16 * u64::from(i), &mut d);
        let addr = u64::from_le_bytes(d[..8].try_into().unwrap());
        let len = u32::from_le_bytes(d[8..12].try_into().unwrap());
        let flags = u16::from_le_bytes([d[12], d[13]]);
        out.push((i, addr, len, flags & 2));
        if flags & 1 == 0 {
            return out;
        }
        i = u16::from_le_bytes([d[14], d[15]]);
    }
}

/// The device returns `token` having written `len` bytes.
fn complete(dma: &FakeDma, used_idx: &mut u16, token: Token, len: u32) {
    let elem = USED + 4 + 8 * u64::from(*used_idx % SIZE);
    dma.poke(elem, &(token.index() as u32).to_le_bytes());
    dma.poke(elem + 4, &len.to_le_bytes());
    *used_idx = used_idx.wrapping_add(1);
    dma.poke(USED + 2, &used_idx.to_le_bytes());
}

#[test]
fn chains_take_free_descriptors_and_give_them_back_in_any_order() {
    let mut dma = FakeDma::new(Mem::default());
    let mut q = Queue::new(&mut dma, SIZE).unwrap();
    assert_eq!(q.pfn(), Some((RING / 4096) as u32));
    let a = q.submit(chain(3)).unwrap();
    let b = q.submit(chain(3)).unwrap();
    // 2 descriptors left: a chain of 3 fails and makes nothing available.
    assert_eq!(q.submit(chain(3)), Err(Full));
    assert_eq!(
        avail(&dma),
        (2, [a.index() as u16, b.index() as u16].into())
    );
    let c = q.submit(chain(2)).unwrap();
    assert_eq!(q.submit(chain(1)), Err(Full));
    let chains = [(a, 3), (b, 3), (c, 2)].map(|(t, n)| {
        let descriptors = walk(&dma, t.index() as u16);
        assert_eq!(descriptors.len(), n);
        descriptors
    });
    let mut all: Vec<_> = chains.iter().flatten().map(|d| d.0).collect();
    all.sort();
    assert_eq!(all, (0..SIZE).collect::<Vec<_>>(), "every descriptor once");
    for chain in &chains {
        let fields: Vec<_> = chain.iter().map(|d| (d.1, d.2, d.3)).collect();
        let expected: Vec<_> = (0..chain.len() as u64)
            .map(|i| (0x10_0000 + 0x1000 * i, 100 + i as u32, (i % 2 * 2) as u16))
            .collect();
        assert_eq!(fields, expected);
    }

    // The device returns b, then c, then a.
    let mut used = 0;
    assert!(!q.has_used());
    complete(&dma, &mut used, b, 5);
    complete(&dma, &mut used, c, 0);
    assert!(q.has_used());
    assert_eq!(q.pop_used(), Some((b, 5)));
    assert_eq!(q.pop_used(), Some((c, 0)));
    assert_eq!(q.pop_used(), None);
    // Five free: a chain of 6 does not fit, one of 5 does, with exactly
    // the freed descriptors.
    assert_eq!(q.submit(chain(6)), Err(Full));
    let d = q.submit(chain(5)).unwrap();
    let mut reused: Vec<_> = walk(&dma, d.index() as u16).iter().map(|d| d.0).collect();
    let mut freed: Vec<_> = chains[1].iter().chain(&chains[2]).map(|d| d.0).collect();
    reused.sort();
    freed.sort();
    assert_eq!(reused, freed);
    complete(&dma, &mut used, a, 7);
    complete(&dma, &mut used, d, 9);
    assert_eq!(q.pop_used(), Some((a, 7)));
    assert_eq!(q.pop_used(), Some((d, 9)));
    assert_eq!(q.submit(chain(8)).map(|_| ()), Ok(()));
}

#[test]
fn used_elements_that_name_no_chain_in_flight_are_skipped() {
    let mut dma = FakeDma::new(Mem::default());
    let mut q = Queue::new(&mut dma, SIZE).unwrap();
    let a = q.submit(chain(2)).unwrap();
    let b = q.submit(chain(2)).unwrap();
    let mut used = 0;
    // An index past the queue, a descriptor inside a chain, the same head
    // twice.
    let elem = |dma: &FakeDma, used: &mut u16, id: u32| {
        let at = USED + 4 + 8 * u64::from(*used % SIZE);
        dma.poke(at, &id.to_le_bytes());
        *used += 1;
        dma.poke(USED + 2, &used.to_le_bytes());
    };
    elem(&dma, &mut used, 1000);
    elem(&dma, &mut used, a.index() as u32 + 1);
    complete(&dma, &mut used, b, 1);
    complete(&dma, &mut used, b, 1);
    assert_eq!(q.pop_used(), Some((b, 1)));
    assert_eq!(q.pop_used(), None);
    // Six descriptors free (a's two are still out).
    assert_eq!(q.submit(chain(7)), Err(Full));
    assert!(q.submit(chain(6)).is_ok());
}
