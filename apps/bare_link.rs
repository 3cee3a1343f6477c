// Shared by the seL4 programs' build scripts (`include!`d): link as a
// static bare-metal ELF with the linker script `script` (relative to the
// crate), no C runtime, no PIE.
fn bare_link(script: &str) {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins=-T{dir}/{script}");
    for a in [
        "-nostartfiles",
        "-nostdlib",
        "-static",
        "-no-pie",
        "-Wl,--build-id=none",
    ] {
        println!("cargo:rustc-link-arg-bins={a}");
    }
    println!("cargo:rerun-if-changed={script}");
}
