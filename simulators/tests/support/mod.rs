//! Helpers shared by the simulator's tests: render a stream to PNG and read the PNG back
//! with standard decoders (`rqrr` for QR codes, `zbarimg` for 1D barcodes).

#![allow(dead_code)] // Each test binary uses a different subset.

use std::process::Command;

use thorbis_simulators::profile::SimProfile;
use thorbis_simulators::receipt::interpret_all;
use thorbis_simulators::render;

pub fn png_of(stream: &[u8]) -> Vec<u8> {
    let receipts = interpret_all(&SimProfile::default(), stream);
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].diagnostics.is_empty(), "{:?}", receipts[0].diagnostics);
    render::png(&receipts[0].receipt).expect("png")
}

pub fn grey(png_bytes: &[u8]) -> (usize, usize, Vec<u8>) {
    let decoder = png::Decoder::new(png_bytes);
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    buf.truncate(info.buffer_size());
    (info.width as usize, info.height as usize, buf)
}

pub fn decode_qr(png_bytes: &[u8]) -> Vec<String> {
    let (w, h, pixels) = grey(png_bytes);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    img.detect_grids().into_iter().map(|g| g.decode().expect("QR decodes").1).collect()
}

pub fn zbarimg(png_bytes: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("barcode.png");
    std::fs::write(&path, png_bytes).unwrap();
    let out = match Command::new("zbarimg")
        .args([
            "--quiet",
            "-Sdisable",
            "-Sean13.enable",
            "-Sean8.enable",
            "-Supca.enable",
            "-Supce.enable",
            "-Scode39.enable",
            "-Scode93.enable",
            "-Scode128.enable",
            "-Si25.enable",
            "-Scodabar.enable",
        ])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "zbarimg is required by this test and could not be run ({e}); \
             install it with `apt-get install -y zbar-tools`"
        ),
    };
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}
