//! The PNG rendering is readable by machines: QR codes decode back to their data with
//! `rqrr`, 1D barcodes with `zbarimg` (Debian package `zbar-tools`, which the project's test
//! script installs; this test fails, loudly, when it is missing).

mod support;

use support::{decode_qr, png_of, zbarimg};

fn qr_stream(data: &[u8], size: u8, ec: u8) -> Vec<u8> {
    let mut s = b"\x1b@\x1ba\x01".to_vec();
    s.extend_from_slice(b"\x1d(k\x04\x001A2\x00");
    s.extend_from_slice(&[0x1D, b'(', b'k', 3, 0, 49, 67, size]);
    s.extend_from_slice(&[0x1D, b'(', b'k', 3, 0, 49, 69, ec]);
    let len = data.len() + 3;
    s.extend_from_slice(&[0x1D, b'(', b'k', (len & 0xFF) as u8, (len >> 8) as u8, 49, 80, 48]);
    s.extend_from_slice(data);
    s.extend_from_slice(b"\x1d(k\x03\x001Q0\x1dVA\x00");
    s
}

#[test]
fn qr_codes_decode_back_to_their_data() {
    for (data, size, ec) in [
        ("https://thorbis.example/r/42?t=9.50", 3u8, 48u8),
        ("T-0042", 6, 49),
        ("WIFI:S:Thorbis;T:WPA;P:correct horse;;", 4, 51),
        (&"long receipt reference ".repeat(20), 2, 50),
    ] {
        let png = png_of(&qr_stream(data.as_bytes(), size, ec));
        assert_eq!(decode_qr(&png), [data.to_owned()], "size {size} ec {ec}");
    }
}

#[test]
fn python_escpos_qr_images_decode_too() {
    let png = png_of(include_bytes!("fixtures/python-escpos/qr_image.bin"));
    assert_eq!(decode_qr(&png), ["https://thorbis.example/q/7"]);
}

#[test]
fn one_d_barcodes_decode_back_with_zbarimg() {
    // (GS k m, data sent, what zbarimg reports as "TYPE:data")
    let cases: &[(u8, &[u8], &str)] = &[
        (67, b"400638133393", "EAN-13:4006381333931"),
        (2, b"4006381333931", "EAN-13:4006381333931"),
        (68, b"9638507", "EAN-8:96385074"),
        (65, b"03600029145", "UPC-A:036000291452"),
        (66, b"0123456", "UPC-E:01234565"),
        (69, b"THORBIS-39", "CODE-39:THORBIS-39"),
        (70, b"12345678", "I2/5:12345678"),
        (71, b"A40156B", "Codabar:A40156B"),
        (72, b"THORBIS93", "CODE-93:THORBIS93"),
        (73, b"{BThorbis-128", "CODE-128:Thorbis-128"),
        (73, b"{C\x0c\x22\x38\x4e", "CODE-128:12345678"),
        (73, b"{Babc{C\x0c\x22{AXYZ", "CODE-128:abc1234XYZ"),
        (79, b"Thorbis 12345678", "CODE-128:Thorbis 12345678"),
        // zbar drops the leading FNC1 and reports the inner one as GS.
        (74, b"(01)09501101020917(10)AB12\x1d(21)7", "CODE-128:010950110102091710AB12\x1d217"),
    ];
    let mut failures = Vec::new();
    for &(m, data, want) in cases {
        let mut s = b"\x1b@\x1dh\x50\x1dw\x02\x1dH\x02".to_vec();
        if m < 65 {
            s.extend_from_slice(&[0x1D, b'k', m]);
            s.extend_from_slice(data);
            s.push(0);
        } else {
            s.extend_from_slice(&[0x1D, b'k', m, data.len() as u8]);
            s.extend_from_slice(data);
        }
        s.extend_from_slice(b"\x1dVA\x00");
        let got = zbarimg(&png_of(&s));
        // zbar reports UPC-A as EAN-13 with a leading zero unless told otherwise.
        let ok = got.iter().any(|g| g == want)
            || (want.starts_with("UPC-A:")
                && got.iter().any(|g| *g == format!("EAN-13:0{}", &want[6..])));
        if !ok {
            failures.push(format!(
                "GS k {m} {:?}: want {want}, zbarimg said {got:?}",
                String::from_utf8_lossy(data)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
