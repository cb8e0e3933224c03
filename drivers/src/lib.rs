//! Device drivers for Thorbis Edge terminals: ESC/POS receipt and kitchen printers, cash
//! drawers and barcode scanners.
//!
//! This crate owns the device protocols: turning a [`receipt::Receipt`] into ESC/POS bytes for
//! a [`profile::PrinterProfile`] ([`encoder`]), reading printer status ([`status`]), framing
//! scanner input and decoding what it carries ([`scanner`], [`gs1`], [`gtin`],
//! [`variable_measure`]), kicking and watching cash drawers ([`drawer`]), and the thin
//! transports that move the bytes ([`transport`]: TCP 9100, serial, USB printer class).
//!
//! What it never does: it holds no business rule (what goes on a receipt, what a price
//! means for an order, when to open a drawer are the agent's and the domain's), keeps no
//! queue or retry policy (the agent's durable print queue owns "printed once"), and the
//! cores do no IO: encoders, parsers and state machines take bytes and `now` as arguments
//! and are tested without hardware. Only [`transport`], [`printer`], [`drawer::SerialDrawer`]
//! and the scanner readers touch devices.

pub mod codepage;
pub mod command;
pub mod drawer;
pub mod encoder;
pub mod gs1;
pub mod gtin;
pub mod image;
pub mod layout;
pub mod printer;
pub mod profile;
pub mod receipt;
pub mod sample;
pub mod scanner;
pub mod status;
pub mod transport;
pub mod variable_measure;
