use crate::net::{Config, Info, Isr, Stats, F_MAC, F_STATUS, MAX_FRAME};
use crate::pci::{self, PciDevice};
use crate::sim::*;
use crate::{InitError, NetError, VirtioNet};
use std::vec::Vec;

type Net = VirtioNet<Machine, Region>;

/// The card, found and enabled (as the root task would before the driver
/// starts).
fn find(m: &Machine) -> PciDevice {
    let dev = pci::find_virtio_net(&mut m.clone()).expect("no virtio-net");
    dev.enable(&mut m.clone());
    dev
}

fn boot_with(m: &Machine, config: Config) -> Net {
    VirtioNet::new(m.clone(), &find(m), &mut m.dma(), config).unwrap()
}

fn boot(m: &Machine) -> Net {
    boot_with(m, Config::default())
}

/// A machine whose card has queues of `size` entries.
fn machine(size: u16) -> Machine {
    let m = Machine::new(64);
    m.net().queues[0].size = size;
    m.net().queues[1].size = size;
    m
}

/// Config with `rx` receive and `tx` transmit buffers.
fn buffers(rx: usize, tx: usize) -> Config {
    Config {
        rx_buffers: rx,
        tx_buffers: tx,
        ..Config::default()
    }
}

/// An Ethernet frame of `len` bytes, distinct for each seed.
fn frame(seed: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| match i {
            0..6 => 0xff,
            6..12 => NET_MAC[i - 6],
            12 => 0x08,
            13 => 0x00,
            _ => (i as u64 * 7 + seed * 13 + seed / 256) as u8,
        })
        .collect()
}

fn received(net: &mut Net) -> Vec<Vec<u8>> {
    std::iter::from_fn(|| net.receive(|f| f.to_vec())).collect()
}

fn sent(m: &Machine) -> Vec<Vec<u8>> {
    std::mem::take(&mut m.net().sent)
}

#[test]
fn handshake_accepts_only_the_mac_and_the_link_status() {
    let m = Machine::new(64);
    let mut dma = m.dma();
    let net = VirtioNet::new(m.clone(), &find(&m), &mut dma, Config::default()).unwrap();
    let dev = m.net();
    assert_eq!(dev.status_log, [0, 1, 3, 7]);
    assert_eq!(dev.guest_features, NET_F_MAC | NET_F_STATUS);
    // Two rings of 3 pages, 32 receive buffers in 16 pages, 16 transmit
    // buffers in 8.
    assert_eq!(dma.allocations, [[3, 3].as_slice(), &[1; 24]].concat());
    assert_eq!(u64::from(dev.queues[0].pfn) * 4096, 0x1_2340_0000);
    assert_eq!(u64::from(dev.queues[1].pfn) * 4096, 0x1_2340_4000);
    assert_eq!(dev.queues[2].pfn, 0, "no control queue");
    // The receive buffers went in and the device heard of them once.
    assert_eq!(dev.notifications, [1, 0, 0]);
    let info = Info {
        mac: NET_MAC,
        mac_from_device: true,
        features: F_MAC | F_STATUS,
        rx_queue_size: 256,
        tx_queue_size: 256,
        rx_buffers: 32,
        tx_buffers: 16,
    };
    assert_eq!(net.info(), info);
    assert_eq!(net.mac(), NET_MAC);
    assert_eq!(net.stats(), Stats::default());
}

#[test]
fn receive_buffers_are_two_descriptor_chains_of_header_and_frame() {
    let m = Machine::new(64);
    m.net().stalled = true;
    let mut net = boot_with(&m, buffers(8, 4));
    let mut dev = m.net();
    let chains: Vec<_> = std::iter::from_fn(|| dev.pop(0)).collect();
    assert_eq!(chains.len(), 8);
    let mut pages = Vec::new();
    for (_, chain) in &chains {
        let lens: Vec<_> = chain.iter().map(|d| (d.len, d.write)).collect();
        assert_eq!(lens, [(10, true), (MAX_FRAME, true)]);
        assert_eq!(chain[1].addr, chain[0].addr + 10, "frame after header");
        assert_eq!(chain[0].addr % 2048, 0, "half-page buffers");
        pages.push(chain[0].addr / 4096);
    }
    pages.dedup();
    assert_eq!(pages.len(), 4, "two buffers to a page");
    drop(dev);
    assert!(!net.can_receive());
    assert_eq!(net.receive(|_| ()), None);
}

