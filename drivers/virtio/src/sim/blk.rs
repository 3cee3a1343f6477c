//! The simulated virtio-blk at slot 3 and its disk (0.9.5 Appendix D).

use super::{Desc, Function, Mem, Model, F_RING};
use std::vec::Vec;

pub const IO_BASE: u16 = 0xc040;
pub const IO_SIZE: u16 = 0x40;
pub const SLOT: u8 = 3;
pub const IRQ_LINE: u8 = 11;

pub const F_SIZE_MAX: u32 = 1 << 1;
pub const F_SEG_MAX: u32 = 1 << 2;
pub const F_GEOMETRY: u32 = 1 << 4;
pub const F_RO: u32 = 1 << 5;
pub const F_BLK_SIZE: u32 = 1 << 6;
pub const F_FLUSH: u32 = 1 << 9;

pub const T_IN: u32 = 0;
pub const T_OUT: u32 = 1;
pub const T_FLUSH: u32 = 4;

/// A request the device served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    pub kind: u32,
    pub sector: u64,
    pub len: usize,
    pub segments: usize,
}

/// The disk and the test's knobs.
pub struct Blk {
    pub seg_max: u32,
    pub disk: Vec<u8>,
    /// Reads and writes touching this sector fail with IOERR.
    pub fail_sector: Option<u64>,
    /// The status every request gets, if set.
    pub answer: Option<u8>,
    pub served: Vec<Served>,
}

/// The function at slot 3 with a disk of `sectors` sectors, one queue of
/// 256 entries.
pub fn disk_function(mem: Mem, sectors: u64) -> Function<Blk> {
    let disk = (0..sectors as usize * 512)
        .map(|i| (i / 512 * 13 + i) as u8)
        .collect();
    let blk = Blk {
        seg_max: 254,
        disk,
        fail_sector: None,
        answer: None,
        served: Vec::new(),
    };
    let mut f = Function::new(mem, IO_BASE, IO_SIZE, IRQ_LINE, &[256], blk);
    f.host_features = F_SIZE_MAX | F_SEG_MAX | F_GEOMETRY | F_BLK_SIZE | F_FLUSH | F_RING;
    f
}

impl Model for Blk {
    const ID: u32 = 0x1001_1af4;
    const CLASS: u32 = 0x0100_0000;
    const SUBSYSTEM: u32 = 0x0002_1af4;

    fn config(&self) -> Vec<u8> {
        let sectors = self.disk.len() as u64 / 512;
        let mut config = std::vec![0; 24];
        config[..8].copy_from_slice(&sectors.to_le_bytes());
        config[8..12].copy_from_slice(&(1u32 << 20).to_le_bytes());
        config[12..16].copy_from_slice(&self.seg_max.to_le_bytes());
        config[20..].copy_from_slice(&4096u32.to_le_bytes());
        config
    }

    fn notified(function: &mut Function<Self>, _queue: u16) {
        function.run();
    }
}

impl Function<Blk> {
    /// Serves everything in the avail ring, as a notification would.
    pub fn run(&mut self) {
        self.check_live();
        while let Some((head, chain)) = self.pop(0) {
            let written = self.serve(&chain);
            self.push_used(0, head, written);
        }
    }

    /// Serves one chain; returns how many bytes it wrote.
    fn serve(&mut self, chain: &[Desc]) -> u32 {
        let (header, rest) = chain.split_first().unwrap();
        let (status, data) = rest.split_last().expect("no status");
        assert_eq!((header.len, header.write), (16, false), "header buffer");
        assert_eq!((status.len, status.write), (1, true), "status buffer");
        if self.guest_features & F_SEG_MAX != 0 {
            assert!(
                data.len() <= self.seg_max as usize,
                "more segments than SEG_MAX"
            );
        }
        let mut h = [0; 16];
        self.load(header.addr, &mut h);
        let kind = u32::from_le_bytes(h[..4].try_into().unwrap());
        let sector = u64::from_le_bytes(h[8..].try_into().unwrap());
        let len = data.iter().map(|d| d.len).sum::<usize>();
        let segments = data.len();
        self.served.push(Served {
            kind,
            sector,
            len,
            segments,
        });

        let start = sector as usize * 512;
        let failing = self
            .fail_sector
            .is_some_and(|s| (sector..sector + len as u64 / 512).contains(&s));
        let result = match kind {
            T_IN | T_OUT => {
                assert!(
                    data.iter().all(|d| d.write == (kind == T_IN)),
                    "data direction"
                );
                assert_eq!(len % 512, 0);
                if start + len > self.disk.len() || failing {
                    1
                } else {
                    let mut at = start;
                    for d in data {
                        if kind == T_IN {
                            self.store(d.addr, &self.disk[at..at + d.len]);
                        } else {
                            let mut buf = std::vec![0; d.len];
                            self.load(d.addr, &mut buf);
                            self.disk[at..at + d.len].copy_from_slice(&buf);
                        }
                        at += d.len;
                    }
                    0
                }
            }
            T_FLUSH => {
                assert!(data.is_empty(), "data in a flush");
                0
            }
            _ => 2,
        };
        let result = self.answer.unwrap_or(result);
        self.store(status.addr, &[result]);
        1 + if kind == T_IN { len as u32 } else { 0 }
    }
}
