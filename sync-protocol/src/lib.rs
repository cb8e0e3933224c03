//! The wire vocabulary of Thorbis Edge, shared by the agent, the hub and LAN peers.
//!
//! # What this crate owns
//!
//! * **The event envelope** ([`Event`]): device, seq, hybrid-logical-clock stamp, link to
//!   the previous event, kind and opaque payload.
//! * **Canonical bytes** ([`Event::canonical_bytes`]): the one fixed binary layout that
//!   hashes and signatures cover, documented in [`event`].
//! * **The hash chain** ([`ChainTip`], [`verify_links`], [`verify_chain`]): each device's
//!   events form an append-only chain in which each event commits to the one before it.
//! * **Signatures and checkpoints** ([`DeviceKey`], [`Checkpoint`], [`verify_checkpoint`]):
//!   one Ed25519 signature over a chain tip vouches for the whole chain up to it.
//! * **Hybrid logical clocks** ([`Hlc`], [`HlcClock`]): causally consistent timestamps
//!   that tolerate drifting till clocks.
//! * **Version vectors** ([`VersionVector`]): what each peer holds, and what to send it.
//! * **The codec** ([`encode_batch`], [`decode_batch`], [`batch_to_json`]): batches as
//!   compact bytes for the wire and as JSON for debugging.
//! * **Device credentials** ([`Credential`], [`DeviceRole`]): what a tenant vouches for
//!   about a device, signed at enrollment and verified offline by LAN peers.
//! * **LAN peer authentication and framing** ([`peer`]): credentials bound to the TLS
//!   session by a device-key signature over its exporter; length-prefixed frames.
//! * **The sync protocol** ([`sync`]): a sans-IO state machine per peer (`Hello`,
//!   `Events`, `Ack`), the same agent↔hub and agent↔agent.
//! * **What a receiver takes of a batch** ([`receive`]): the one check of a device's run
//!   against the receiver's tip, which terminals, LAN peers and the hub all run; they
//!   differ only in [`receive::Strictness`].
//! * **The clock seam** ([`clock::Clock`]): how the shells around the protocol get "now"
//!   and pass it in, so tests can inject time.
//!
//! # What it never does
//!
//! * **IO.** No files, sockets, clocks or threads: time arrives as an argument, bytes
//!   arrive as slices. Everything here is deterministic and testable in isolation. The
//!   exceptions are [`DeviceKey::generate`], which draws randomness from the OS, and
//!   [`clock::SystemClock`], which the shells use to read the time they pass in.
//! * **Interpret payloads.** A payload is opaque bytes and a kind is an opaque validated
//!   name; `thorbis-domain` gives them meaning. So a build that does not know a kind
//!   still decodes, verifies, stores and re-encodes it byte for byte, and older peers can
//!   relay events from newer ones.
//!
//! # Example
//!
//! A device writes two chained events and signs a checkpoint; a peer verifies them.
//!
//! ```
//! use thorbis_sync_protocol::{
//!     ChainTip, DeviceId, DeviceKey, Event, EventKind, Hash32, HlcClock, verify_chain,
//! };
//!
//! let key = DeviceKey::from_seed(&[7; 32])?;
//! let device: DeviceId = "0190c3a2-7b1e-7c4d-8e9f-0a1b2c3d4e5f".parse()?;
//! let mut clock = HlcClock::new(5 * 60 * 1000);
//!
//! let opened = Event {
//!     device_id: device,
//!     seq: 1,
//!     hlc: clock.tick(1_720_000_000_000),
//!     prev_hash: Hash32::ZERO,
//!     kind: EventKind::new("order.opened")?,
//!     payload: br#"{"order":1}"#.to_vec(),
//! };
//! let line = Event {
//!     seq: 2,
//!     hlc: clock.tick(1_720_000_000_250),
//!     prev_hash: opened.hash(),
//!     kind: EventKind::new("order.line_added")?,
//!     payload: br#"{"sku":"espresso"}"#.to_vec(),
//!     ..opened.clone()
//! };
//! let checkpoint = key.sign_checkpoint(device, ChainTip::of(&line));
//!
//! // The peer knows nothing of this device yet, so it starts from genesis.
//! let events = [opened, line];
//! let tip = verify_chain(&key.public_key(), ChainTip::GENESIS, &events, &checkpoint)?;
//! assert_eq!(tip, ChainTip::of(&events[1]));
//!
//! // Any tampering is caught.
//! let mut forged = events.clone();
//! forged[0].payload = br#"{"order":2}"#.to_vec();
//! assert!(verify_chain(&key.public_key(), ChainTip::GENESIS, &forged, &checkpoint).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod blob;
pub mod chain;
pub mod clock;
pub mod codec;
pub mod credential;
pub mod event;
pub mod export;
mod hex;
pub mod hlc;
pub mod ids;
pub mod peer;
pub mod receive;
pub mod sign;
pub mod sync;
pub mod vector;
mod wire;

pub use blob::{BLOB_CHUNK_BYTES, BlobId};
pub use chain::{VerifyError, verify_chain, verify_links};
pub use codec::{
    Batch, CODEC_VERSION, DecodeError, MAX_BATCH_CHECKPOINTS, MAX_BATCH_EVENTS, batch_from_json,
    batch_to_json, decode_batch, encode_batch,
};
pub use credential::{CREDENTIAL_DOMAIN, Credential, DeviceRole};
pub use event::{
    ChainTip, EVENT_LAYOUT_VERSION, Event, EventError, EventKind, MAX_KIND_LEN, MAX_PAYLOAD_LEN,
};
pub use hlc::{Hlc, HlcClock, HlcError};
pub use ids::{
    DeviceId, EventId, Hash32, ParseIdError, dispatch_log, retired_staff_log, staff_log, tenant_log,
};
pub use sign::{
    CHECKPOINT_DOMAIN, Checkpoint, DEVICE_HEADER, DeviceKey, NONCE_HEADER, Nonce, PublicKey,
    REQUEST_DOMAIN, SIGNATURE_HEADER, SignError, Signature, SignedRequest, TIMESTAMP_HEADER,
    request_message, verify_checkpoint, verify_request,
};
pub use vector::VersionVector;
