//! Tauri's build step: embeds `tauri.conf.json`, the icons and `dist/` into the binary.

fn main() {
    tauri_build::build();
}
