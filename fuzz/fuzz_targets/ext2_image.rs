//! The ext2 driver (`selkie_fs::ext2`) on arbitrary disk images: mounting
//! bytes that are not a valid ext2 image must be an error, and a walk of
//! whatever mounts (every directory listed, every file read, a few changes,
//! a sync, a second walk) must end without a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    selkie_fs::ext2::fuzz_walk(data);
});
