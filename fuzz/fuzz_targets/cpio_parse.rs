//! `selkie_libos::cpio::parse` and `lookup` on arbitrary bytes: a broken
//! archive must be a `CpioError`, and a lookup (symlinks included) must end
//! without a panic or a hang. Every member that is not a symlink must be found
//! again under its own name. An archive that parses then seeds a whole LibOS
//! (`Kernel::new` builds the file tree from it) and its `/init` is spawned,
//! as the root task does with the archive linked into its image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selkie_fuzz::host_platform;
use selkie_libos::cpio::{self, Entry};
use selkie_libos::Kernel;

const PATHS: &[&str] = &[
    "",
    "/",
    "init",
    "/init",
    "/bin/sh",
    "bin/../bin/sh",
    "/etc/passwd",
    "//etc//passwd",
    "./etc",
    "lib/ld-musl-x86_64.so.1",
];

/// Members looked up under their own names, and then spawned, at most.
const MAX_CHECKED: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = cpio::parse(data) else {
        return;
    };
    for path in PATHS {
        let _ = cpio::lookup(&entries, path.as_bytes());
    }
    for e in entries.iter().take(MAX_CHECKED) {
        let first = entries.iter().find(|x| x.name == e.name).unwrap();
        let found = cpio::lookup(&entries, e.name);
        if !first.is_symlink() {
            assert_eq!(found, Some(*first), "member {:?} not found", e.name);
        }
        let _ = cpio::lookup(&entries, e.data);
    }

    // SAFETY: `Kernel::new` wants the root task's `'static` archive. It copies
    // every member into its tmpfs (`build_tree`), and the kernel is dropped at
    // the end of this closure, before `data` is.
    let entries: Vec<Entry<'static>> = unsafe { std::mem::transmute(entries) };
    let mut kernel = Kernel::new(entries);
    let mut plat = host_platform();
    for argv0 in [&b"/init"[..], b"sh"] {
        let _ = kernel.spawn(&mut plat, &[argv0], &[b"PATH=/bin"]);
    }
    let _ = kernel.take_actions();
});
