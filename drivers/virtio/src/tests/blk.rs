use crate::pci::{self, Address, PciDevice};
use crate::sim::*;
use crate::*;
use std::vec::Vec;

const SECTORS: u64 = 4096; // 2 MiB

type Blk<W = Spin> = VirtioBlk<Machine, Region, W>;

/// The device, found and enabled (as the root task does before the driver
/// starts).
fn find(m: &Machine) -> PciDevice {
    let dev = pci::find_virtio_blk(&mut m.clone()).expect("no virtio-blk");
    dev.enable(&mut m.clone());
    dev
}

fn boot_with<W: Wait>(m: &Machine, config: Config, wait: W) -> Blk<W> {
    VirtioBlk::new(m.clone(), &find(m), &mut m.dma(), config, wait).unwrap()
}

fn boot(m: &Machine) -> Blk {
    boot_with(m, Config::default(), Spin { limit: 100 })
}

/// Distinct contents for each test write.
fn pattern(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 31 + seed * 7 + i as u64 / 512) as u8)
        .collect()
}

fn disk(m: &Machine, sector: u64, len: usize) -> Vec<u8> {
    let at = sector as usize * SECTOR_SIZE;
    m.dev().disk[at..at + len].to_vec()
}

fn served(m: &Machine) -> Vec<Served> {
    std::mem::take(&mut m.dev().served)
}

#[test]
fn probe_finds_the_device_on_slot_3() {
    let m = Machine::new(SECTORS);
    let address = Address {
        bus: 0,
        device: SLOT,
        function: 0,
    };
    let expected = PciDevice {
        address,
        io_base: IO_BASE,
        io_size: IO_SIZE,
        irq_line: IRQ_LINE,
        irq_pin: 1,
    };
    assert_eq!(pci::find_virtio_blk(&mut m.clone()), Some(expected));
    // Sizing restored BAR0 and left the command register alone.
    let dev = m.dev();
    assert_eq!((dev.bar0, dev.command), (u32::from(IO_BASE) | 1, 0));
    drop(dev);
    let _blk = boot(&m);
    assert_eq!(m.dev().command, 0b101, "I/O decoding and bus mastering");
}

#[test]
fn probe_passes_over_what_is_not_a_legacy_disk() {
    let m = Machine::new(SECTORS);
    m.dev().present = false;
    assert_eq!(pci::find_virtio_blk(&mut m.clone()), None);
    let m = Machine::new(SECTORS);
    m.dev().bar0 = 0xfebf_0000; // a memory BAR0
    assert_eq!(pci::find_virtio_blk(&mut m.clone()), None);
}

#[test]
fn handshake_negotiates_only_what_the_driver_knows() {
    let m = Machine::new(SECTORS);
    let mut dma = m.dma();
    let blk = VirtioBlk::new(
        m.clone(),
        &find(&m),
        &mut dma,
        Config::default(),
        Spin::default(),
    )
    .unwrap();
    let dev = m.dev();
    assert_eq!(dev.status_log, [0, 1, 3, 7]);
    assert_eq!(dev.guest_features, F_SEG_MAX | F_BLK_SIZE | F_FLUSH);
    // The ring (3 pages for 256 entries), the header page, 16 data pages.
    assert_eq!(ring_pages(256), 3);
    assert_eq!(dma.allocations, [[3, 1].as_slice(), &[1; 16]].concat());
    assert_eq!(u64::from(dev.queues[0].pfn) * 4096, 0x1_2340_0000);
    let info = Info {
        sectors: SECTORS,
        read_only: false,
        flush: true,
        block_size: Some(4096),
        seg_max: Some(254),
        queue_size: 256,
        max_transfer: 64 << 10,
    };
    assert_eq!(blk.info(), info);
    assert_eq!(blk.sectors(), SECTORS);
}

