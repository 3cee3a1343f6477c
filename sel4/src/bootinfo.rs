//! `seL4_BootInfo` as the kernel lays it out (packed, x86_64).
use crate::ipc::IpcBuffer;

/// `seL4_SlotRegion`: [start, end) slots.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug)]
pub struct SlotRegion {
    pub start: u64,
    pub end: u64,
}

/// `seL4_UntypedDesc`.
#[repr(C, packed)]
#[derive(Clone, Copy, Debug)]
pub struct UntypedDesc {
    pub paddr: u64,
    pub padding1: u8,
    pub padding2: u8,
    pub size_bits: u8,
    pub is_device: u8,
}

/// Length of `untypedList` (CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS in
/// scripts/kernel/autoconf.h).
pub const MAX_UNTYPED: usize = 230;

/// `seL4_BootInfo`.
#[repr(C, packed)]
pub struct BootInfo {
    pub extra_len: u64,
    pub node_id: u64,
    pub num_nodes: u64,
    pub num_iopt_levels: u64,
    pub ipc_buffer: *mut IpcBuffer,
    pub empty: SlotRegion,
    pub shared_frames: SlotRegion,
    pub user_image_frames: SlotRegion,
    pub user_image_paging: SlotRegion,
    pub io_space_caps: SlotRegion,
    pub extra_bi_pages: SlotRegion,
    pub init_thread_cnode_size_bits: u8,
    pub init_thread_domain: u64,
    pub arch_info: u64,
    pub untyped: SlotRegion,
    pub untyped_list: [UntypedDesc; MAX_UNTYPED],
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_packed_c_struct() {
        assert_eq!(size_of::<UntypedDesc>(), 12);
        assert_eq!(offset_of!(BootInfo, ipc_buffer), 32);
        assert_eq!(offset_of!(BootInfo, empty), 40);
        assert_eq!(offset_of!(BootInfo, init_thread_cnode_size_bits), 136);
        assert_eq!(offset_of!(BootInfo, init_thread_domain), 137);
        assert_eq!(offset_of!(BootInfo, untyped), 153);
        assert_eq!(offset_of!(BootInfo, untyped_list), 169);
    }
}
