//! Links the root task as a static bare-metal ELF and embeds the rootfs
//! archive, the vDSO and the service tasks (fs, block, NIC, net).
include!("../bare_link.rs");

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    bare_link("link.ld");
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
    embed(&fsd, &fsd_out);
    // The block service task (apps/blkd).
    let blkd =
        std::env::var("SELKIE_BLKD").unwrap_or_else(|_| format!("{dir}/../../build/blkd.elf"));
    println!("cargo:rerun-if-env-changed=SELKIE_BLKD");
    println!("cargo:rerun-if-changed={blkd}");
    let blkd_out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("blkd.elf");
    embed(&blkd, &blkd_out);
    // The NIC driver task (apps/nicd).
    let nicd =
        std::env::var("SELKIE_NICD").unwrap_or_else(|_| format!("{dir}/../../build/nicd.elf"));
    println!("cargo:rerun-if-env-changed=SELKIE_NICD");
    println!("cargo:rerun-if-changed={nicd}");
    let nicd_out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("nicd.elf");
    embed(&nicd, &nicd_out);
    // The net service task (apps/netd), unless the stack is linked in.
    let netd =
        std::env::var("SELKIE_NETD").unwrap_or_else(|_| format!("{dir}/../../build/netd.elf"));
    println!("cargo:rerun-if-env-changed=SELKIE_NETD");
    println!("cargo:rerun-if-changed={netd}");
    let netd_out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("netd.elf");
    embed(&netd, &netd_out);
    // The boot configuration of instances (SELKIE_CONFIG: a TOML file),
    // and the instance program they run (apps/roottask built with
    // `instance`); without a configuration, both empty.
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-env-changed=SELKIE_CONFIG");
    println!("cargo:rerun-if-env-changed=SELKIE_INSTANCE");
    let instance_build = std::env::var_os("CARGO_FEATURE_INSTANCE").is_some();
    match std::env::var("SELKIE_CONFIG") {
        Ok(config) if !config.is_empty() && !instance_build => {
            println!("cargo:rerun-if-changed={config}");
            let text = std::fs::read_to_string(&config)
                .unwrap_or_else(|e| panic!("the configuration {config}: {e}"));
            let parsed = match selkie_config::Config::parse(&text) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("selkie: the configuration {config}: {e}");
                    std::process::exit(1);
                }
            };
            std::fs::write(out_dir.join("selkie.toml"), text).unwrap();
            // Each instance's own files, packed as a cpio archive.
            let base = std::path::Path::new(&config)
                .parent()
                .unwrap_or(std::path::Path::new("."));
            let mut trees = String::from("pub static TREES: &[&[u8]] = &[\n");
            for (i, inst) in parsed.instances.iter().enumerate() {
                let archive = out_dir.join(format!("tree-{i}.cpio"));
                let mut cpio = Vec::new();
                if let Some(tree) = &inst.tree {
                    let dir = base.join(tree);
                    if !dir.is_dir() {
                        eprintln!(
                            "selkie: the configuration {config}: instance {}: tree {} is not a directory",
                            inst.name,
                            dir.display()
                        );
                        std::process::exit(1);
                    }
                    println!("cargo:rerun-if-changed={}", dir.display());
                    pack(&dir, std::path::Path::new(""), &mut cpio);
                    selkie_fs::cpio::write_member(&mut cpio, b"TRAILER!!!", 0, 0, 0, b"");
                }
                std::fs::write(&archive, &cpio).unwrap();
                trees += &format!("    include_bytes!({:?}),\n", archive.display().to_string());
            }
            trees += "];\n";
            std::fs::write(out_dir.join("trees.rs"), trees).unwrap();
            let instance = std::env::var("SELKIE_INSTANCE")
                .unwrap_or_else(|_| format!("{dir}/../../build/instance.elf"));
            println!("cargo:rerun-if-changed={instance}");
            embed(&instance, &out_dir.join("instance.elf"));
        }
        _ => {
            std::fs::write(out_dir.join("selkie.toml"), b"").unwrap();
            std::fs::write(out_dir.join("instance.elf"), b"").unwrap();
            std::fs::write(
                out_dir.join("trees.rs"),
                "pub static TREES: &[&[u8]] = &[];\n",
            )
            .unwrap();
        }
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

/// Copies a service task's ELF next to the build; a missing one (a host
/// `cargo clippy` before any seL4 build) becomes an empty file, which the
/// root task reports as a bad ELF at boot. scripts/build-roottask.sh builds
/// the tasks first.
fn embed(elf: &str, out: &std::path::Path) {
    if std::path::Path::new(elf).exists() {
        std::fs::copy(elf, out).unwrap();
    } else {
        println!("cargo:warning={elf} is missing: the root task embeds an empty service task");
        std::fs::write(out, b"").unwrap();
    }
}

/// Packs the directory `dir` (as `prefix` in the archive) into `out`,
/// sorted by name: directories, files and symbolic links.
fn pack(dir: &std::path::Path, prefix: &std::path::Path, out: &mut Vec<u8>) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = prefix.join(e.file_name());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let perm = meta.permissions().mode() & 0o7777;
        let mtime = meta.mtime().clamp(0, u32::MAX as i64) as u32;
        let shown = name.as_os_str().as_encoded_bytes();
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            let target = target.as_os_str().as_encoded_bytes();
            selkie_fs::cpio::write_member(out, shown, 0, 0o120777, mtime, target);
        } else if meta.is_dir() {
            selkie_fs::cpio::write_member(out, shown, 0, 0o040000 | perm, mtime, b"");
            pack(&path, &name, out);
        } else if meta.is_file() {
            let data = std::fs::read(&path).unwrap();
            selkie_fs::cpio::write_member(out, shown, 0, 0o100000 | perm, mtime, &data);
        }
    }
}