#[test]
fn reads_and_writes_round_trip() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    let cases = [
        (0, 512),
        (7, 8 * 512),
        (100, 64 << 10),
        (1000, 200 << 10),
        (SECTORS - 1, 512),
    ];
    for (seed, (sector, len)) in cases.into_iter().enumerate() {
        let data = pattern(seed as u64, len);
        blk.write(sector, &data).unwrap();
        assert_eq!(disk(&m, sector, len), data, "write of {len} at {sector}");
        let mut back = std::vec![0; len];
        blk.read(sector, &mut back).unwrap();
        assert_eq!(back, data, "read of {len} at {sector}");
    }
    // 200 KiB went as 64 + 64 + 64 + 8 KiB, one page per segment.
    let big: Vec<_> = served(&m)
        .into_iter()
        .filter(|s| s.kind == T_OUT && (1000..2000).contains(&s.sector))
        .collect();
    let lens: Vec<_> = big.iter().map(|s| (s.sector, s.len, s.segments)).collect();
    assert_eq!(
        lens,
        [
            (1000, 65536, 16),
            (1128, 65536, 16),
            (1256, 65536, 16),
            (1384, 8192, 2)
        ]
    );
}

#[test]
fn reads_see_what_is_on_the_disk() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    let mut buf = std::vec![0; 3 * 512];
    blk.read(42, &mut buf).unwrap();
    assert_eq!(buf, disk(&m, 42, 3 * 512));
    assert_eq!(
        served(&m),
        [Served {
            kind: T_IN,
            sector: 42,
            len: 1536,
            segments: 1
        }]
    );
}

#[test]
fn flush_is_sent_only_to_a_device_with_a_cache() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    blk.flush().unwrap();
    assert_eq!(
        served(&m),
        [Served {
            kind: T_FLUSH,
            sector: 0,
            len: 0,
            segments: 0
        }]
    );

    let m = Machine::new(SECTORS);
    m.dev().host_features &= !F_FLUSH;
    let mut blk = boot(&m);
    assert!(!blk.info().flush);
    blk.flush().unwrap();
    assert_eq!(served(&m), []);
}

#[test]
fn requests_outside_the_disk_are_refused_before_sending() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    let mut buf = [0; 1024];
    assert_eq!(blk.read(SECTORS, &mut buf[..512]), Err(IoError::BadRequest));
    assert_eq!(blk.read(SECTORS - 1, &mut buf), Err(IoError::BadRequest));
    assert_eq!(blk.write(u64::MAX, &buf[..512]), Err(IoError::BadRequest));
    assert_eq!(blk.read(0, &mut buf[..100]), Err(IoError::BadRequest));
    assert_eq!(blk.read(SECTORS, &mut []), Ok(()));
    assert_eq!(served(&m), []);
}

#[test]
fn device_statuses_become_errors() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    let mut buf = [0; 4096];
    m.dev().fail_sector = Some(13);
    assert_eq!(blk.read(10, &mut buf), Err(IoError::DeviceError));
    assert_eq!(blk.read(14, &mut buf), Ok(()));
    m.dev().answer = Some(2);
    assert_eq!(blk.flush(), Err(IoError::Unsupported));
    m.dev().answer = Some(9);
    assert_eq!(blk.write(0, &buf), Err(IoError::DeviceError));
    m.dev().answer = None;
    assert_eq!(blk.write(0, &buf), Ok(()));
}

#[test]
fn a_read_only_disk_refuses_writes() {
    let m = Machine::new(SECTORS);
    m.dev().host_features |= F_RO;
    let mut blk = boot(&m);
    assert!(blk.info().read_only);
    assert_eq!(blk.write(0, &[0; 512]), Err(IoError::Unsupported));
    assert_eq!(blk.read(0, &mut [0; 512]), Ok(()));
    assert_eq!(served(&m).len(), 1);
}

#[test]
fn a_small_queue_wraps_and_limits_the_chain() {
    let m = Machine::new(SECTORS);
    m.dev().queues[0].size = 4;
    let mut blk = boot(&m);
    // Header and status leave two data descriptors: 8 KiB per request.
    assert_eq!(blk.info().max_transfer, 8192);
    for i in 0..100u64 {
        let data = pattern(i, 3 * 512 + (i as usize % 5) * 4096);
        let sector = i * 37 % (SECTORS - 64);
        blk.write(sector, &data).unwrap();
        let mut back = std::vec![0; data.len()];
        blk.read(sector, &mut back).unwrap();
        assert_eq!(back, data);
    }
    assert!(served(&m).iter().all(|s| s.segments <= 2 && s.len <= 8192));
}

#[test]
fn ring_indices_wrap_at_65536() {
    let m = Machine::new(SECTORS);
    m.dev().queues[0].size = 8;
    let mut blk = boot(&m);
    for i in 0..66_000u64 {
        blk.write(i % SECTORS, &[i as u8; 512]).unwrap();
    }
    let mut back = [0; 512];
    blk.read(65_999 % SECTORS, &mut back).unwrap();
    assert_eq!(back, [65_999u64 as u8; 512]);
    assert_eq!(served(&m).len(), 66_001);
}