#[test]
fn the_mac_comes_from_the_device_or_the_config() {
    let m = Machine::new(64);
    m.net().mac = [0x52, 0x54, 0, 0xab, 0xcd, 0xef];
    assert_eq!(boot(&m).mac(), [0x52, 0x54, 0, 0xab, 0xcd, 0xef]);

    let m = Machine::new(64);
    m.net().host_features &= !NET_F_MAC;
    let net = boot(&m);
    assert_eq!(net.mac(), [2, 0, 0, 0, 0, 1]);
    assert!(!net.info().mac_from_device);
    assert_eq!(m.net().guest_features, NET_F_STATUS);
    drop(net);
    let config = Config {
        mac: [2, 0xaa, 0xbb, 0xcc, 0xdd, 0xee],
        ..Config::default()
    };
    assert_eq!(boot_with(&m, config).mac(), config.mac);
}

#[test]
fn the_link_status_is_read_and_its_changes_interrupt() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    assert!(net.link_up());
    m.net().set_link(false);
    assert!(m.net().line());
    let isr = Isr {
        used: false,
        config: true,
    };
    assert_eq!(net.handle_irq(), isr);
    assert!(!m.net().line());
    assert!(!net.link_up());
    m.net().set_link(true);
    assert_eq!(net.handle_irq(), isr);
    assert!(net.link_up());

    // Without VIRTIO_NET_F_STATUS the link counts as up.
    let m = Machine::new(64);
    m.net().host_features &= !NET_F_STATUS;
    let mut net = boot(&m);
    m.net().set_link(false);
    assert!(net.link_up());
    assert_eq!(net.handle_irq(), Isr::default());
}

#[test]
fn frames_arrive_in_order_without_their_header() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    let lens = [60, MAX_FRAME, 14, 1, 100, 1000];
    let frames: Vec<_> = (0..).zip(lens).map(|(i, len)| frame(i, len)).collect();
    for f in &frames {
        m.net().inject(f);
    }
    assert!(net.can_receive());
    assert_eq!(received(&mut net), frames);
    assert!(!net.can_receive());
    let stats = net.stats();
    assert_eq!(stats.rx_frames, 6);
    assert_eq!(stats.rx_bytes, lens.iter().sum::<usize>() as u64);

    // receive_into copies straight into the caller's buffer.
    let mut buf = [0; MAX_FRAME];
    m.net().inject(&frame(9, 333));
    assert_eq!(net.receive_into(&mut buf), Some(333));
    assert_eq!(buf[..333], frame(9, 333));
    assert_eq!(net.receive_into(&mut buf), None);
}

#[test]
fn thousands_of_frames_pass_through_a_small_ring() {
    let m = machine(8);
    // More buffers than the queue can hold: capped at 4 (two descriptors
    // each).
    let mut net = boot_with(&m, buffers(100, 100));
    assert_eq!((net.info().rx_buffers, net.info().tx_buffers), (4, 4));
    let mut seed = 0;
    let mut kicks = 1; // the first, after the ring was filled
    for round in 0..2000 {
        let burst = round % 7 + 1;
        let frames: Vec<_> = (0..burst)
            .map(|i| frame(seed + i, 14 + (seed + i) as usize * 37 % (MAX_FRAME - 13)))
            .collect();
        seed += burst;
        // 4 frames fill the ring and the rest wait in the device; the device
        // asks to hear of each buffer given back while it has run out: as
        // each waiting frame gets one, and once more when the last does.
        kicks += burst.saturating_sub(3);
        for f in &frames {
            m.net().inject(f);
        }
        assert_eq!(received(&mut net), frames, "round {round}");
    }
    assert_eq!(net.stats().rx_frames, seed);
    let dev = m.net();
    assert!(dev.inbound.is_empty());
    assert_eq!(dev.rx_dropped, 0);
    // Not a notification for every buffer given back.
    assert_eq!(dev.notifications[0] as u64, kicks);
    assert!(kicks < seed / 2);
}

#[test]
fn frames_wait_in_the_device_while_the_ring_is_empty() {
    let m = Machine::new(64);
    let mut net = boot_with(&m, buffers(4, 4));
    let frames: Vec<_> = (0..10).map(|i| frame(i, 200 + i as usize)).collect();
    for f in &frames {
        m.net().inject(f);
    }
    assert_eq!(m.net().inbound.len(), 6);
    let notified = m.net().notifications[0];
    // The first buffer given back is announced (the ring was empty), and
    // the frames waiting arrive as buffers come back.
    assert_eq!(received(&mut net), frames);
    assert!(m.net().inbound.is_empty());
    assert!(m.net().notifications[0] > notified);
}

