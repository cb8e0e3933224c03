//! Device drivers for Thorbis Edge terminals: ESC/POS receipt and kitchen printers, cash
//! drawers and barcode scanners.
//!
//! This crate is a placeholder until the devices issue lands. When it fills, its cores stay
//! sans-IO (commands in, bytes out; bytes in, status out) and its transports stay thin.
