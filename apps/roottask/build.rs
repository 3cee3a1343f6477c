//! Links the root task as a static bare-metal ELF and embeds the rootfs
//! archive, the vDSO and the fs service task.
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
    // The vDSO (scripts/build-vdso.sh); without it processes get none.
    let vdso =
        std::env::var("SELKIE_VDSO").unwrap_or_else(|_| format!("{dir}/../../build/vdso.so"));
    println!("cargo:rerun-if-env-changed=SELKIE_VDSO");
    println!("cargo:rerun-if-changed={vdso}");
    let vdso_out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("vdso.so");
    if std::path::Path::new(&vdso).exists() {
        std::fs::copy(&vdso, &vdso_out).unwrap();
    } else {
        std::fs::write(&vdso_out, b"").unwrap();
    }
    // The fs service task (apps/fsd), unless the fs is linked in.
    let fsd = std::env::var("SELKIE_FSD").unwrap_or_else(|_| format!("{dir}/../../build/fsd.elf"));
    println!("cargo:rerun-if-env-changed=SELKIE_FSD");
    println!("cargo:rerun-if-changed={fsd}");
    let fsd_out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("fsd.elf");
    if std::path::Path::new(&fsd).exists() {
        std::fs::copy(&fsd, &fsd_out).unwrap();
    } else if std::env::var_os("CARGO_FEATURE_FS_INPROC").is_none() {
        panic!("{fsd} is missing: build apps/fsd first (scripts/build-roottask.sh does)");
    } else {
        std::fs::write(&fsd_out, b"").unwrap();
    }
    let path = std::path::Path::new(&rootfs);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("rootfs.cpio");
    if path.exists() {
        std::fs::copy(path, &out).unwrap();
    } else {
        // An empty archive: the root task reports that no init was found.
        std::fs::write(&out, b"07070100000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000b00000000TRAILER!!!\0\0\0\0").unwrap();
    }
}
