//! Links the root task as a static bare-metal ELF and embeds the rootfs archive.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.ld");
    for a in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
    ] {
        println!("cargo:rustc-link-arg-bins={a}");
    }
    println!("cargo:rerun-if-changed=link.ld");
    // The initial file tree (a newc cpio built by scripts/mkrootfs.sh).
    let rootfs =
        std::env::var("SELKIE_ROOTFS").unwrap_or_else(|_| format!("{dir}/../../build/rootfs.cpio"));
    println!("cargo:rerun-if-env-changed=SELKIE_ROOTFS");
    println!("cargo:rerun-if-changed={rootfs}");
    let path = std::path::Path::new(&rootfs);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("rootfs.cpio");
    if path.exists() {
        std::fs::copy(path, &out).unwrap();
    } else {
        // An empty archive: the root task reports that no init was found.
        std::fs::write(&out, b"07070100000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000b00000000TRAILER!!!\0\0\0\0").unwrap();
    }
}