#[test]
fn seg_max_and_max_transfer_cap_requests() {
    let m = Machine::new(SECTORS);
    m.dev().seg_max = 3;
    let mut blk = boot(&m);
    assert_eq!(blk.info().max_transfer, 3 * 4096);
    blk.read(0, &mut [0; 64 << 10]).unwrap();
    let lens: Vec<_> = served(&m).iter().map(|s| s.len / 4096).collect();
    assert_eq!(lens, [3, 3, 3, 3, 3, 1]);

    let m = Machine::new(SECTORS);
    let mut dma = m.dma();
    let config = Config { max_transfer: 5000 };
    let mut blk = VirtioBlk::new(m.clone(), &find(&m), &mut dma, config, Spin::default()).unwrap();
    assert_eq!((blk.info().max_transfer, dma.allocations.len()), (8192, 4));
    let data = pattern(1, 20 << 10);
    blk.write(8, &data).unwrap();
    assert_eq!(disk(&m, 8, data.len()), data);
    assert_eq!(served(&m).len(), 3);
}

#[test]
fn a_stuck_device_times_out_and_its_request_is_not_reused() {
    let m = Machine::new(SECTORS);
    let mut blk = boot(&m);
    m.dev().stalled = true;
    let mut buf = [0; 512];
    assert_eq!(blk.read(5, &mut buf), Err(IoError::Timeout));
    // Still the device's: nothing new is sent while it holds the chain.
    assert_eq!(blk.write(6, &[1; 512]), Err(IoError::Timeout));
    assert_eq!(served(&m), []);
    m.dev().run();
    m.dev().stalled = false;
    blk.read(7, &mut buf).unwrap();
    assert_eq!(buf.as_slice(), disk(&m, 7, 512));
    let sectors: Vec<_> = served(&m).iter().map(|s| s.sector).collect();
    assert_eq!(sectors, [5, 7]);
}

/// Blocks "until the IRQ": lets the stalled device work, as it would in the
/// background, and checks that it raised the line.
struct Irq(Machine);

impl Wait for Irq {
    fn wait(&mut self, _attempt: u32) -> Result<Waited, IoError> {
        let mut dev = self.0.dev();
        dev.run();
        if !dev.line() {
            return Err(IoError::Timeout);
        }
        Ok(Waited::Irq)
    }
}

#[test]
fn the_irq_path_acknowledges_each_interrupt() {
    let m = Machine::new(SECTORS);
    let mut blk = boot_with(&m, Config::default(), Irq(m.clone()));
    m.dev().stalled = true;
    let data = pattern(3, 100 << 10);
    blk.write(64, &data).unwrap();
    let mut back = std::vec![0; data.len()];
    blk.read(64, &mut back).unwrap();
    assert_eq!(back, data);
    let dev = m.dev();
    assert!(!dev.line(), "the ISR read lowers the line");
    assert_eq!((dev.served.len(), dev.isr_reads), (4, 4));
}

#[test]
fn init_failures_mark_the_device_failed() {
    let fails = |m: &Machine, dma: &mut FakeDma| {
        let blk = VirtioBlk::new(m.clone(), &find(m), dma, Config::default(), Spin::default());
        assert_eq!(m.dev().status_log.last(), Some(&0x83));
        blk.err()
    };
    let m = Machine::new(SECTORS);
    m.dev().queues[0].size = 0;
    assert_eq!(fails(&m, &mut m.dma()), Some(InitError::NoQueue));

    let m = Machine::new(SECTORS);
    let mut dma = m.dma();
    dma.pages_left = 10;
    assert_eq!(fails(&m, &mut dma), Some(InitError::NoMemory));

    let m = Machine::new(SECTORS);
    let mut dma = m.dma();
    dma.next = 1 << 44;
    assert_eq!(fails(&m, &mut dma), Some(InitError::RingAddress));
}

#[test]
fn dropping_the_driver_resets_the_device() {
    let m = Machine::new(SECTORS);
    drop(boot(&m));
    let dev = m.dev();
    assert_eq!((dev.status, dev.queues[0].pfn), (0, 0));
}