#[test]
fn a_frame_too_long_for_a_buffer_is_dropped_by_the_device() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    m.net().inject(&frame(1, MAX_FRAME + 1));
    m.net().inject(&frame(2, MAX_FRAME));
    assert_eq!(received(&mut net), [frame(2, MAX_FRAME)]);
    assert_eq!(m.net().rx_dropped, 1);
}

#[test]
fn a_buffer_returned_without_a_frame_is_skipped_and_reused() {
    let m = machine(2);
    let mut net = boot(&m);
    assert_eq!(net.info().rx_buffers, 1);
    m.net().inject(&[]);
    m.net().inject(&frame(3, 64));
    assert_eq!(received(&mut net), [frame(3, 64)]);
    assert_eq!(net.stats().rx_errors, 1);
    assert_eq!(net.stats().rx_frames, 1);
}

#[test]
fn transmitted_frames_go_out_with_a_zero_header() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    let frames: Vec<_> = [60, MAX_FRAME, 1, 777]
        .into_iter()
        .enumerate()
        .map(|(i, len)| frame(i as u64, len))
        .collect();
    for f in &frames {
        let out = net.transmit(f.len(), |buf| {
            assert!(buf.iter().all(|&b| b == 0), "a zeroed buffer");
            buf.copy_from_slice(f);
            f.len() * 2
        });
        assert_eq!(out, Ok(f.len() * 2));
    }
    // The simulated device checked the framing: a 10-byte zero header alone
    // in a read-only descriptor, then the frame.
    assert_eq!(sent(&m), frames);
    assert_eq!(m.net().notifications[1], 4);
    let stats = net.stats();
    assert_eq!(stats.tx_frames, 4);
    assert_eq!(
        stats.tx_bytes,
        frames.iter().map(|f| f.len() as u64).sum::<u64>()
    );
}

#[test]
fn a_full_transmit_ring_pushes_back_until_the_device_sends() {
    let m = Machine::new(64);
    let mut net = boot_with(&m, buffers(4, 3));
    m.net().stalled = true;
    let frames: Vec<_> = (0..5).map(|i| frame(i, 100)).collect();
    for f in &frames[..3] {
        assert!(net.can_transmit());
        net.transmit(f.len(), |b| b.copy_from_slice(f)).unwrap();
    }
    assert!(!net.can_transmit());
    let mut called = false;
    let full = net.transmit(100, |_| called = true);
    assert_eq!(full, Err(NetError::Full));
    assert!(!called, "the closure runs only when the frame can go");
    assert!(sent(&m).is_empty());

    // The device sends them; transmit takes their buffers back.
    m.net().run();
    assert_eq!(sent(&m), frames[..3]);
    for f in &frames[3..] {
        net.transmit(f.len(), |b| b.copy_from_slice(f)).unwrap();
    }
    m.net().run();
    assert_eq!(sent(&m), frames[3..]);

    // A device that sends at once never runs out.
    m.net().stalled = false;
    for i in 0..100 {
        net.transmit(60, |b| b.fill(i)).unwrap();
    }
    assert_eq!(sent(&m).len(), 100);
}

#[test]
fn transmit_buffers_come_back_in_any_order() {
    let m = machine(16);
    let mut net = boot_with(&m, buffers(4, 8));
    m.net().stalled = true;
    m.net().tx_shuffle = Some(0x9e37_79b9_7f4a_7c15);
    let mut expected = Vec::new();
    for round in 0..1000u64 {
        // Fill what is free; the device sends a random half of what it
        // holds, in a random order.
        let mut i = 0;
        while net.can_transmit() {
            let seed = round * 8 + i;
            let f = frame(seed, 20 + seed as usize % 1400);
            net.transmit(f.len(), |b| b.copy_from_slice(&f)).unwrap();
            expected.push(f);
            i += 1;
        }
        assert!(i > 0);
        m.net().run();
    }
    m.net().tx_shuffle = None;
    m.net().run();
    let mut out = sent(&m);
    assert_ne!(out, expected, "completed out of order");
    out.sort();
    expected.sort();
    assert_eq!(out, expected);
}

#[test]
fn the_device_is_not_notified_while_it_says_not_to() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    // As QEMU does while it works through the transmit queue.
    m.net().set_no_notify(1, true);
    net.transmit(60, |b| b.fill(1)).unwrap();
    net.transmit(60, |b| b.fill(2)).unwrap();
    assert_eq!(m.net().notifications[1], 0);
    assert!(sent(&m).is_empty());
    m.net().run();
    assert_eq!(sent(&m), [[1; 60], [2; 60]]);
    m.net().set_no_notify(1, false);
    net.transmit(60, |b| b.fill(3)).unwrap();
    assert_eq!(m.net().notifications[1], 1);
    assert_eq!(sent(&m), [[3; 60]]);
}

