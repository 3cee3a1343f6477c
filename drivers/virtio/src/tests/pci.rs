use crate::pci::{self, Address, PciDevice};
use crate::sim::*;

#[test]
fn each_device_is_found_by_its_id() {
    let m = Machine::new(64);
    let at = |device| Address {
        bus: 0,
        device,
        function: 0,
    };
    let net = PciDevice {
        address: at(NET_SLOT),
        io_base: NET_IO_BASE,
        io_size: NET_IO_SIZE,
        irq_line: NET_IRQ_LINE,
        irq_pin: 1,
    };
    assert_eq!(pci::find_virtio_net(&mut m.clone()), Some(net));
    let blk = pci::find_virtio_blk(&mut m.clone()).unwrap();
    assert_eq!(blk.address, at(SLOT));
    assert_eq!(
        pci::find_device(&mut m.clone(), 0x8086, 0x7000).map(|d| d.address),
        None,
        "PIIX3 has no I/O BAR0"
    );
    assert_eq!(pci::find_device(&mut m.clone(), 0x1af4, 0x1041), None);
    // Sizing restored both BARs and left the command registers alone.
    let bars = |m: &Machine| {
        let net = m.net().bar0;
        (net, m.dev().bar0)
    };
    let commands = |m: &Machine| {
        let net = m.net().command;
        (net, m.dev().command)
    };
    let io_bar = |base: u16| u32::from(base) | 1;
    assert_eq!(bars(&m), (io_bar(NET_IO_BASE), io_bar(IO_BASE)));
    assert_eq!(commands(&m), (0, 0));
    net.enable(&mut m.clone());
    assert_eq!(commands(&m), (0b101, 0));
}

#[test]
fn a_missing_or_modern_only_card_is_not_found() {
    let m = Machine::new(64);
    m.net().present = false;
    assert_eq!(pci::find_virtio_net(&mut m.clone()), None);
    assert!(pci::find_virtio_blk(&mut m.clone()).is_some());
    let m = Machine::new(64);
    m.net().bar0 = 0xfebf_1000; // a memory BAR0, as a modern-only device has
    assert_eq!(pci::find_virtio_net(&mut m.clone()), None);
}

#[test]
fn a_device_travels_to_its_driver_task_as_words() {
    let dev = PciDevice {
        address: crate::pci::Address {
            bus: 0,
            device: 3,
            function: 0,
        },
        io_base: 0xc040,
        io_size: 32,
        irq_line: 11,
        irq_pin: 1,
    };
    let words = dev.to_words(&[0x1000, 0x2000, 0x3000]);
    assert_eq!(words, [0xc040, 32, 11, 3, 0x1000, 0x2000, 0x3000]);
    let (back, paddrs) = PciDevice::from_words(&words).unwrap();
    assert_eq!(
        (back.io_base, back.io_size, back.irq_line, back.irq_pin),
        (0xc040, 32, 11, 1)
    );
    assert_eq!(paddrs, [0x1000, 0x2000, 0x3000]);
    // Too few words, or fewer pages than it says.
    assert!(PciDevice::from_words(&words[..3]).is_none());
    assert!(PciDevice::from_words(&words[..6]).is_none());
}
