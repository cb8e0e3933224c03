//! The Thorbis Edge desktop shell: a Tauri window around the agent's own UI.
//!
//! This crate is a placeholder until the terminal UI issue lands. When it fills it stays a
//! thin shell: it only calls the agent's public API.