#[test]
fn oversize_and_empty_frames_are_refused() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    let mut called = false;
    assert_eq!(
        net.transmit(MAX_FRAME + 1, |_| called = true),
        Err(NetError::TooLong)
    );
    assert_eq!(net.transmit(0, |_| called = true), Err(NetError::Empty));
    assert_eq!(
        net.transmit(usize::MAX, |_| called = true),
        Err(NetError::TooLong)
    );
    assert!(!called);
    assert_eq!(m.net().notifications[1], 0);
    assert_eq!(net.transmit(MAX_FRAME, |b| b.len()), Ok(MAX_FRAME));
    assert_eq!(sent(&m).len(), 1);
}

/// An echo loop, as a stack answering each frame would: receive into a
/// buffer of its own, then transmit, with a device that works only when
/// "interrupted".
#[test]
fn echo_through_interrupts() {
    let m = machine(8);
    let mut net = boot(&m);
    m.net().stalled = true;
    let mut buf = [0; MAX_FRAME];
    let mut echoed = 0;
    for i in 0..3000u64 {
        m.net().inject(&frame(i, 60 + i as usize % 1000));
        // The "interrupt": the device works, raises its line, the handler
        // reads the ISR.
        m.net().run();
        if !m.net().line() {
            continue;
        }
        assert!(net.handle_irq().used);
        assert!(!m.net().line(), "the ISR read lowers the line");
        while net.can_transmit() {
            let Some(len) = net.receive_into(&mut buf) else {
                break;
            };
            net.transmit(len, |b| b.copy_from_slice(&buf[..len]))
                .unwrap();
            echoed += 1;
        }
    }
    m.net().run();
    let out = sent(&m);
    assert_eq!(out.len(), echoed);
    assert_eq!(echoed, 3000);
    for (i, f) in (0..).zip(out) {
        assert_eq!(f, frame(i, 60 + i as usize % 1000));
    }
    assert!(m.net().isr_reads >= 3000);
}

#[test]
fn init_failures_mark_the_device_failed() {
    let fails = |m: &Machine, dma: &mut FakeDma| {
        let net = VirtioNet::new(m.clone(), &find(m), dma, Config::default());
        assert_eq!(m.net().status_log.last(), Some(&0x83));
        net.err()
    };
    for (queue, size) in [(0, 0), (1, 0), (1, 1)] {
        let m = Machine::new(64);
        m.net().queues[queue].size = size;
        assert_eq!(fails(&m, &mut m.dma()), Some(InitError::NoQueue));
    }

    let m = Machine::new(64);
    let mut dma = m.dma();
    dma.pages_left = 20;
    assert_eq!(fails(&m, &mut dma), Some(InitError::NoMemory));

    let m = Machine::new(64);
    let mut dma = m.dma();
    dma.next = 1 << 44;
    assert_eq!(fails(&m, &mut dma), Some(InitError::RingAddress));
}

#[test]
fn dropping_the_driver_resets_the_device() {
    let m = Machine::new(64);
    let mut net = boot(&m);
    net.transmit(60, |b| b.fill(7)).unwrap();
    drop(net);
    let dev = m.net();
    assert_eq!(dev.status, 0);
    assert!(dev.queues.iter().all(|q| q.pfn == 0));
    assert_eq!(dev.guest_features, 0);
}

#[test]
fn both_devices_work_side_by_side() {
    let m = Machine::new(64);
    let mut dma = m.dma();
    let blk = pci::find_virtio_blk(&mut m.clone()).unwrap();
    blk.enable(&mut m.clone());
    let config = crate::Config::default();
    let mut disk =
        crate::VirtioBlk::new(m.clone(), &blk, &mut dma, config, crate::Spin::default()).unwrap();
    let mut net = VirtioNet::new(m.clone(), &find(&m), &mut dma, Config::default()).unwrap();
    let mut sector = [0; 512];
    disk.read(1, &mut sector).unwrap();
    net.transmit(512, |b| b.copy_from_slice(&sector)).unwrap();
    m.net().inject(&sector[..100]);
    assert_eq!(received(&mut net), [sector[..100].to_vec()]);
    assert_eq!(sent(&m), [sector.to_vec()]);
}
