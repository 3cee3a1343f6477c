//! Links the net service task as a static bare-metal ELF (the root task's linker script).
include!("../bare_link.rs");

fn main() {
    bare_link("../roottask/link.ld");
}
